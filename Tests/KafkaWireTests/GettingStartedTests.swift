import KafkaWire
import Logging
import Testing

/// The code of `KafkaWire.docc/GettingStarted.md`, run against each broker (topic and group names made unique).
@Suite("Getting Started article", .serialized)
struct GettingStartedTests {
    @Test("Getting started code runs", arguments: KafkaPeers.brokerNames)
    func gettingStarted(_ broker: String) async throws {
        guard let bootstrap = KafkaPeers.bootstrap(broker) else { return }
        let logger = KafkaPeers.logger
        let topic = KafkaPeers.uniqueName("greetings")

        // Admin: create a topic with three partitions.
        let admin = KafkaAdmin(configuration: KafkaClientConfiguration(bootstrap: bootstrap), logger: logger)
        try await admin.createTopics([KafkaNewTopic(name: topic, partitions: 3, replicationFactor: 1)])
        await admin.shutdown()

        // Producer: idempotent by default; `send` returns where the record landed.
        let producer = KafkaProducer(configuration: KafkaProducerConfiguration(bootstrap: bootstrap), logger: logger)
        let metadata = try await producer.send(
            KafkaProducerRecord(topic: topic, key: "user-1", value: "hello",
                                headers: [KafkaHeader(key: "lang", value: Array("en".utf8))]))
        print("stored at \(metadata.partition)/\(metadata.offset)")
        await producer.shutdown()

        // Consumer: join a group, read records as an AsyncSequence, commit.
        var config = KafkaConsumerConfiguration(bootstrap: bootstrap, groupID: KafkaPeers.uniqueName("greeters"))
        config.autoOffsetReset = .earliest
        config.sessionTimeout = .seconds(6)
        let consumer = KafkaConsumer(configuration: config, logger: logger)
        try consumer.subscribe(topics: [topic])
        var got: KafkaConsumerRecord?
        for try await record in consumer.records() {
            print(record.keyString ?? "-", record.valueString ?? "-")
            try await consumer.commit()
            got = record
            break
        }
        await consumer.shutdown()
        #expect(got?.valueString == "hello" && got?.keyString == "user-1" && got?.partition == metadata.partition)

        // Transactions
        var txConfig = KafkaProducerConfiguration(bootstrap: bootstrap)
        txConfig.transactionalID = KafkaPeers.uniqueName("greeter")
        let txProducer = KafkaProducer(configuration: txConfig, logger: logger)
        try await txProducer.initTransactions()
        try await txProducer.withTransaction {
            _ = try await txProducer.send(KafkaProducerRecord(topic: topic, key: "user-2", value: "hi"))
        }
        await txProducer.shutdown()
    }
}
