import Foundation
import KafkaWire
import MetricsTestKit
import NIOCore
import Testing

/// Idempotence when responses are lost, with several batches in flight, through a fault-injecting
/// proxy (KafkaFaultProxy) in front of the real brokers. The records are read back directly from
/// the broker and counted: exactly once, in order.
@Suite("Idempotent producer with lost responses and several batches in flight", .serialized, .timeLimit(.minutes(3)))
struct IdempotenceInteropTests {
    static func upstream(_ bootstrap: String) -> KafkaBrokerAddress { KafkaBrokerAddress(bootstrap.split(separator: ",").first.map(String.init) ?? bootstrap)! }

    /// Produces `count` records "r0".."r<count-1>" to partition 0 through `proxy` and returns the
    /// delivery results in record order.
    func produce(through proxy: KafkaFaultProxy, topic: String, count: Int, idempotent: Bool, batchSize: Int = 1_000_000,
                 linger: Duration = .milliseconds(2), metrics: TestMetrics? = nil, requestTimeout: Duration = .seconds(30)) async throws -> [Result<KafkaRecordMetadata, any Error>] {
        var config = KafkaProducerConfiguration(client: proxy.clientConfiguration())
        config.enableIdempotence = idempotent
        config.batchSize = batchSize
        config.linger = linger
        config.client.retryBackoff = .milliseconds(50)
        config.client.requestTimeout = requestTimeout
        if let metrics { config.client.observability.metricsFactory = metrics }
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        let results = ResultList(count: count)
        for i in 0..<count {
            try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: 0, value: ByteBuffer(string: "r\(i)"))) { results.set(i, $0) }
        }
        await producer.flush()
        await producer.shutdown()
        return results.items
    }

    /// The values of partition 0 in offset order, read directly from the broker.
    func readBack(_ bootstrap: String, topic: String, atLeast count: Int) async throws -> [String] {
        let records = try await Interop.consumeAll(bootstrap, topic: topic, count: count, settle: .milliseconds(300))
        return records.filter { $0.partition == 0 }.sorted { $0.offset < $1.offset }.map { $0.valueString ?? "" }
    }

    @Test("A lost Produce response: the retry is deduplicated (and without idempotence it duplicates)", arguments: KafkaPeers.brokerNames)
    func lostResponse(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let expected = (0..<20).map { "r\($0)" }

        // Control: without idempotence the same fault appends the first batch twice. This shows the
        // broker had appended the records whose response the proxy dropped.
        let plainTopic = try await Interop.createTopic(bootstrap, partitions: 1)
        let plainProxy = KafkaFaultProxy(upstream: Self.upstream(bootstrap), onProduceResponse: { $0 == 0 ? .dropConnection : .forward })
        try await plainProxy.start()
        let plainResults = try await produce(through: plainProxy, topic: plainTopic, count: 20, idempotent: false)
        await plainProxy.stop()
        #expect(plainProxy.stats.droppedResponses == 1)
        #expect(plainResults.allSatisfy { (try? $0.get()) != nil })
        let plain = try await readBack(bootstrap, topic: plainTopic, atLeast: 21)
        #expect(plain.count > 20, "without idempotence the retried batch is appended again: \(plain.count) records")
        #expect(Set(plain) == Set(expected))

        // Idempotent: the retry carries the same producer id, epoch and sequence; the broker answers
        // with the original offsets (or DUPLICATE_SEQUENCE_NUMBER) and appends nothing.
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        let proxy = KafkaFaultProxy(upstream: Self.upstream(bootstrap), onProduceResponse: { $0 == 0 ? .dropConnection : .forward })
        try await proxy.start()
        let results = try await produce(through: proxy, topic: topic, count: 20, idempotent: true)
        await proxy.stop()
        #expect(proxy.stats.droppedResponses == 1)
        #expect(proxy.stats.produceRequests >= 2, "the batch was sent again after the lost response")
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let values = try await readBack(bootstrap, topic: topic, atLeast: 20)
        #expect(values == expected, "exactly once, in order")
    }

    @Test("Five batches in flight per partition; the connection dies mid-stream; no duplicates, order kept", arguments: KafkaPeers.brokerNames)
    func manyInFlight(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        // Every Produce response is held 30 ms, so the sender has several batches out at once; the
        // 4th response is lost with the connection (those behind it on that connection too).
        let proxy = KafkaFaultProxy(upstream: Self.upstream(bootstrap), responseDelay: .milliseconds(30),
                                    onProduceResponse: { $0 == 3 ? .dropConnection : .forward })
        try await proxy.start()
        let metrics = TestMetrics()
        let count = 400
        // ~6 records per batch (a batch is sent once it reaches batchSize bytes).
        let results = try await produce(through: proxy, topic: topic, count: count, idempotent: true, batchSize: 120,
                                        linger: .milliseconds(1), metrics: metrics)
        await proxy.stop()
        let stats = proxy.stats
        #expect(stats.maxOutstanding >= 2 && stats.maxOutstanding <= 5, "in flight at once: \(stats.maxOutstanding)")
        #expect(stats.droppedResponses == 1)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        // Offsets the broker reported (a DUPLICATE_SEQUENCE_NUMBER answer reports none: -1) ascend with the records.
        let offsets = results.compactMap { try? $0.get().offset }.filter { $0 >= 0 }
        #expect(offsets.allSatisfy { $0 < Int64(count) }, "reported offsets: \(offsets)")
        if broker == "noida" {
            // noida-db bug (broker, not client): a resent batch it had already appended is answered
            // with the base offset of the producer's latest batch instead of its own (Kafka returns
            // the original offset), e.g. batches at 17, 22, 27 and 32 all reported as 37. The log
            // itself is right (checked below), so only the reported offsets are not compared here.
            print("[noida] reported offsets (noida-db misreports duplicates): \(offsets)")
        } else {
            #expect(offsets == offsets.sorted() && Set(offsets).count == offsets.count, "reported offsets: \(offsets)")
        }
        let values = try await readBack(bootstrap, topic: topic, atLeast: count)
        #expect(values == (0..<count).map { "r\($0)" }, "exactly once, in order (got \(values.count))")
        let retries = metrics.counters(label: "kafka_producer_retries_total").reduce(0) { $0 + $1.totalValue }
        #expect(retries >= 1)
        #expect(try metrics.expectCounter("kafka_producer_records_total", [("topic", topic)]).totalValue == Int64(count))
    }

    @Test("A late request: later batches get OUT_OF_ORDER_SEQUENCE_NUMBER and are resent after it, in order", arguments: KafkaPeers.brokerNames)
    func outOfOrderSequence(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        // The 2nd Produce request reaches the broker 300 ms late, after the 3rd and later ones, which
        // therefore arrive with a gap in the sequence and are rejected; the client gets the answers in
        // request order (the proxy keeps them in order, as a Kafka connection does) and resends the
        // rejected batches after the 2nd, in order (bumping the epoch if it sees the 2nd acknowledged
        // first: then nothing before them is unresolved).
        let proxy = KafkaFaultProxy(upstream: Self.upstream(bootstrap), responseDelay: .milliseconds(20),
                                    onProduceRequest: { $0 == 1 ? .delay(.milliseconds(300)) : .forward })
        try await proxy.start()
        let metrics = TestMetrics()
        let count = 200
        let results = try await produce(through: proxy, topic: topic, count: count, idempotent: true, batchSize: 120,
                                        linger: .milliseconds(1), metrics: metrics, requestTimeout: .seconds(2))
        await proxy.stop()
        #expect(proxy.stats.delayedRequests == 1)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let values = try await readBack(bootstrap, topic: topic, atLeast: count)
        #expect(values == (0..<count).map { "r\($0)" }, "exactly once, in order (got \(values.count))")
        let outOfOrder = metrics.counters(label: "kafka_producer_retries_total")
            .filter { $0.dimensions.contains { $0.0 == "error" && $0.1 == "outOfOrderSequenceNumber" } }
            .reduce(0) { $0 + $1.totalValue }
        print("[\(broker)] batches retried after OUT_OF_ORDER_SEQUENCE_NUMBER: \(outOfOrder)")
        #expect(outOfOrder >= 1, "the broker rejected the batches behind the gap")
    }
}

/// Delivery results by record index, filled from callbacks.
final class ResultList: @unchecked Sendable {
    private let lock = NSLock()
    private var _items: [Result<KafkaRecordMetadata, any Error>]
    init(count: Int) { _items = Array(repeating: .failure(CancellationError()), count: count) }
    func set(_ i: Int, _ r: Result<KafkaRecordMetadata, any Error>) { lock.withLock { _items[i] = r } }
    var items: [Result<KafkaRecordMetadata, any Error>] { lock.withLock { _items } }
}
