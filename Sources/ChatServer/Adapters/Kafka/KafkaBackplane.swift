import ChatWire
import KafkaWire
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing

/// The distributed backplane: Kafka through KafkaWire, the reference's scheme.
///
/// - Publishing: every message goes to the messages topic on the partition of its target user
///   (``UserPartitioner``), produced with `acks=all` and idempotence. The produce result is the
///   acknowledgement: written means Processed, failed after the producer's retries means Lost.
/// - Live consumption: one consumer per instance, manually assigned the partitions this instance
///   owns (``assign(_:)``), no group rebalancing. It commits the positions it delivered under the
///   group `<prefix>messaging`, so after a reassignment the new owner resumes where the old one
///   stopped.
/// - Durable consumption: each ``subscribeDurable(_:fromOffset:handler:)`` is a consumer group
///   (`<prefix><name>`) over every partition; a batch's offset is committed only after the
///   handler (the idempotent store write) returned.
///
/// Call ``prepareTopics()`` once before use; run the backplane as a `Service` (or call
/// ``shutdown()``) to flush and close.
public final class KafkaBackplane: Backplane, Service {
    private struct Pending: Sendable {
        var message: Chatwire_BackplaneMessage
        var completion: @Sendable ((any Error)?) -> Void
        var context = ServiceContext.current  // the publishing request's trace (see ChatTracing)
    }

    private struct State {
        var assignment: PartitionAssignment
        var liveHandlers: [@Sendable ([Chatwire_BackplaneMessage]) -> Void] = []
        var durable: [KafkaConsumer] = []
        /// The sender, live reader and live committer loops.
        var tasks: [Task<Void, Never>] = []
        /// One loop per durable consumer; never cancelled while a batch is in hand (see ``shutdown()``).
        var durableTasks: [Task<Void, Never>] = []
        var shutDown = false
    }

    /// The settings.
    public let configuration: KafkaBackplaneConfiguration
    private let logger: Logger
    /// Idempotent, `acks=all`; after a failed batch it bumps its own epoch, so it serves for the
    /// backplane's whole life.
    private let producer: KafkaProducer
    /// Whether the last delivery failed (the first failure of a streak is logged as a warning).
    private let deliveryFailing = Atomic<Bool>(false)
    private let live: KafkaConsumer
    private let outbox = BatchQueue<Pending>()
    private let state: Mutex<State>
    private let assigning = AsyncSerialGate()

    /// A backplane on the brokers in `configuration`, publishing into `partitionCount` partitions;
    /// it owns no partition until ``assign(_:)``.
    public init(configuration: KafkaBackplaneConfiguration, partitionCount: Int, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.producer = Self.makeProducer(configuration, logger: logger)
        var liveConfiguration = KafkaConsumerConfiguration(client: configuration.client, groupID: configuration.groupPrefix + "messaging")
        liveConfiguration.autoOffsetReset = .latest
        liveConfiguration.enableAutoCommit = false
        liveConfiguration.fetchMaxWait = .milliseconds(100)
        self.live = KafkaConsumer(configuration: liveConfiguration, logger: logger)
        self.state = Mutex(State(assignment: PartitionAssignment(partitionCount: partitionCount, owned: [])))
        // The loops hold the backplane until shutdown() ends them.
        let sender = Task { await self.sendLoop() }
        let reader = Task { await self.liveLoop() }
        let committer = Task { await self.commitLoop() }
        state.withLock { $0.tasks = [sender, reader, committer] }
    }

    public var partitionCount: Int { state.withLock { $0.assignment.partitionCount } }

    static func makeProducer(_ configuration: KafkaBackplaneConfiguration, logger: Logger) -> KafkaProducer {
        var producerConfiguration = KafkaProducerConfiguration(client: configuration.client)
        producerConfiguration.acks = .all
        producerConfiguration.enableIdempotence = true
        producerConfiguration.linger = configuration.linger
        producerConfiguration.deliveryTimeout = configuration.deliveryTimeout
        producerConfiguration.produceTimeout = .seconds(10)
        return KafkaProducer(configuration: producerConfiguration, logger: logger)
    }

    /// The partitions this instance owns now.
    public var currentAssignment: PartitionAssignment { state.withLock { $0.assignment } }

    // MARK: topics

    /// Creates the messages topic (with the current partition count) and the config-changes
    /// topic (one partition) if they are missing, and grows the messages topic if it has fewer
    /// partitions than the partition count.
    public func prepareTopics() async throws {
        let admin = KafkaAdmin(configuration: configuration.client, logger: logger)
        do {
            let count = partitionCount
            for topic in [KafkaNewTopic(name: configuration.topic, partitions: Int32(count), replicationFactor: configuration.replicationFactor),
                          KafkaNewTopic(name: configuration.configTopic, partitions: 1, replicationFactor: configuration.replicationFactor)] {
                // A timed-out request may still have created the topic: the retry then finds it.
                for attempt in 1...3 {
                    do {
                        try await admin.createTopics([topic])
                        break
                    } catch let error as KafkaError where error.code == .topicAlreadyExists {
                        break
                    } catch where attempt < 3 {
                        logger.warning("creating a backplane topic failed; retrying", metadata: ["topic": "\(topic.name)", "error": "\(error)"])
                        try await Task.sleep(for: .milliseconds(500))
                    }
                }
            }
            try await growTopic(admin: admin, to: count)
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }

    private func growTopic(admin: KafkaAdmin, to count: Int) async throws {
        var existing = 0
        for _ in 0..<50 {
            existing = try await admin.describeTopics([configuration.topic]).first?.partitions.count ?? 0
            if existing > 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if existing < count {
            logger.info("growing the messages topic", metadata: ["topic": "\(configuration.topic)", "from": "\(existing)", "to": "\(count)"])
            try await admin.createPartitions([configuration.topic: Int32(count)])
        }
    }

    // MARK: publishing

    public func publish(_ message: Chatwire_BackplaneMessage, completion: @escaping @Sendable ((any Error)?) -> Void) {
        if !outbox.append(Pending(message: message, completion: completion)) {
            completion(BackplaneError(description: "the backplane is shutting down"))
        }
    }

    /// Moves queued messages into the producer, partitioned by target user.
    ///
    /// A message the producer could not deliver within the delivery timeout (the broker stayed
    /// unreachable) is reported Lost; the producer itself then bumps its epoch (KIP-360, or takes
    /// a new producer id), so the messages after it are delivered without duplicates or gaps.
    private func sendLoop() async {
        let topic = configuration.topic
        while let batch = await outbox.next(limit: 4096) {
            let count = state.withLock { $0.assignment.partitionCount }
            for pending in batch {
                let partition = UserPartitioner.partition(of: pending.message.targetUserID, partitionCount: count)
                let bytes: [UInt8]
                do { bytes = try pending.message.serializedBytes() } catch {
                    pending.completion(BackplaneError(description: "cannot encode the message: \(error)"))
                    continue
                }
                let record = KafkaProducerRecord(topic: topic, partition: Int32(partition), key: ByteBuffer(string: String(pending.message.targetUserID)),
                                                 value: ByteBuffer(bytes: bytes))
                let completion = pending.completion
                do {
                    try await producer.enqueue(record, context: pending.context) { [self] result in
                        switch result {
                        case .success:
                            deliveryFailing.store(false, ordering: .relaxed)
                            completion(nil)
                        case .failure(let error):
                            if !deliveryFailing.exchange(true, ordering: .relaxed) {
                                logger.warning("Kafka delivery failed; the message is Lost", metadata: ["error": "\(error)"])
                            }
                            completion(BackplaneError(description: "Kafka produce failed: \(error)"))
                        }
                    }
                } catch {
                    logger.warning("backplane publish refused", metadata: ["error": "\(error)"])
                    completion(BackplaneError(description: "Kafka produce refused: \(error)"))
                }
            }
        }
    }

    // MARK: live consumption

    public func subscribeLive(_ name: String, handler: @escaping @Sendable ([Chatwire_BackplaneMessage]) -> Void) {
        state.withLock { $0.liveHandlers.append(handler) }
    }

    private func commitLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.liveCommitInterval)
            if Task.isCancelled { break }
            do { try await live.commit() } catch { logger.debug("live offset commit failed", metadata: ["error": "\(error)"]) }
        }
    }

    private func liveLoop() async {
        do {
            for try await records in live.batches() {
                let (owned, handlers) = state.withLock { ($0.assignment, $0.liveHandlers) }
                let messages = records.compactMap { Self.decode($0, logger: logger) }.filter { owned.owns(user: $0.targetUserID) }
                guard !messages.isEmpty else { continue }
                // The batch's deliveries reach each connection in one write.
                OutboxDrainBatch.run { ChatTracing.process(records) { for handler in handlers { handler(messages) } } }
            }
        } catch {
            logger.error("live backplane consumer stopped", metadata: ["error": "\(error)"])
        }
    }

    static func decode(_ record: KafkaConsumerRecord, logger: Logger) -> Chatwire_BackplaneMessage? {
        guard let value = record.value else { return nil }
        do {
            return try Chatwire_BackplaneMessage(serializedBytes: Array(value.readableBytesView))
        } catch {
            logger.warning("undecodable backplane record skipped", metadata: ["partition": "\(record.partition)", "offset": "\(record.offset)", "error": "\(error)"])
            return nil
        }
    }

    /// Switches the live consumer to the partitions of `assignment` and the publishers to its
    /// partition count. Positions delivered so far are committed first, so the next owner of a
    /// partition that moves away resumes where this instance stopped; the new partitions start at
    /// the group's committed position (the end of the partition if none). Returns once every
    /// owned partition has a position.
    public func assign(_ assignment: PartitionAssignment) async {
        await assigning.run {
            let previous = state.withLock { s -> PartitionAssignment in
                defer { s.assignment = assignment }
                return s.assignment
            }
            if assignment.partitionCount > previous.partitionCount && previous.partitionCount > 0 {
                let admin = KafkaAdmin(configuration: configuration.client, logger: logger)
                do { try await growTopic(admin: admin, to: assignment.partitionCount) } catch {
                    logger.error("cannot grow the messages topic", metadata: ["error": "\(error)"])
                }
                await admin.shutdown()
            }
            do { try await live.commit() } catch { logger.warning("live offset commit before reassignment failed", metadata: ["error": "\(error)"]) }
            let partitions = assignment.owned.map { KafkaTopicPartition(configuration.topic, Int32($0)) }
            live.assign(Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffsetSpec.committed) }))
            // Wait until every partition has a position, then record it: a later owner resumes here.
            for _ in 0..<200 where partitions.contains(where: { live.position($0) == nil }) {
                try? await Task.sleep(for: .milliseconds(25))
            }
            do { try await live.commit() } catch { logger.debug("initial live offset commit failed", metadata: ["error": "\(error)"]) }
            logger.info("backplane partitions assigned", metadata: ["assignment": "\(assignment)"])
        }
    }

    // MARK: durable consumption

    public func subscribeDurable(_ name: String, fromOffset: Int64, handler: @escaping @Sendable ([Chatwire_BackplaneMessage], Int64) async -> Void) async throws {
        var consumerConfiguration = KafkaConsumerConfiguration(client: configuration.client, groupID: configuration.groupPrefix + name)
        consumerConfiguration.autoOffsetReset = .earliest
        consumerConfiguration.enableAutoCommit = false
        consumerConfiguration.assignors = [KafkaRangeAssignor()]
        consumerConfiguration.sessionTimeout = configuration.sessionTimeout
        consumerConfiguration.heartbeatInterval = .seconds(1)
        consumerConfiguration.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        try consumer.subscribe(topics: [configuration.topic])
        let logger = logger
        let task = Task {
            do {
                for try await records in consumer.batches() {
                    guard let last = records.last else { continue }
                    let messages = records.compactMap { Self.decode($0, logger: logger) }
                    if !messages.isEmpty { await ChatTracing.process(records, group: name) { await handler(messages, last.offset) } }
                    // A handler that gave up because its task was cancelled may not have written the
                    // batch: leave it uncommitted, so the partition's next owner writes it.
                    if Task.isCancelled { break }
                    do {
                        try await consumer.commit([last.topicPartition: last.offset + 1])
                    } catch {
                        // The batch stays uncommitted: after a rebalance its next owner writes it again (idempotently).
                        logger.warning("durable offset commit failed", metadata: ["group": "\(name)", "partition": "\(last.partition)", "error": "\(error)"])
                    }
                }
            } catch {
                logger.error("durable backplane consumer stopped", metadata: ["group": "\(name)", "error": "\(error)"])
            }
        }
        let stopped = state.withLock { s -> Bool in
            if s.shutDown { return true }
            s.durable.append(consumer)
            s.durableTasks.append(task)
            return false
        }
        if stopped {
            task.cancel()
            await consumer.shutdown()
        }
    }

    // MARK: lifecycle

    /// Waits for graceful shutdown, then flushes what is queued and closes every consumer.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops accepting messages, delivers what is queued (or reports it Lost), commits the live
    /// positions and closes the producer and consumers.
    ///
    /// Durable consumers are closed, not cancelled: a history write in progress finishes (a
    /// cancelled store write would fail, and the writer retries until it succeeds), then its loop
    /// ends; its batch's commit may fail on the closed consumer, and the partition's next owner
    /// writes the batch again (idempotently).
    public func shutdown() async {
        let (already, durable, tasks, durableTasks) = state.withLock { s in
            defer { s.shutDown = true }
            return (s.shutDown, s.durable, s.tasks, s.durableTasks)
        }
        if already { return }
        outbox.finish()
        logger.debug("backplane shutdown: draining the outbox")
        await tasks.first?.value  // the sender drains the outbox into the producer
        logger.debug("backplane shutdown: flushing the producer")
        await producer.shutdown()
        logger.debug("backplane shutdown: committing live positions")
        try? await live.commit()
        for task in tasks.dropFirst() { task.cancel() }
        logger.debug("backplane shutdown: closing consumers")
        await live.shutdown()
        for consumer in durable { await consumer.shutdown() }
        logger.debug("backplane shutdown: waiting for the loops")
        // A loop caught in a commit against the closed cluster, or a history write retrying
        // against an unreachable store, must not hold up the process: wait a bounded time, then
        // leave it (the live loops are cancelled; a durable loop keeps retrying its write).
        for task in tasks { task.cancel() }
        let finished = await Self.wait(for: tasks + durableTasks, upTo: .seconds(10))
        logger.debug("backplane shutdown: done", metadata: ["loopsFinished": "\(finished)"])
    }
}

extension KafkaBackplane {
    /// Waits until every task finished or `limit` passed; `true` if they all finished.
    static func wait(for tasks: [Task<Void, Never>], upTo limit: Duration) async -> Bool {
        final class Outcome: Sendable {
            let continuation = Mutex<CheckedContinuation<Bool, Never>?>(nil)
            func resume(_ value: Bool) { continuation.withLock { $0?.resume(returning: value); $0 = nil } }
        }
        let outcome = Outcome()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            outcome.continuation.withLock { $0 = continuation }
            Task {
                for task in tasks { await task.value }
                outcome.resume(true)
            }
            Task {
                try? await Task.sleep(for: limit)
                outcome.resume(false)
            }
        }
    }
}

/// Runs async sections one at a time, in call order.
final class AsyncSerialGate: Sendable {
    private let state = Mutex<(busy: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func run<T: Sendable>(_ body: () async -> T) async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.busy { s.waiters.append(c); return false }
                s.busy = true
                return true
            }
            if now { c.resume() }
        }
        defer {
            let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if s.waiters.isEmpty { s.busy = false; return nil }
                return s.waiters.removeFirst()
            }
            next?.resume()
        }
        return await body()
    }
}
