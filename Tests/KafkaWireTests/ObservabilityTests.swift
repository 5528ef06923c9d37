import Foundation
import InMemoryTracing
import KafkaWire
import MetricsTestKit
import NIOCore
import Testing
import Tracing

/// A tracer for tests: spans are recorded by swift-distributed-tracing's `InMemoryTracer`, context
/// crosses process boundaries in the W3C Trace Context format (`traceparent: 00-<trace>-<span>-01`),
/// as an OpenTelemetry tracer with the W3C propagator would put it into Kafka record headers.
struct W3CTestTracer: Tracer {
    let base = InMemoryTracer(idGenerator: .init(
        nextTraceID: { (0..<2).map { _ in String(format: "%016llx", UInt64.random(in: 1...UInt64.max)) }.joined() },
        nextSpanID: { String(format: "%016llx", UInt64.random(in: 1...UInt64.max)) }))

    func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> InMemorySpan {
        base.startSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line)
    }

    func activeSpan(identifiedBy context: ServiceContext) -> InMemorySpan? { base.activeSpan(identifiedBy: context) }
    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject) where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
    }

    func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract) where Extract.Carrier == Carrier {
        guard let value = extractor.extract(key: "traceparent", from: carrier) else { return }
        let parts = value.split(separator: "-")
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16 else { return }
        context.inMemorySpanContext = InMemorySpanContext(traceID: String(parts[1]), spanID: String(parts[2]), parentSpanID: nil)
    }

    var finishedSpans: [FinishedInMemorySpan] { base.finishedSpans }
}

@Suite("Metrics and tracing", .serialized, .timeLimit(.minutes(3)))
struct ObservabilityTests {
    @Test("Header injector and extractor carry a traceparent")
    func headerPropagation() {
        let tracer = W3CTestTracer()
        let span = tracer.startSpan("parent", context: .topLevel, ofKind: .internal)
        var headers = [KafkaHeader(key: "app", value: [1])]
        tracer.inject(span.context, into: &headers, using: KafkaHeadersInjector())
        tracer.inject(span.context, into: &headers, using: KafkaHeadersInjector())  // replaces, not duplicates
        #expect(headers.map(\.key) == ["app", "traceparent"])
        var context = ServiceContext.topLevel
        tracer.extract(headers, into: &context, using: KafkaHeadersExtractor())
        #expect(context.inMemorySpanContext?.traceID == span.spanContext.traceID)
        #expect(context.inMemorySpanContext?.spanID == span.spanContext.spanID)
        span.end()
    }

    @Test("Produce and consume report metrics and spans; trace context travels in record headers", arguments: KafkaPeers.brokerNames)
    func produceConsume(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        let metrics = TestMetrics()
        let tracer = W3CTestTracer()
        var producerConfig = Interop.producerConfig(bootstrap)
        producerConfig.client.observability = KafkaObservability(metricsFactory: metrics, tracer: tracer)
        let producer = KafkaProducer(configuration: producerConfig, logger: KafkaPeers.logger)
        let parent = tracer.startSpan("handle request", context: .topLevel, ofKind: .server)
        try await ServiceContext.withValue(parent.context) {
            for i in 0..<10 { _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: 0, value: ByteBuffer(string: "m\(i)"))) }
        }
        parent.end()
        await producer.shutdown()

        #expect(try metrics.expectCounter("kafka_producer_records_total", [("topic", topic)]).totalValue == 10)
        #expect(try metrics.expectCounter("kafka_producer_bytes_total", [("topic", topic)]).totalValue > 10 * 61)
        #expect(metrics.timers.contains { $0.label == "kafka_producer_request_duration_seconds" && !$0.values.isEmpty })
        #expect(try !metrics.expectTimer("kafka_producer_delivery_duration_seconds", [("topic", topic)]).values.isEmpty)
        let sends = tracer.finishedSpans.filter { $0.operationName == "send \(topic)" }
        #expect(sends.count == 10)
        #expect(sends.allSatisfy { $0.kind == .producer && $0.traceID == parent.traceID && $0.parentSpanID == parent.spanID })
        #expect(Set(sends.compactMap { $0.attributes["messaging.kafka.offset"].map { "\($0.toSpanAttribute())" } }).count == 10)

        // Consume: each record's traceparent names its send span; the receive span continues that trace.
        var consumerConfig = Interop.consumerConfig(bootstrap)
        consumerConfig.client.observability = KafkaObservability(metricsFactory: metrics, tracer: tracer)
        let consumer = KafkaConsumer(configuration: consumerConfig, logger: KafkaPeers.logger)
        consumer.assign([KafkaTopicPartition(topic, 0): .earliest])
        var seen: [KafkaConsumerRecord] = []
        var iterator = consumer.records().makeAsyncIterator()
        while seen.count < 10, let r = try await iterator.next() { seen.append(r) }
        // Let one more fetch report the caught-up lag.
        let lagDeadline = ContinuousClock.now + .seconds(10)
        while (try? metrics.expectGauge("kafka_consumer_lag", [("topic", topic), ("partition", "0")]).lastValue) != 0 && ContinuousClock.now < lagDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await consumer.shutdown()
        #expect(seen.map { $0.valueString ?? "" } == (0..<10).map { "m\($0)" })
        for record in seen {
            let traceparent = record.headers.first { $0.key == "traceparent" }.flatMap { $0.value.map { String(buffer: $0) } } ?? ""
            #expect(traceparent.hasPrefix("00-\(parent.traceID)-") && traceparent.hasSuffix("-01") && traceparent.count == 55, "\(traceparent)")
            #expect(consumer.traceContext(of: record).inMemorySpanContext?.traceID == parent.traceID)
        }
        let sendIDs = Set(sends.map(\.spanID))
        let receives = tracer.finishedSpans.filter { $0.operationName == "receive \(topic)" }
        #expect(receives.count == 10)
        #expect(receives.allSatisfy { $0.kind == .consumer && $0.traceID == parent.traceID && sendIDs.contains($0.parentSpanID ?? "") })
        #expect(try metrics.expectCounter("kafka_consumer_records_total", [("topic", topic)]).totalValue == 10)
        #expect(try metrics.expectCounter("kafka_consumer_bytes_total", [("topic", topic)]).totalValue > 0)
        #expect(try metrics.expectGauge("kafka_consumer_lag", [("topic", topic), ("partition", "0")]).lastValue == 0)
        #expect(metrics.timers.contains { $0.label == "kafka_consumer_fetch_duration_seconds" && !$0.values.isEmpty })
    }

    @Test("A send that fails for good counts as an error and ends its span with the error", arguments: KafkaPeers.brokerNames)
    func failedSend(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        let proxy = KafkaFaultProxy(upstream: IdempotenceInteropTests.upstream(bootstrap), onProduceRequest: { _ in .swallow })
        try await proxy.start()
        let metrics = TestMetrics()
        let tracer = W3CTestTracer()
        var config = KafkaProducerConfiguration(client: proxy.clientConfiguration())
        config.client.observability = KafkaObservability(metricsFactory: metrics, tracer: tracer)
        // Long enough for connect + metadata on a loaded machine; the swallowed Produce times out after it.
        config.client.requestTimeout = .seconds(3)
        config.maxAttempts = 1
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        await #expect(throws: (any Error).self) {
            _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: 0, value: ByteBuffer(string: "lost")))
        }
        await producer.shutdown()
        await proxy.stop()
        let errors = metrics.counters(label: "kafka_producer_errors_total").filter { $0.dimensions.contains { $0 == ("topic", topic) } }
        #expect(errors.reduce(0) { $0 + $1.totalValue } == 1)
        let span = tracer.finishedSpans.first { $0.operationName == "send \(topic)" }
        #expect(span?.errors.count == 1)
        #expect(span?.status?.code == .error)
    }
}
