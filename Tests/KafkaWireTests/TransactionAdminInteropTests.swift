import Foundation
import KafkaWire
import NIOCore
import Testing

@Suite("Transactions, admin and SASL against Tansu and noida-db", .serialized)
struct TransactionAdminInteropTests {
    @Test("Transactions: commit is visible, abort is not (KafkaWire read_committed and librdkafka read_committed)", arguments: KafkaPeers.brokerNames)
    func transactions(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker), KafkaPeers.python != nil else { return }
        let topic = try await Interop.createTopic(bootstrap, partitions: 1)
        var config = Interop.producerConfig(bootstrap)
        config.transactionalID = KafkaPeers.uniqueName("txn")
        config.transactionTimeout = .seconds(10)
        let producer = KafkaProducer(configuration: config, logger: KafkaPeers.logger)
        try await producer.initTransactions()
        try await producer.withTransaction {
            for i in 0..<3 { _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: 0, value: "commit\(i)")) }
        }
        try await producer.beginTransaction()
        for i in 0..<3 { try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: 0, value: "abort\(i)")) }
        try await producer.abortTransaction()
        // sendOffsetsToTransaction: commit a group offset inside a transaction
        let group = KafkaPeers.uniqueName("txg")
        try await producer.beginTransaction()
        _ = try await producer.send(KafkaProducerRecord(topic: topic, partition: 0, value: "with-offsets"))
        try await producer.sendOffsetsToTransaction([KafkaTopicPartition(topic, 0): 3], group: KafkaConsumerGroupMetadata(groupID: group))
        try await producer.commitTransaction()
        await producer.shutdown()

        let uncommitted = try await Interop.consumeAll(bootstrap, topic: topic, count: 7)
        #expect(uncommitted.compactMap(\.valueString) == ["commit0", "commit1", "commit2", "abort0", "abort1", "abort2", "with-offsets"])
        let admin = Interop.admin(bootstrap)
        #expect(try await admin.listGroupOffsets(group, partitions: [KafkaTopicPartition(topic, 0)]) == [KafkaTopicPartition(topic, 0): 3])
        await admin.shutdown()
        guard broker == "noida" else {
            print("skipping read_committed checks on Tansu: known broker bug (peers.md: read_committed does not filter aborted records)")
            return
        }
        let committed = try await Interop.consumeAll(bootstrap, topic: topic, count: 4, isolation: .readCommitted, settle: .seconds(1))
        #expect(committed.compactMap(\.valueString) == ["commit0", "commit1", "commit2", "with-offsets"])
        let ck = try KafkaPeers.oracle("consume.py", ["ck", bootstrap, topic, "4", "read_committed", "10"])
        #expect((ck["records"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String } == ["commit0", "commit1", "commit2", "with-offsets"])
    }

    @Test("Admin: topics, partitions, cluster, configs, groups, offsets, delete records", arguments: KafkaPeers.brokerNames)
    func admin(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let admin = Interop.admin(bootstrap)
        let topic = KafkaPeers.uniqueName("adm")
        try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 3, replicationFactor: 1)])
        await #expect(throws: KafkaError.self) { try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 3, replicationFactor: 1)]) }
        #expect(try await admin.describeTopics([topic]).first?.partitions.count == 3)
        #expect(try await admin.listTopics().contains(topic))
        let cluster = try await admin.describeCluster()
        #expect(!cluster.brokers.isEmpty)
        let configs = try await admin.describeConfigs([.topic(topic)])
        #expect(configs[.topic(topic)] != nil)
        if broker == "noida" {
            try await admin.createPartitions([topic: 5])
            #expect(try await admin.describeTopics([topic]).first?.partitions.count == 5)
            try await admin.alterConfigs([.topic(topic): [.set("retention.ms", "3600000")]])
            let after = try await admin.describeConfigs([.topic(topic)])
            #expect(after[.topic(topic)]?.first { $0.name == "retention.ms" }?.value == "3600000")
        } else {
            print("skipping CreatePartitions on Tansu: not advertised by the broker (peers.md)")
        }
        // offsets
        let producer = KafkaProducer(configuration: Interop.producerConfig(bootstrap), logger: KafkaPeers.logger)
        for i in 0..<100 { try await producer.enqueue(KafkaProducerRecord(topic: topic, partition: 0, value: "m\(i)")) }
        await producer.flush()
        await producer.shutdown()
        let tp = KafkaTopicPartition(topic, 0)
        #expect(try await admin.listOffsets([tp: -2]) == [tp: 0])
        if broker == "noida" {
            #expect(try await admin.listOffsets([tp: -1]) == [tp: 100])
            #expect(try await admin.deleteRecords([tp: 30]) == [tp: 30])
            #expect(try await admin.listOffsets([tp: -2]) == [tp: 30])
            let first = try await Interop.consumeAll(bootstrap, topic: topic, count: 70)
            #expect(first.first?.offset == 30)
        } else {
            print("skipping ListOffsets latest and DeleteRecords on Tansu: known broker bugs (peers.md: wrong high watermark; DeleteRecords kills the connection)")
        }
        // groups
        let group = KafkaPeers.uniqueName("admg")
        var cconfig = Interop.consumerConfig(bootstrap, group: group)
        cconfig.enableAutoCommit = false
        let consumer = KafkaConsumer(configuration: cconfig, logger: KafkaPeers.logger)
        try consumer.subscribe(topics: [topic])
        let reader = Task { for try await _ in consumer.batches() {} }
        let deadline = ContinuousClock.now + .seconds(20)
        while consumer.assignment.isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        try await consumer.commit([tp: 10])
        #expect(try await admin.listGroups().contains { $0.groupID == group })
        let described = try await admin.describeGroups([group])
        #expect(described.first?.groupID == group)
        if broker == "noida" {
            #expect(described.first?.members.count == 1)
            #expect(described.first?.members.first?.assignment.isEmpty == false)
        } else {
            // Tansu answers DescribeGroups with an empty member list (librdkafka's describe_consumer_groups
            // sees the same for a stable librdkafka group): broker bug, reported for peers.md.
            print("skipping DescribeGroups member checks on Tansu: broker returns no members (also seen with librdkafka)")
        }
        #expect(try await admin.listGroupOffsets(group, partitions: [tp]) == [tp: 10])
        await consumer.shutdown()
        _ = await reader.result
        try await admin.deleteGroups([group])
        try await admin.deleteTopics([topic])
        #expect(try await !admin.listTopics().contains(topic))
        await admin.shutdown()
    }

    @Test("SASL: brokers without SASL users reject SCRAM cleanly; noida-db accepts any PLAIN login (as with librdkafka)", arguments: KafkaPeers.brokerNames)
    func saslRejected(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        for mechanism in [KafkaSASLMechanism.plain(username: "alice", password: "x"), .scramSHA256(username: "alice", password: "x"), .scramSHA512(username: "alice", password: "x")] {
            var config = KafkaClientConfiguration(bootstrap: bootstrap)
            config.sasl = mechanism
            config.requestTimeout = .seconds(5)
            let cluster = KafkaCluster(configuration: config, logger: KafkaPeers.logger)
            if broker == "noida", case .plain = mechanism {
                // noida-db has no user database: PLAIN with any credentials succeeds (librdkafka: same), so this
                // checks the PLAIN exchange end to end, then a request on the authenticated connection.
                let connection = try await cluster.anyConnection()
                #expect(try connection.version(for: .metadata) >= 1)
                try await cluster.refreshMetadata(topics: [])
            } else {
                await #expect(throws: (any Error).self, "\(mechanism.name) on \(broker)") { _ = try await cluster.anyConnection() }
            }
            await cluster.shutdown()
        }
    }
}
