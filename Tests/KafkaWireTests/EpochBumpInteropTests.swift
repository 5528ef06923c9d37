import Foundation
import KafkaWire
import MetricsTestKit
import NIOCore
import Testing

/// The idempotent producer keeps working after a fatal batch error (it bumps its epoch, KIP-360, or
/// takes a new producer id) and bounds delivery by `deliveryTimeout`, against the real brokers
/// behind KafkaFaultProxy. Records are read back from the broker: no duplicates, no reordering.
@Suite("Idempotent producer: epoch bump and delivery timeout", .serialized, .timeLimit(.minutes(3)))
struct EpochBumpInteropTests {
    static func upstream(_ bootstrap: String) -> KafkaBrokerAddress { KafkaBrokerAddress(bootstrap.split(separator: ",").first.map(String.init) ?? bootstrap)! }

    func readBack(_ bootstrap: String, topic: String, atLeast count: Int) async throws -> [String] {
        let records = try await Interop.consumeAll(bootstrap, topic: topic, count: count, settle: .milliseconds(300))
        return records.filter { $0.partition == 0 }.sorted { $0.offset < $1.offset }.map { $0.valueString ?? "" }
    }

    func bumps(_ metrics: TestMetrics) -> Int64 {
        metrics.counters(label: "kafka_producer_epoch_bumps_total").reduce(0) { $0 + $1.totalValue }
    }

    @Test("OUT_OF_ORDER_SEQUENCE_NUMBER with nothing unresolved before it: the epoch is bumped and every record lands once, in order",
          arguments: KafkaPeers.brokerNames)
    func outOfOrderBumpsEpoch(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        // The first two requests carrying the record "poison" reach the broker with its base sequence
        // moved 7 ahead (CRC fixed up): the broker itself answers OUT_OF_ORDER_SEQUENCE_NUMBER and
        // appends nothing. Every earlier batch is acknowledged by then (one batch in flight), so once
        // the resend (sent alone) is rejected too, the producer cannot wait for a gap to close: it
        // must bump the epoch and renumber.
        let proxy = KafkaFaultProxy(upstream: Self.upstream(bootstrap))
        let once = OnceFlag(times: 2)
        proxy.rewriteProduceBatch = { _, frame, start in
            guard frame.readableBytesView.firstRange(of: Array("poison".utf8)) != nil, once.take() else { return false }
            let at = frame.readerIndex + start + 53
            frame.setInteger(frame.getInteger(at: at, as: Int32.self)! + 7, at: at)
            return true
        }
        try await proxy.start()
        var config = KafkaProducerConfiguration(client: proxy.clientConfiguration())
        config.batchSize = 1  // one record per batch
        config.linger = .milliseconds(1)
        config.maxInFlightPerPartition = 1
        config.client.retryBackoff = .milliseconds(50)
        let metrics = TestMetrics()
        config.client.observability.metricsFactory = metrics
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        let values = (0..<30).map { $0 == 10 ? "poison" : "r\($0)" }
        let results = ResultList(count: values.count)
        for (i, v) in values.enumerated() {
            try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: 0, value: ByteBuffer(string: v))) { results.set(i, $0) }
        }
        await producer.flush()
        await producer.shutdown()
        await proxy.stop()
        #expect(proxy.stats.rewritten == 2)
        for (i, r) in results.items.enumerated() {
            if case .failure(let error) = r { Issue.record("record \(values[i]) failed: \(error)") }
        }
        let kinds = metrics.counters(label: "kafka_producer_epoch_bumps_total").map { "\($0.dimensions)" }
        print("[\(broker)] epoch bumps: \(bumps(metrics)) \(kinds)")
        #expect(bumps(metrics) >= 1, "the producer bumped its epoch")
        let stored = try await readBack(bootstrap, topic: topic, atLeast: values.count)
        #expect(stored == values, "exactly once, in order (got \(stored))")
    }

    @Test("A broker that stops answering: records fail with deliveryTimedOut, retries stop at the deadline, and the producer continues once it answers",
          arguments: KafkaPeers.brokerNames)
    func silentBroker(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        let proxy = KafkaFaultProxy(upstream: Self.upstream(bootstrap))
        try await proxy.start()
        var config = KafkaProducerConfiguration(client: proxy.clientConfiguration())
        config.linger = .milliseconds(1)
        // Generous for a loaded CI machine: the silent phase lasts one delivery timeout.
        config.deliveryTimeout = .seconds(8)
        config.client.requestTimeout = .seconds(2)
        config.client.connectTimeout = .seconds(2)
        config.client.retryBackoff = .milliseconds(50)
        let metrics = TestMetrics()
        config.client.observability.metricsFactory = metrics
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        func record(_ v: String) -> KafkaProducerRecord { KafkaProducerRecord(topic: topic, partition: 0, value: ByteBuffer(string: v)) }

        _ = try await producer.send(record("before"))
        proxy.stopAnswering()
        let lost = (1...5).map { "lost\($0)" }
        let results = ResultList(count: lost.count)
        for (i, v) in lost.enumerated() { try await producer.enqueue(record(v)) { results.set(i, $0) } }
        await producer.flush()  // returns once every record is acknowledged or failed
        let swallowed = proxy.stats.unansweredProduce
        for r in results.items {
            switch r {
            case .success(let m): Issue.record("a record to a silent broker succeeded: \(m)")
            case .failure(let error):
                guard case KafkaProducerError.deliveryTimedOut(let what) = error else {
                    Issue.record("expected deliveryTimedOut, got \(error)")
                    continue
                }
                #expect(what.contains("\(topic)-0"))
            }
        }
        #expect(swallowed >= 1, "the records reached the silent broker")
        // Retries end at the deadline: nothing more is sent for the failed records.
        try await Task.sleep(for: .milliseconds(500))
        #expect(proxy.stats.unansweredProduce == swallowed)

        proxy.resumeAnswering()
        var after: [KafkaRecordMetadata] = []
        for v in ["after1", "after2", "after3"] { after.append(try await producer.send(record(v))) }
        await producer.shutdown()
        await proxy.stop()
        #expect(after.map(\.offset) == after.map(\.offset).sorted())
        print("[\(broker)] swallowed produce requests: \(swallowed), epoch bumps: \(bumps(metrics))")
        #expect(bumps(metrics) >= 1, "the expired in-flight batch made the producer bump its epoch")
        let stored = try await readBack(bootstrap, topic: topic, atLeast: 4)
        #expect(stored == ["before", "after1", "after2", "after3"], "got \(stored)")
    }
}

/// True the first `times` times.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(times: Int = 1) { left = times }
    func take() -> Bool { lock.withLock { defer { left -= 1 }; return left > 0 } }
}
