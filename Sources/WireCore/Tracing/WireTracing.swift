import Tracing

/// What the protocol modules share to make spans: the tracer in effect (nil when tracing is off,
/// so callers skip all span work) and client-operation spans that nest once.
///
/// The tracer in effect is `InstrumentationSystem.tracer`: the one bound by swift-distributed-tracing's
/// `withTracer(_:_:)` for the current task, else the bootstrapped one.
public enum WireTracing {
    /// The tracer in effect, or nil when it is the no-op tracer (nothing bootstrapped).
    @inlinable
    public static var activeTracer: (any Tracer)? {
        if isOff { return nil }
        let tracer = InstrumentationSystem.tracer
        return tracer is NoOpTracer ? nil : tracer
    }

    /// True when the instrument in effect is one of the no-op ones: a type-identity comparison,
    /// far cheaper than `InstrumentationSystem.tracer`'s existential cast, so a hot path with
    /// tracing off pays almost nothing.
    @inlinable
    public static var isOff: Bool {
        let type = ObjectIdentifier(Swift.type(of: InstrumentationSystem.instrument))
        return type == ObjectIdentifier(NoOpInstrument.self) || type == ObjectIdentifier(NoOpTracer.self)
    }

    /// Whether database spans record the statement text (`db.statement`); off by default, as
    /// statements can carry data. Bind it for a scope: `WireTracing.$recordsStatements.withValue(true) { ... }`.
    @TaskLocal public static var recordsStatements = false

    /// A client span for an operation of `system` (e.g. `postgresql`), or nil when tracing is off
    /// or the current task is already inside an operation span of the same system (a public entry
    /// point calling another one makes one span, not two).
    ///
    /// Protocol modules call it in one line at their public entry points:
    /// `if let op = WireTracing.operation(...) { return try await op.run { try await self.sameCall() } }`.
    /// `attributes` is only called when a span is made.
    @inlinable
    public static func operation(system: String, name: @autoclosure () -> String, kind: SpanKind = .client,
                                 attributes: (inout SpanAttributes) -> Void) -> WireOperation? {
        guard let tracer = activeTracer else { return nil }
        return makeOperation(tracer: tracer, system: system, name: name(), kind: kind, attributes: attributes)
    }

    @usableFromInline
    static func makeOperation(tracer: any Tracer, system: String, name: String, kind: SpanKind,
                              attributes: (inout SpanAttributes) -> Void) -> WireOperation? {
        var context = ServiceContext.current ?? .topLevel
        if context.wireOperationSystem == system { return nil }
        context.wireOperationSystem = system
        var values = SpanAttributes()
        attributes(&values)
        return WireOperation(tracer: tracer, name: name, kind: kind, context: context, attributes: values)
    }

    /// The first word of a statement, upper-cased (`SELECT`, `INSERT`, ...), for `db.operation`.
    public static func statementVerb(_ statement: some StringProtocol) -> String {
        let word = statement.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "(" }.prefix { $0.isLetter }
        return word.isEmpty ? "QUERY" : word.uppercased()
    }
}

private enum WireOperationSystemKey: ServiceContextKey {
    typealias Value = String
}

extension ServiceContext {
    /// The `db.system` of the operation span the current task is inside, if any.
    var wireOperationSystem: String? {
        get { self[WireOperationSystemKey.self] }
        set { self[WireOperationSystemKey.self] = newValue }
    }
}

/// One traced client operation (see ``WireTracing/operation(system:name:kind:attributes:)``):
/// ``run(_:)-(()async throws->T)`` wraps the work in a span, records a thrown error and ends the span.
public struct WireOperation: Sendable {
    let tracer: any Tracer
    let name: String
    let kind: SpanKind
    let context: ServiceContext
    let attributes: SpanAttributes

    @usableFromInline
    init(tracer: any Tracer, name: String, kind: SpanKind, context: ServiceContext, attributes: SpanAttributes) {
        self.tracer = tracer
        self.name = name
        self.kind = kind
        self.context = context
        self.attributes = attributes
    }

    func start() -> any Span {
        let span = tracer.startSpan(name, context: context, ofKind: kind)
        if !attributes.isEmpty { span.attributes = attributes }
        return span
    }

    /// Runs `body` inside the span; a thrown error is recorded on it.
    public func run<T>(_ body: () async throws -> T) async throws -> T {
        let span = start()
        defer { span.end() }
        do {
            return try await ServiceContext.withValue(span.context) { try await body() }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// Runs `body` (which cannot fail) inside the span.
    public func run<T>(_ body: () async -> T) async -> T {
        let span = start()
        defer { span.end() }
        return await ServiceContext.withValue(span.context) { await body() }
    }
}
