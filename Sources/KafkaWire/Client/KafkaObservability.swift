import CoreMetrics
import Metrics
import NIOCore
import Tracing
import WireCore

/// Where KafkaWire reports metrics (swift-metrics) and spans (swift-distributed-tracing).
///
/// Both default to the process-wide systems (`MetricsSystem.bootstrap`, `InstrumentationSystem.bootstrap`);
/// pass a factory or tracer to keep one client's telemetry separate (tests do).
///
/// Metrics (labels; dimensions in brackets):
/// - `kafka_producer_records_total`, `kafka_producer_bytes_total` [topic]: acknowledged records and batch bytes
/// - `kafka_producer_errors_total` [topic, error]: records whose send failed for good
/// - `kafka_producer_retries_total` [topic, error]: batches put back for another attempt
/// - `kafka_producer_request_duration_seconds` [broker]: one Produce request, sent to answered
/// - `kafka_producer_delivery_duration_seconds` [topic]: a batch's first record accepted to acknowledged
/// - `kafka_consumer_records_total`, `kafka_consumer_bytes_total` [topic]: records and bytes fetched
/// - `kafka_consumer_errors_total` [error]: failed fetches and partition errors
/// - `kafka_consumer_fetch_duration_seconds` [broker]: one Fetch request
/// - `kafka_consumer_lag` [topic, partition]: high watermark minus fetch position after each fetch
///
/// Spans: a producer span `send <topic>` per record (from send/enqueue to acknowledgement), whose
/// context the tracer injects into the record's headers (with a W3C propagator, `traceparent` and
/// `tracestate`); a consumer span `receive <topic>` per record delivered to the application, child of
/// the context extracted from the record's headers. Spans are only made when a real tracer is set.
public struct KafkaObservability: Sendable {
    /// Metrics factory; nil uses `MetricsSystem.factory`.
    public var metricsFactory: (any MetricsFactory)?
    /// Tracer; nil uses `InstrumentationSystem.tracer`.
    public var tracer: (any Tracer)?

    /// Creates settings that use the process-wide metrics and tracing systems unless given.
    public init(metricsFactory: (any MetricsFactory)? = nil, tracer: (any Tracer)? = nil) {
        self.metricsFactory = metricsFactory
        self.tracer = tracer
    }

    var factory: any MetricsFactory { metricsFactory ?? MetricsSystem.factory }

    /// The tracer, or nil when tracing is off (the no-op tracer): callers skip span work entirely.
    var activeTracer: (any Tracer)? {
        guard let tracer else { return WireTracing.activeTracer }
        return tracer is NoOpTracer ? nil : tracer
    }

    func count(_ label: String, _ value: Int, _ dimensions: [(String, String)]) {
        guard value > 0 else { return }
        Counter(label: label, dimensions: dimensions, factory: factory).increment(by: value)
    }

    func time(_ label: String, since start: ContinuousClock.Instant, _ dimensions: [(String, String)]) {
        let elapsed = ContinuousClock.now - start
        let nanos = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        CoreMetrics.Timer(label: label, dimensions: dimensions, factory: factory).recordNanoseconds(nanos)
    }

    func gauge(_ label: String, _ value: Int64, _ dimensions: [(String, String)]) {
        Gauge(label: label, dimensions: dimensions, factory: factory).record(value)
    }
}

/// Writes trace context into record headers (one header per key, replacing an existing one).
public struct KafkaHeadersInjector: Injector {
    /// Creates the injector.
    public init() {}
    /// Sets header `key` to `value`.
    public func inject(_ value: String, forKey key: String, into carrier: inout [KafkaHeader]) {
        carrier.removeAll { $0.key == key }
        carrier.append(KafkaHeader(key: key, value: ByteBuffer(string: value)))
    }
}

/// Reads trace context from record headers (the last header with the key wins).
public struct KafkaHeadersExtractor: Extractor {
    /// Creates the extractor.
    public init() {}
    /// The value of header `key` as UTF-8, if present.
    public func extract(key: String, from carrier: [KafkaHeader]) -> String? {
        guard let header = carrier.last(where: { $0.key == key }), let value = header.value else { return nil }
        return String(buffer: value)
    }
}

extension KafkaError {
    /// A short name for metrics dimensions.
    var metricName: String { code.map { "\($0)" } ?? "code_\(rawCode)" }
}

/// A short name of any error for metrics dimensions.
func kafkaErrorName(_ error: any Error) -> String {
    switch error {
    case let e as KafkaError: e.metricName
    case is KafkaConnectionError: "connection"
    default: "\(type(of: error))"
    }
}
