import Foundation
import KafkaWire
import NIOCore
import Testing

@Suite("KafkaWire against Tansu and noida-db, with librdkafka and kafka-python", .serialized)
struct ProduceConsumeInteropTests {
    @Test("Connect, negotiate versions, metadata", arguments: KafkaPeers.brokerNames)
    func negotiate(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let cluster = KafkaCluster(configuration: KafkaClientConfiguration(bootstrap: "127.0.0.1:1," + bootstrap), logger: KafkaPeers.logger)
        let connection = try await cluster.anyConnection()  // first bootstrap server refuses: the second is used
        #expect(try connection.version(for: .metadata) >= 9)
        #expect(try connection.version(for: .produce) >= 3)
        #expect(try connection.version(for: .fetch) >= 4)
        try await cluster.refreshMetadata(topics: [])
        #expect(await !cluster.brokers.isEmpty)
        await cluster.shutdown()
    }

    @Test("Produce with keys/headers/timestamps, read back with KafkaWire, librdkafka and kafka-python", arguments: KafkaPeers.brokerNames)
    func produceAndReadBack(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker), KafkaPeers.python != nil else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 3)
        let producer = KafkaProducer(configuration: Interop.producerConfig(bootstrap), logger: KafkaPeers.logger)
        var metadata: [KafkaRecordMetadata] = []
        for i in 0..<30 { metadata.append(try await producer.send(Interop.record(topic, i))) }
        await producer.shutdown()
        // offsets per partition are dense from 0
        for p in Set(metadata.map(\.partition)) {
            #expect(metadata.filter { $0.partition == p }.map(\.offset) == Array(0..<Int64(metadata.filter { $0.partition == p }.count)))
        }
        let ours = try await Interop.consumeAll(bootstrap, topic: topic, count: 30)
        Interop.expectOracleRecords(ours, count: 30)
        for m in metadata {
            #expect(ours.contains { $0.partition == m.partition && $0.offset == m.offset }, "record at \(m.partition)/\(m.offset)")
        }
        Interop.expectOracleJSON(try KafkaPeers.oracle("consume.py", ["ck", bootstrap, topic, "30"]), count: 30)
        Interop.expectOracleJSON(try KafkaPeers.oracle("consume.py", ["kp", bootstrap, topic, "30"]), count: 30)
    }

    @Test("Same keys land in the same partitions as librdkafka (murmur2_random) and kafka-python", arguments: KafkaPeers.brokerNames)
    func samePartitions(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker), KafkaPeers.python != nil else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 7)
        let producer = KafkaProducer(configuration: Interop.producerConfig(bootstrap), logger: KafkaPeers.logger)
        var ours: [String: Int32] = [:]
        for i in 0..<40 { ours["key-\(i)"] = try await producer.send(Interop.record(topic, i)).partition }
        await producer.shutdown()
        let ck = try KafkaPeers.oracle("produce.py", ["ck", bootstrap, topic, "none", "40", "-", "\(Interop.baseTimestamp)"])
        var theirs: [String: Int32] = [:]
        for r in ck["records"] as? [[String: Any]] ?? [] { theirs[r["key"] as! String] = Int32(r["partition"] as! Int) }
        #expect(theirs == ours)
        let kp = try KafkaPeers.oracle("produce.py", ["kp", bootstrap, topic, "none", "40", "-", "\(Interop.baseTimestamp)"])
        var kpPartitions: [String: Int32] = [:]
        for r in kp["records"] as? [[String: Any]] ?? [] { kpPartitions[r["key"] as! String] = Int32(r["partition"] as! Int) }
        #expect(kpPartitions == ours)
        #expect(Set(ours.values).count > 3)
    }

    @Test("Each compression codec both ways", arguments: KafkaPeers.brokerNames, KafkaCompression.allCases)
    func compression(_ broker: String, _ codec: KafkaCompression) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker), KafkaPeers.python != nil else { return }
        let codecName = ["none", "gzip", "snappy", "lz4", "zstd"][Int(codec.rawValue)]
        // KafkaWire produces, the others read.
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        var config = Interop.producerConfig(bootstrap)
        config.compression = codec
        config.linger = .milliseconds(20)
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        for i in 0..<50 { try await producer.enqueue(Interop.record(topic, i, partition: 0)) }
        await producer.flush()
        await producer.shutdown()
        Interop.expectOracleJSON(try KafkaPeers.oracle("consume.py", ["ck", bootstrap, topic, "50"]), count: 50)
        Interop.expectOracleJSON(try KafkaPeers.oracle("consume.py", ["kp", bootstrap, topic, "50"]), count: 50)
        Interop.expectOracleRecords(try await Interop.consumeAll(bootstrap, topic: topic, count: 50), count: 50)
        // librdkafka and kafka-python produce, KafkaWire reads.
        for client in ["ck", "kp"] {
            let t = try await Interop.createTopic(bootstrap, partitions: 1)
            _ = try KafkaPeers.oracle("produce.py", [client, bootstrap, t, codecName, "50", "0", "\(Interop.baseTimestamp)"])
            let records = try await Interop.consumeAll(bootstrap, topic: t, count: 50)
            Interop.expectOracleRecords(records, count: 50)
            #expect(records.map(\.offset) == Array(0..<50))
        }
    }

    @Test("Idempotent producer (default): ordered, no duplicates, many records in flight", arguments: KafkaPeers.brokerNames)
    func idempotentBulk(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 2)
        var config = Interop.producerConfig(bootstrap)
        config.batchSize = 16 * 1024
        config.bufferMemory = 256 * 1024  // forces back-pressure
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        #expect(producer.configuration.enableIdempotence && producer.configuration.acks == .all)
        let n = 5000
        let failures = Collector()
        for i in 0..<n {
            try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: Int32(i % 2), value: "m\(i)")) { result in
                if case .failure = result { failures.add([]) }
            }
        }
        await producer.flush()
        await producer.shutdown()
        let records = try await Interop.consumeAll(bootstrap, topic: topic, count: n)
        #expect(records.count == n)
        for p: Int32 in [0, 1] {
            let values = records.filter { $0.partition == p }.map { Int($0.valueString!.dropFirst())! }
            #expect(values == Array(stride(from: Int(p), to: n, by: 2)))
        }
    }

    @Test("acks=0 and acks=1 deliver records without keys", arguments: KafkaPeers.brokerNames)
    func acksModes(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 4)
        for acks in [KafkaAcks.none, .leader] {
            var config = Interop.producerConfig(bootstrap)
            config.enableIdempotence = false
            config.acks = acks
            let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
            var partitions = Set<Int32>()
            for i in 0..<10 {
                let m = try await producer.send(KafkaProducerRecord(topic: topic, value: "\(acks)-\(i)"))
                partitions.insert(m.partition)
                if acks == .none { #expect(m.offset == -1) } else { #expect(m.offset >= 0) }
            }
            #expect(!partitions.isEmpty)
            await producer.shutdown()
        }
        let records = try await Interop.consumeAll(bootstrap, topic: topic, count: 20, settle: .seconds(1))
        // acks=1 records are all there; acks=0 is fire-and-forget (no response, so no delivery guarantee:
        // Tansu drops a request still being read when the connection closes).
        #expect(records.filter { $0.valueString?.hasPrefix("leader-") == true }.count == 10)
        #expect(records.contains { $0.valueString?.hasPrefix("none-") == true })
    }
}
