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

    /// A started fault proxy in front of `bootstrap` that moves the base sequence of the first two
    /// produce requests carrying the record "poison" 7 ahead (CRC fixed up by the proxy), so the
    /// broker itself answers OUT_OF_ORDER_SEQUENCE_NUMBER to both attempts and appends nothing.
    static func poisonProxy(_ bootstrap: String) async throws -> KafkaFaultProxy {
        let proxy = KafkaFaultProxy(upstream: upstream(bootstrap))
        let once = OnceFlag(times: 2)
        proxy.rewriteProduceBatch = { _, frame, start in
            guard frame.readableBytesView.firstRange(of: Array("poison".utf8)) != nil, once.take() else { return false }
            let at = frame.readerIndex + start + 53
            frame.setInteger(frame.getInteger(at: at, as: Int32.self)! + 7, at: at)
            return true
        }
        try await proxy.start()
        return proxy
    }

    /// A producer through `proxy` sending one record per batch, one batch in flight, so every
    /// batch before "poison" is acknowledged when the broker rejects it; epoch bumps count in `metrics`.
    static func poisonProducerConfiguration(_ proxy: KafkaFaultProxy, metrics: TestMetrics) -> KafkaProducerConfiguration {
        var config = KafkaProducerConfiguration(client: proxy.clientConfiguration())
        config.batchSize = 1  // one record per batch
        config.linger = .milliseconds(1)
        config.maxInFlightPerPartition = 1
        config.client.retryBackoff = .milliseconds(50)
        config.client.observability.metricsFactory = metrics
        return config
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
        let proxy = try await Self.poisonProxy(bootstrap)
        let metrics = TestMetrics()
        let config = Self.poisonProducerConfiguration(proxy, metrics: metrics)
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

    @Test("Transactional producer: a batch that fails fatally fails its transaction; the abort bumps the epoch, the next transaction commits and read_committed sees only it",
          arguments: KafkaPeers.brokerNames)
    func transactionalAbortBumpsEpoch(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker), KafkaPeers.python != nil else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        // As in outOfOrderBumpsEpoch: the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER to both
        // attempts of "poison" with nothing unresolved before it. A transactional producer does not
        // renumber inside a transaction: the batch fails, the transaction can only abort.
        let proxy = try await Self.poisonProxy(bootstrap)
        let metrics = TestMetrics()
        var config = Self.poisonProducerConfiguration(proxy, metrics: metrics)
        config.transactionalID = KafkaPeers.uniqueName("txn-bump")
        config.transactionTimeout = .seconds(10)
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        func record(_ v: String) -> KafkaProducerRecord { KafkaProducerRecord(topic: topic, partition: 0, value: ByteBuffer(string: v)) }
        try await producer.initTransactions()

        try await producer.beginTransaction()
        let first = ["t1-a", "poison", "t1-c"]
        let results = ResultList(count: first.count)
        for (i, v) in first.enumerated() { try await producer.enqueue(record(v)) { results.set(i, $0) } }
        await producer.flush()
        let outcomes = results.items
        if case .failure(let error) = outcomes[0] { Issue.record("t1-a (before the poison) failed: \(error)") }
        for i in 1..<first.count {
            switch outcomes[i] {
            case .success(let m): Issue.record("\(first[i]) was acknowledged in the failed transaction: \(m)")
            case .failure(let error):
                #expect((error as? KafkaError)?.code == .outOfOrderSequenceNumber, "\(first[i]): \(error)")
            }
        }
        await #expect(throws: KafkaProducerError.self, "a transaction with a failed record cannot commit") {
            try await producer.commitTransaction()
        }
        try await producer.abortTransaction()
        #expect(bumps(metrics) == 1, "the abort bumped the epoch (KIP-360) or took a new producer id")

        let second = ["t2-a", "t2-b", "t2-c"]
        try await producer.withTransaction {
            for v in second { _ = try await producer.send(record(v)) }
        }
        await producer.shutdown()
        await proxy.stop()
        #expect(proxy.stats.rewritten == 2)
        let kinds = metrics.counters(label: "kafka_producer_epoch_bumps_total").map { "\($0.dimensions)" }
        print("[\(broker)] transactional epoch bumps: \(bumps(metrics)) \(kinds)")

        // read_uncommitted: the aborted transaction's appended record stays in the log.
        let stored = try await readBack(bootstrap, topic: topic, atLeast: 1 + second.count)
        #expect(stored == ["t1-a"] + second, "got \(stored)")
        guard broker == "noida" else {
            print("skipping read_committed checks on Tansu: known broker bug (peers.md: read_committed does not filter aborted records)")
            return
        }
        let committed = try await Interop.consumeAll(bootstrap, topic: topic, count: second.count, isolation: .readCommitted, settle: .seconds(1))
        #expect(committed.compactMap(\.valueString) == second)
        let librdkafka = try KafkaPeers.Background("consume.py", ["ck", bootstrap, topic, "\(second.count)", "read_committed", "10"])
        let lines = await librdkafka.finishAsync()
        let values = (lines.last?["records"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
        #expect(values == second, "librdkafka read_committed")
    }
}

/// True the first `times` times.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(times: Int = 1) { left = times }
    func take() -> Bool { lock.withLock { defer { left -= 1 }; return left > 0 } }
}
