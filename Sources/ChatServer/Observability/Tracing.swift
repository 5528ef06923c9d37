import Foundation
import Hummingbird
import KafkaWire
import Logging
import Tracing
import WireCore

/// Distributed tracing of the chat server (swift-distributed-tracing, W3C Trace Context).
///
/// - HTTP: each API request is a server span (Hummingbird's `TracingMiddleware`), a child of the
///   `traceparent` the client sent.
/// - gRPC: each real-time call is a server span (GRPCWire's ``GRPCWire/TracingServerInterceptor``),
///   a child of the `traceparent` in the request metadata.
/// - Inside a request the span is `ServiceContext.current`, so database queries (PGWire, CQLClient,
///   RedisWire spans) and backplane messages join the trace: a published message carries the
///   context of the request that published it into the Kafka record headers (KafkaWire's
///   `send <topic>` producer span), and the consumers continue it (KafkaWire's `receive <topic>`
///   span, then a `process <topic>` span around the chat server's handling, e.g. the history
///   writer's Cassandra writes).
///
/// Spans are made only when a real tracer is in effect: bootstrapped
/// (``bootstrapLogging(logger:)``; `chat-server --trace` or `CHAT_TRACE=1`) or bound for a scope
/// with `withTracer(_:_:)`. Otherwise the HTTP middleware is not installed and the libraries skip
/// span work.
public enum ChatTracing {
    /// True when `flag` is set or the environment has `CHAT_TRACE` = `1`/`true`.
    public static func isRequested(flag: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        flag || ["1", "true", "yes"].contains(environment["CHAT_TRACE"]?.lowercased() ?? "")
    }

    /// Bootstraps the process-wide tracer: WireCore's ``WireCore/WireTracer`` writing each finished
    /// span as a structured log message to `logger` (``WireCore/LoggingSpanExporter``). Call once,
    /// before ``ChatServer/makeApplication(configuration:logger:onServerRunning:)``.
    public static func bootstrapLogging(logger: Logger) {
        InstrumentationSystem.bootstrap(WireTracer(exporter: LoggingSpanExporter(logger: logger)))
    }

    /// Installs the HTTP tracing middleware on `router` when a tracer is in effect.
    public static func register<Context: RequestContext>(on router: Router<Context>) {
        guard WireTracing.activeTracer != nil else { return }
        router.add(middleware: TracingMiddleware<Context>())
    }

    /// Runs `body` (the chat server's handling of consumed backplane records) in a consumer
    /// `process <topic>` span continuing the producer's trace: the span's parent is the context
    /// extracted from the first record's headers, and every other record's context is a link
    /// (OpenTelemetry's batch-processing convention). Without a tracer, just runs `body`.
    static func process<T>(_ records: [KafkaConsumerRecord], group: String? = nil, _ body: () async throws -> T) async rethrows -> T {
        guard let span = processSpan(records, group: group) else { return try await body() }
        defer { span.end() }
        return try await ServiceContext.withValue(span.context) { try await body() }
    }

    /// `process` for synchronous handling (the live delivery to connections).
    static func process<T>(_ records: [KafkaConsumerRecord], group: String? = nil, _ body: () throws -> T) rethrows -> T {
        guard let span = processSpan(records, group: group) else { return try body() }
        defer { span.end() }
        return try ServiceContext.withValue(span.context) { try body() }
    }

    static func processSpan(_ records: [KafkaConsumerRecord], group: String?) -> (any Span)? {
        guard let tracer = WireTracing.activeTracer, let first = records.first else { return nil }
        let contexts = records.map { record -> ServiceContext in
            var context = ServiceContext.topLevel
            tracer.extract(record.headers, into: &context, using: KafkaHeadersExtractor())
            return context
        }
        let span = tracer.startSpan("process \(first.topic)", context: contexts[0], ofKind: .consumer)
        span.updateAttributes { attributes in
            attributes["messaging.system"] = "kafka"
            attributes["messaging.operation.type"] = "process"
            attributes["messaging.destination.name"] = first.topic
            attributes["messaging.batch.message_count"] = records.count
            if let group { attributes["messaging.consumer.group.name"] = group }
        }
        for context in contexts.dropFirst() { span.addLink(SpanLink(context: context, attributes: [:])) }
        return span
    }
}

extension KafkaProducer {
    /// ``KafkaProducer/enqueue(_:onDelivery:)`` with `context` as the current service context,
    /// so the record's producer span (and the trace context in its headers) continue the trace
    /// of the request that published it, also when it is produced later from a send loop.
    func enqueue(_ record: KafkaProducerRecord, context: ServiceContext?,
                 onDelivery: (@Sendable (Result<KafkaRecordMetadata, any Error>) -> Void)? = nil) async throws {
        guard let context else { return try await enqueue(record, onDelivery: onDelivery) }
        try await ServiceContext.withValue(context) { try await enqueue(record, onDelivery: onDelivery) }
    }
}
