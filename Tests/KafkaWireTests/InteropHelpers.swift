import Foundation
import KafkaWire
import Logging
import NIOCore
import Testing

/// Thread-safe record collector.
final class Collector: @unchecked Sendable {
    private let lock = NSLock()
    private var _records: [KafkaConsumerRecord] = []
    func add(_ batch: [KafkaConsumerRecord]) { lock.withLock { _records += batch } }
    var count: Int { lock.withLock { _records.count } }
    var records: [KafkaConsumerRecord] { lock.withLock { _records } }
}

/// Shared steps of the broker tests.
enum Interop {
    /// Base of the test records' timestamps: recent, because brokers delete records older than retention.ms.
    static let baseTimestamp: Int64 = KafkaClock.nowMillis() / 1000 * 1000 - 60_000

    static func admin(_ bootstrap: String) -> KafkaAdmin {
        KafkaAdmin(configuration: KafkaClientConfiguration(bootstrap: bootstrap), logger: KafkaPeers.logger)
    }

    static func createTopic(_ bootstrap: String, partitions: Int32 = 1, prefix: String = "kw") async throws -> String {
        let name = KafkaPeers.uniqueName(prefix)
        let admin = admin(bootstrap)
        try await admin.createTopics([KafkaNewTopic(name: name, partitions: partitions, replicationFactor: 1)])
        await admin.shutdown()
        return name
    }

    static func producerConfig(_ bootstrap: String) -> KafkaProducerConfiguration {
        var c = KafkaProducerConfiguration(bootstrap: bootstrap)
        c.linger = .milliseconds(2)
        return c
    }

    static func consumerConfig(_ bootstrap: String, group: String? = nil) -> KafkaConsumerConfiguration {
        var c = KafkaConsumerConfiguration(bootstrap: bootstrap, groupID: group)
        c.autoOffsetReset = .earliest
        c.sessionTimeout = .seconds(6)
        c.heartbeatInterval = .milliseconds(500)
        c.rebalanceTimeout = .seconds(10)
        c.fetchMaxWait = .milliseconds(100)
        return c
    }

    /// The test record i, as the oracles write it.
    static func record(_ topic: String, _ i: Int, partition: Int32? = nil) -> KafkaProducerRecord {
        KafkaProducerRecord(topic: topic, partition: partition, key: ByteBuffer(string: "key-\(i)"), value: ByteBuffer(string: "value-\(i)-" + String(repeating: "x", count: 100)),
                            headers: [KafkaHeader(key: "idx", value: Array("\(i)".utf8)), KafkaHeader(key: "bin", value: [0x00, 0xFF])],
                            timestamp: baseTimestamp + Int64(i))
    }

    /// Reads `count` records from all partitions of `topic` from the beginning (manual assignment).
    static func consumeAll(_ bootstrap: String, topic: String, count: Int, isolation: KafkaIsolationLevel = .readUncommitted,
                           settle: Duration = .zero, timeout: Duration = .seconds(20)) async throws -> [KafkaConsumerRecord] {
        var config = consumerConfig(bootstrap)
        config.isolationLevel = isolation
        config.enableAutoCommit = false
        let consumer = KafkaConsumer(configuration: config, logger: KafkaPeers.logger)
        let meta = try await consumer.cluster.metadata(for: topic)
        consumer.assign(Dictionary(uniqueKeysWithValues: meta.partitions.map { (KafkaTopicPartition(topic, $0.partition), KafkaOffsetSpec.earliest) }))
        let collector = Collector()
        let reader = Task {
            for try await batch in consumer.batches() { collector.add(batch) }
        }
        let deadline = ContinuousClock.now + timeout
        while collector.count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if settle != .zero { try await Task.sleep(for: settle) }
        await consumer.shutdown()
        _ = await reader.result
        return collector.records.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    /// Checks that `records` are exactly the oracle records 0..<n (keys, values, headers, timestamps).
    static func expectOracleRecords(_ records: [KafkaConsumerRecord], count n: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(records.count == n, sourceLocation: sourceLocation)
        let byKey = Dictionary(records.map { ($0.keyString ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for i in 0..<n {
            guard let r = byKey["key-\(i)"] else { Issue.record("missing key-\(i)", sourceLocation: sourceLocation); continue }
            #expect(r.valueString == "value-\(i)-" + String(repeating: "x", count: 100), sourceLocation: sourceLocation)
            #expect(r.headers == [KafkaHeader(key: "idx", value: Array("\(i)".utf8)), KafkaHeader(key: "bin", value: [0x00, 0xFF])], sourceLocation: sourceLocation)
            #expect(r.timestamp == baseTimestamp + Int64(i), sourceLocation: sourceLocation)
        }
    }

    /// Checks oracle consumer JSON output against the test records.
    static func expectOracleJSON(_ json: [String: Any], count n: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let recs = json["records"] as? [[String: Any]] ?? []
        #expect(recs.count == n, sourceLocation: sourceLocation)
        for r in recs {
            let key = r["key"] as? String ?? ""
            guard let i = Int(key.dropFirst(4)) else { Issue.record("bad key \(key)", sourceLocation: sourceLocation); continue }
            #expect(r["value"] as? String == "value-\(i)-" + String(repeating: "x", count: 100), sourceLocation: sourceLocation)
            let headers = (r["headers"] as? [[String]]) ?? []
            #expect(headers == [["idx", Array("\(i)".utf8).map { String(format: "%02x", $0) }.joined()], ["bin", "00ff"]], sourceLocation: sourceLocation)
            #expect((r["timestamp"] as? Int).map(Int64.init) == baseTimestamp + Int64(i), sourceLocation: sourceLocation)
        }
    }
}
