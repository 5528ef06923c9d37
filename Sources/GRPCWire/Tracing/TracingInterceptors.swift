import Tracing
import WireCore

/// Writes trace context into gRPC request metadata (one value per key, replacing earlier ones).
public struct MetadataInjector: Injector {
    /// Creates the injector.
    public init() {}
    /// Sets metadata `key` to `value`.
    public func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier.replaceOrAdd(key, value)
    }
}

/// Reads trace context from gRPC request metadata (several values of a key are joined with `,`,
/// as HTTP does for `tracestate`).
public struct MetadataExtractor: Extractor {
    /// Creates the extractor.
    public init() {}
    /// The text value(s) of `key`, if present.
    public func extract(key: String, from carrier: Metadata) -> String? {
        let values = carrier[key].compactMap { value -> String? in
            if case .string(let s) = value { return s }
            return nil
        }
        return values.isEmpty ? nil : values.joined(separator: ",")
    }
}

/// A client interceptor making a client span per call (`<service>/<method>`, OpenTelemetry's RPC
/// conventions: `rpc.system` = `grpc`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`) and
/// injecting its context into the request metadata through the tracer (`traceparent` /
/// `tracestate` with ``WireCore/WireTracer``).
///
/// The span is a child of the caller's `ServiceContext.current`. Without a real tracer (neither
/// `tracer` nor one bound by `withTracer` / bootstrapped), calls pass through untouched.
public struct TracingClientInterceptor: ClientInterceptor {
    /// The tracer; nil uses the one in effect (`InstrumentationSystem.tracer`).
    public let tracer: (any Tracer)?

    /// An interceptor using `tracer`, or the tracer in effect at each call when nil.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    /// Runs the call in a client span.
    public nonisolated(nonsending) func intercept(_ call: ClientCallInfo, next: (ClientCallInfo) async throws -> Void) async throws {
        guard let tracer = GRPCTracing.resolve(tracer) else { return try await next(call) }
        let span = tracer.startSpan("\(call.service)/\(call.method)", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        GRPCTracing.setAttributes(span, service: call.service, method: call.method)
        defer { span.end() }
        var call = call
        tracer.inject(span.context, into: &call.options.metadata, using: MetadataInjector())
        try await GRPCTracing.run(span) { try await next(call) }
    }
}

/// A server interceptor continuing the caller's trace: it extracts the trace context from the
/// request metadata through the tracer and runs the handler in a server span
/// (`<service>/<method>`, `rpc.system` = `grpc`, `rpc.service`, `rpc.method`,
/// `rpc.grpc.status_code`), so what the handler does (queries, produced records, outgoing calls)
/// joins the trace through `ServiceContext.current`.
///
/// Without a real tracer (neither `tracer` nor one bound by `withTracer` / bootstrapped), calls
/// pass through untouched.
public struct TracingServerInterceptor: ServerInterceptor {
    /// The tracer; nil uses the one in effect (`InstrumentationSystem.tracer`).
    public let tracer: (any Tracer)?

    /// An interceptor using `tracer`, or the tracer in effect at each call when nil.
    public init(tracer: (any Tracer)? = nil) {
        self.tracer = tracer
    }

    /// Runs the handler in a server span.
    public func intercept(context: ServerContext, next: () async throws -> Void) async throws {
        guard let tracer = GRPCTracing.resolve(tracer) else { return try await next() }
        var parent = ServiceContext.current ?? .topLevel
        tracer.extract(context.requestMetadata, into: &parent, using: MetadataExtractor())
        let span = tracer.startSpan("\(context.service)/\(context.method)", context: parent, ofKind: .server)
        GRPCTracing.setAttributes(span, service: context.service, method: context.method)
        span.attributes["network.peer.address"] = context.peer
        defer { span.end() }
        try await GRPCTracing.run(span) { try await next() }
    }
}

enum GRPCTracing {
    static func resolve(_ tracer: (any Tracer)?) -> (any Tracer)? {
        guard let tracer else { return WireTracing.activeTracer }
        return tracer is NoOpTracer ? nil : tracer
    }

    static func setAttributes(_ span: any Span, service: String, method: String) {
        span.updateAttributes { attributes in
            attributes["rpc.system"] = "grpc"
            attributes["rpc.service"] = service
            attributes["rpc.method"] = method
        }
    }

    /// Runs `body` with the span as the current context; records the status code
    /// (`rpc.grpc.status_code`, 0 on success) and, for failures, the error.
    nonisolated(nonsending) static func run(_ span: any Span, _ body: () async throws -> Void) async throws {
        do {
            try await ServiceContext.withValue(span.context) { try await body() }
            span.attributes["rpc.grpc.status_code"] = StatusCode.ok.rawValue
        } catch {
            let code: StatusCode = switch error {
            case let error as RPCError: error.code
            case is CancellationError: .cancelled
            default: .unknown
            }
            span.attributes["rpc.grpc.status_code"] = code.rawValue
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error, message: "\(code)"))
            throw error
        }
    }
}
