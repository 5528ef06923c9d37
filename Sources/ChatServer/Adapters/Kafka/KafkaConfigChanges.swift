import ChatWire
import Foundation
import KafkaWire
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization

/// The config-changes topic: every instance hears every dynamic-config change (the reference's
/// `config-changes`, one `ConfigChange{section, when}` record per touched section).
///
/// It is a broadcast, not a consumer group: each instance reads the whole one-partition topic
/// from the moment it starts, and reloads its ``DynamicConfig`` from the shared ``ConfigStore``
/// for each change it did not publish itself.
public final class KafkaConfigChanges: ConfigChangeFeed {
    private let configuration: KafkaBackplaneConfiguration
    private let origin: String
    private let logger: Logger
    private let producer: KafkaProducer
    private let consumer: KafkaConsumer
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// A feed on `configuration.configTopic`; `origin` (unique per instance) marks this instance's own changes.
    public init(configuration: KafkaBackplaneConfiguration, origin: String, logger: Logger) {
        self.configuration = configuration
        self.origin = origin
        self.logger = logger
        var producerConfiguration = KafkaProducerConfiguration(client: configuration.client)
        producerConfiguration.linger = .milliseconds(0)
        self.producer = KafkaProducer(configuration: producerConfiguration, logger: logger)
        var consumerConfiguration = KafkaConsumerConfiguration(client: configuration.client)
        consumerConfiguration.enableAutoCommit = false
        consumerConfiguration.fetchMaxWait = .milliseconds(100)
        self.consumer = KafkaConsumer(configuration: consumerConfiguration, logger: logger)
    }

    /// Publishes one change record per section and waits until they are written.
    public func publish(sections: Set<String>) async throws {
        for section in sections.sorted() {
            var change = Chatwire_ConfigChange()
            change.configSection = section
            change.when = Google_Protobuf_Timestamp(date: .init())
            let bytes: [UInt8] = try change.serializedBytes()
            _ = try await producer.send(KafkaProducerRecord(topic: configuration.configTopic, partition: 0, key: ByteBuffer(string: section),
                                                            value: ByteBuffer(bytes: bytes), headers: [KafkaHeader(key: "origin", value: ByteBuffer(string: origin))]))
        }
    }

    /// Announces `sections` to the other instances (``ConfigChangeFeed``).
    public func announce(_ sections: Set<String>) async throws {
        try await publish(sections: sections)
    }

    /// Follows the topic in the background (``ConfigChangeFeed``); see ``follow(_:)``.
    public func onChange(_ handler: @escaping @Sendable (Set<String>) async -> Void) {
        Task { await follow(handler) }
    }

    /// Follows the topic from its current end, calling `handler` with the section of every change
    /// published by another instance. Returns once the start position is known.
    public func follow(_ handler: @escaping @Sendable (Set<String>) async -> Void) async {
        let tp = KafkaTopicPartition(configuration.configTopic, 0)
        consumer.assign([tp: .latest])
        for _ in 0..<200 where consumer.position(tp) == nil {
            try? await Task.sleep(for: .milliseconds(25))
        }
        let (consumer, origin, logger) = (consumer, origin, logger)
        let task = Task {
            do {
                for try await record in consumer.records() {
                    let from = record.headers.first { $0.key == "origin" }?.value.map { String(buffer: $0) }
                    guard from != origin, let value = record.value,
                          let change = try? Chatwire_ConfigChange(serializedBytes: Array(value.readableBytesView)) else { continue }
                    logger.info("config change received", metadata: ["section": "\(change.configSection)", "from": "\(from ?? "?")"])
                    await handler([change.configSection])
                }
            } catch {
                logger.error("config-changes consumer stopped", metadata: ["error": "\(error)"])
            }
        }
        self.task.withLock { $0 = task }
    }

    /// Closes the producer and the consumer.
    public func shutdown() async {
        await producer.shutdown()
        await consumer.shutdown()
        let task = self.task.withLock { $0 }
        await task?.value
    }
}
