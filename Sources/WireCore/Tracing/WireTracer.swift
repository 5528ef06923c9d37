import Synchronization
import Tracing

/// The W3C identity of a span: what ``WireTracer`` keeps in a `ServiceContext` and sends on as
/// `traceparent` / `tracestate`.
public struct WireSpanContext: Sendable, Hashable {
    /// The trace.
    public var traceID: TraceID
    /// This span.
    public var spanID: SpanID
    /// The parent span (nil for a trace's root span).
    public var parentSpanID: SpanID?
    /// The trace flags (`sampled`).
    public var flags: TraceFlags
    /// Vendor state carried along unchanged.
    public var traceState: TraceState?
    /// True when the context was extracted from a request (the span lives in another process).
    public var isRemote: Bool

    /// A span context from its fields.
    public init(traceID: TraceID, spanID: SpanID, parentSpanID: SpanID? = nil, flags: TraceFlags = .sampled,
                traceState: TraceState? = nil, isRemote: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.flags = flags
        self.traceState = traceState
        self.isRemote = isRemote
    }

    /// The `traceparent` naming this span as the parent.
    public var traceParent: TraceParent { TraceParent(traceID: traceID, parentID: spanID, flags: flags) }
}

private enum WireSpanContextKey: ServiceContextKey {
    typealias Value = WireSpanContext
    static var nameOverride: String? { "wire-span-context" }
}

extension ServiceContext {
    /// The W3C span context ``WireTracer`` stored (the current span, or a remote parent extracted
    /// from a request).
    public var wireSpanContext: WireSpanContext? {
        get { self[WireSpanContextKey.self] }
        set { self[WireSpanContextKey.self] = newValue }
    }
}

/// A span as handed to a ``SpanExporter`` once it ended.
public struct FinishedSpan: Sendable {
    /// The operation name.
    public var name: String
    /// The span kind.
    public var kind: SpanKind
    /// Trace, span and parent IDs.
    public var context: WireSpanContext
    /// Start, in nanoseconds since the UNIX epoch.
    public var startNanoseconds: UInt64
    /// End, in nanoseconds since the UNIX epoch.
    public var endNanoseconds: UInt64
    /// The attributes.
    public var attributes: SpanAttributes
    /// The status, if one was set (an error recorded without a status sets `.error`).
    public var status: SpanStatus?
    /// The events, including one `exception` event per recorded error.
    public var events: [SpanEvent]
    /// Links to other spans.
    public var links: [SpanLink]

    /// The trace ID.
    public var traceID: TraceID { context.traceID }
    /// The span ID.
    public var spanID: SpanID { context.spanID }
    /// The parent span ID.
    public var parentSpanID: SpanID? { context.parentSpanID }
    /// The span's duration.
    public var duration: Duration { .nanoseconds(Int64(endNanoseconds &- startNanoseconds)) }
}

/// Receives spans when they end. Called on the task that ended the span: keep it quick.
public protocol SpanExporter: Sendable {
    /// Handles one finished span.
    func export(_ span: FinishedSpan)
    /// Writes out anything buffered.
    func flush()
}

extension SpanExporter {
    /// Nothing buffered by default.
    public func flush() {}
}

/// A swift-distributed-tracing `Tracer` that propagates W3C Trace Context (`traceparent`,
/// `tracestate`) through `inject`/`extract` and hands finished spans to a ``SpanExporter``
/// (``LoggingSpanExporter``, ``InMemorySpanExporter`` or your own).
///
/// A child span joins its parent's trace; a span without a parent starts a new trace. The
/// `sampled` flag is inherited: a span whose parent was not sampled is not recording (nothing is
/// exported) but still propagates its context, so a downstream service sees the caller's decision.
///
/// ```swift
/// InstrumentationSystem.bootstrap(WireTracer(exporter: LoggingSpanExporter(logger: logger)))
/// // or, for one scope (tests): try await withTracer(tracer) { ... }
/// ```
public struct WireTracer: Tracer {
    /// The span type.
    public typealias Span = WireSpan

    /// Where finished spans go.
    public let exporter: any SpanExporter

    /// A tracer exporting to `exporter`.
    public init(exporter: any SpanExporter) {
        self.exporter = exporter
    }

    /// Starts a span, a child of the span (or remote parent) in `context`.
    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> WireSpan {
        var context = context()
        let spanContext: WireSpanContext
        if let parent = context.wireSpanContext {
            spanContext = WireSpanContext(traceID: parent.traceID, spanID: .random(), parentSpanID: parent.spanID,
                                          flags: parent.flags.intersection(.sampled), traceState: parent.traceState)
        } else {
            spanContext = WireSpanContext(traceID: .random(), spanID: .random(), flags: .sampled)
        }
        context.wireSpanContext = spanContext
        return WireSpan(name: operationName, kind: kind, context: context, spanContext: spanContext,
                        start: instant().nanosecondsSinceEpoch, exporter: spanContext.flags.contains(.sampled) ? exporter : nil)
    }

    /// Writes `traceparent` (and `tracestate` when there is one) for the span in `context`.
    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let span = context.wireSpanContext else { return }
        injector.inject(span.traceParent.description, forKey: TraceParent.headerName, into: &carrier)
        if let state = span.traceState { injector.inject(state.rawValue, forKey: TraceState.headerName, into: &carrier) }
    }

    /// Reads `traceparent` (and `tracestate`, only when `traceparent` is valid) as the remote parent.
    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: TraceParent.headerName, from: carrier), let parent = TraceParent(parsing: header) else { return }
        context.wireSpanContext = WireSpanContext(traceID: parent.traceID, spanID: parent.parentID, flags: parent.flags,
                                                  traceState: extractor.extract(key: TraceState.headerName, from: carrier).flatMap { TraceState($0) },
                                                  isRemote: true)
    }

    /// Flushes the exporter.
    public func forceFlush() { exporter.flush() }
}

/// A span of ``WireTracer``. Thread-safe; ending it twice exports it once.
public final class WireSpan: Tracing.Span {
    private struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var ended = false
    }

    /// The service context holding this span's ``WireSpanContext``.
    public let context: ServiceContext
    /// Trace, span and parent IDs.
    public let spanContext: WireSpanContext
    /// The span kind.
    public let kind: SpanKind
    private let start: UInt64
    private let exporter: (any SpanExporter)?
    private let state: Mutex<State>

    init(name: String, kind: SpanKind, context: ServiceContext, spanContext: WireSpanContext, start: UInt64, exporter: (any SpanExporter)?) {
        self.context = context
        self.spanContext = spanContext
        self.kind = kind
        self.start = start
        self.exporter = exporter
        self.state = Mutex(State(name: name))
    }

    /// False once ended, and for spans of unsampled traces.
    public var isRecording: Bool { exporter != nil && !state.withLock { $0.ended } }

    /// The operation name.
    public var operationName: String {
        get { state.withLock { $0.name } }
        set { state.withLock { if !$0.ended { $0.name = newValue } } }
    }

    /// The attributes.
    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { if !$0.ended { $0.attributes = newValue } } }
    }

    /// Sets the status (an `.ok` status is not replaced by a later `.error`, as in OpenTelemetry).
    public func setStatus(_ status: SpanStatus) {
        state.withLock { s in
            guard !s.ended, s.status?.code != .ok else { return }
            s.status = status
        }
    }

    /// Adds an event.
    public func addEvent(_ event: SpanEvent) {
        state.withLock { if !$0.ended { $0.events.append(event) } }
    }

    /// Records an error as an `exception` event (OpenTelemetry's convention) and sets the status
    /// to `.error` unless one was set.
    public func recordError<Instant: TracerInstant>(_ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {
        var eventAttributes = attributes
        eventAttributes["exception.type"] = "\(type(of: error))"
        eventAttributes["exception.message"] = "\(error)"
        let event = SpanEvent(name: "exception", at: instant(), attributes: eventAttributes)
        state.withLock { s in
            guard !s.ended else { return }
            s.events.append(event)
            if s.status == nil { s.status = SpanStatus(code: .error, message: "\(error)") }
        }
    }

    /// Adds a link.
    public func addLink(_ link: SpanLink) {
        state.withLock { if !$0.ended { $0.links.append(link) } }
    }

    /// Ends the span and exports it (once).
    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let end = instant().nanosecondsSinceEpoch
        let finished = state.withLock { s -> FinishedSpan? in
            guard !s.ended else { return nil }
            s.ended = true
            return FinishedSpan(name: s.name, kind: kind, context: spanContext, startNanoseconds: start, endNanoseconds: max(end, start),
                                attributes: s.attributes, status: s.status, events: s.events, links: s.links)
        }
        if let finished, let exporter { exporter.export(finished) }
    }
}
