import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing
import WireCore

/// An asynchronous Kafka producer: batching per partition, idempotence, transactions.
///
/// ```swift
/// let producer = KafkaProducer(configuration: .init(bootstrap: "127.0.0.1:9092"), logger: logger)
/// let metadata = try await producer.send(KafkaProducerRecord(topic: "chat", key: "user-1", value: "hello"))
/// await producer.shutdown()
/// ```
///
/// As a ServiceLifecycle `Service`, ``run()`` waits for graceful shutdown, then flushes and closes.
public final class KafkaProducer: Service, Sendable {
    /// The settings.
    public let configuration: KafkaProducerConfiguration
    /// The cluster view (shared with ``KafkaAdmin`` or consumers if passed in).
    public let cluster: KafkaCluster
    let logger: Logger
    let state: Mutex<State>
    let transactions: KafkaTransactionManager?

    struct State: ~Copyable {
        var queues: [KafkaTopicPartition: PartitionQueue] = [:]
        var partitionCounts: [String: Int32] = [:]
        var leaders: [KafkaTopicPartition: Int32] = [:]
        var sticky: [String: Int32] = [:]
        var roundRobin: UInt32 = 0
        var bufferedBytes = 0
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var flushWaiters: [CheckedContinuation<Void, Never>] = []
        var inFlightPerBroker: [Int32: Int] = [:]
        var pendingRecords = 0
        var flushing = 0
        var closed = false
        var senderWaiter: CheckedContinuation<Void, Never>?
        var senderWoken = false
        var senderStarted = false
        var producerID: Int64 = -1
        var producerEpoch: Int16 = -1
        var needsRefresh: Set<String> = []
        /// A batch failed or the broker rejected our producer state: the idempotent producer must
        /// bump its epoch (and restart its sequences) before sending new batches.
        var epochBumpRequired = false
        /// The bump (InitProducerId) is running.
        var bumping = false
        /// The instant a timer will wake the sender at (one timer at a time).
        var wakeAt: ContinuousClock.Instant?
    }

    /// Creates a producer. Connections open on first use.
    public init(configuration: KafkaProducerConfiguration, cluster: KafkaCluster? = nil, logger: Logger) {
        var configuration = configuration
        if configuration.transactionalID != nil { configuration.enableIdempotence = true }
        if configuration.enableIdempotence { configuration.acks = .all }
        self.configuration = configuration
        self.cluster = cluster ?? KafkaCluster(configuration: configuration.client, logger: logger)
        self.logger = logger
        self.state = Mutex(State())
        self.transactions = configuration.transactionalID.map { KafkaTransactionManager(transactionalID: $0) }
    }

    /// Waits for graceful shutdown, then flushes and closes.
    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !state.withLock({ $0.closed }) {
                try? await Task.sleep(for: .seconds(1))
            }
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
    }

    // MARK: Sending

    /// Sends a record and waits until the broker acknowledged it.
    public func send(_ record: KafkaProducerRecord) async throws -> KafkaRecordMetadata {
        let tp = try await resolvePartition(record)
        try await waitForSpace(record)
        let (record, span) = startSpan(record, tp)
        return try await withCheckedThrowingContinuation { continuation in
            if let error = append(record, to: tp, delivery: .continuation(continuation), span: span) {
                span?.end()
                continuation.resume(throwing: error)
            }
        }
    }

    /// Starts the producer span of `record` (when tracing is on) and injects its context into the headers.
    func startSpan(_ record: KafkaProducerRecord, _ tp: KafkaTopicPartition) -> (KafkaProducerRecord, (any Span)?) {
        guard let tracer = observability.activeTracer else { return (record, nil) }
        var record = record
        let span = tracer.startSpan("send \(record.topic)", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        span.attributes["messaging.system"] = "kafka"
        span.attributes["messaging.operation.type"] = "send"
        span.attributes["messaging.destination.name"] = record.topic
        span.attributes["messaging.destination.partition.id"] = "\(tp.partition)"
        tracer.inject(span.context, into: &record.headers, using: KafkaHeadersInjector())
        return (record, span)
    }

    /// Accepts a record into the buffer and returns without waiting for delivery (waits only when the
    /// buffer is full). `onDelivery` is called once the broker acknowledged or the send failed.
    public func enqueue(_ record: KafkaProducerRecord, onDelivery: (@Sendable (Result<KafkaRecordMetadata, any Error>) -> Void)? = nil) async throws {
        let tp = try await resolvePartition(record)
        try await waitForSpace(record)
        let (record, span) = startSpan(record, tp)
        if let error = append(record, to: tp, delivery: onDelivery.map { .callback($0) } ?? .discard, span: span) {
            span?.end()
            throw error
        }
    }

    /// Sends everything buffered and waits until all of it is acknowledged or failed.
    public func flush() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if s.pendingRecords == 0 { return true }
                s.flushing += 1
                s.flushWaiters.append(c)
                return false
            }
            if done { c.resume() } else { wakeSender() }
        }
    }

    /// Flushes, then closes connections. Records sent afterwards fail with ``KafkaProducerError/shutDown``.
    public func shutdown() async {
        await flush()
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.senderWaiter = nil }
            return s.senderWaiter
        }
        waiter?.resume()
        await cluster.shutdown()
    }

    func resolvePartition(_ record: KafkaProducerRecord) async throws -> KafkaTopicPartition {
        if let p = record.partition {
            if state.withLock({ $0.partitionCounts[record.topic] }) == nil { try await refresh(topic: record.topic) }
            return KafkaTopicPartition(record.topic, p)
        }
        var count = state.withLock { $0.partitionCounts[record.topic] }
        if count == nil {
            try await refresh(topic: record.topic)
            count = state.withLock { $0.partitionCounts[record.topic] }
        }
        guard let count, count > 0 else { throw KafkaError(.unknownTopicOrPartition, context: "topic \(record.topic)") }
        if let key = record.key {
            return KafkaTopicPartition(record.topic, KafkaPartitioner.murmur2Partition(key: key, partitionCount: count))
        }
        let p = state.withLock { s -> Int32 in
            if let p = s.sticky[record.topic] { return p }
            s.roundRobin &+= 1
            let p = Int32(s.roundRobin % UInt32(count))
            s.sticky[record.topic] = p
            return p
        }
        return KafkaTopicPartition(record.topic, p)
    }

    func refresh(topic: String) async throws {
        let meta = try await cluster.metadata(for: topic, allowAutoCreate: true)
        state.withLock { s in
            s.partitionCounts[topic] = Int32(meta.partitions.count)
            for p in meta.partitions { s.leaders[KafkaTopicPartition(topic, p.partition)] = p.leader }
            s.needsRefresh.remove(topic)
        }
    }

    func waitForSpace(_ record: KafkaProducerRecord) async throws {
        let size = (record.key?.readableBytes ?? 0) + (record.value?.readableBytes ?? 0) + 32
        guard size <= configuration.bufferMemory else { throw KafkaProducerError.recordTooLarge(size) }
        while true {
            let (closed, mustWait) = state.withLock { s in (s.closed, s.bufferedBytes + size > configuration.bufferMemory && s.bufferedBytes > 0) }
            if closed { throw KafkaProducerError.shutDown }
            if !mustWait { return }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.bufferedBytes + size <= configuration.bufferMemory || s.bufferedBytes == 0 || s.closed { return true }
                    s.spaceWaiters.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    func append(_ record: KafkaProducerRecord, to tp: KafkaTopicPartition, delivery: KafkaDelivery, span: (any Span)? = nil) -> (any Error)? {
        let timestamp = record.timestamp ?? KafkaClock.nowMillis()
        let outgoing = KafkaOutgoingRecord(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        var wake = false
        var startSender = false
        let batchSize = configuration.batchSize, deliveryTimeout = configuration.deliveryTimeout
        let error: (any Error)? = state.withLock { s in
            if s.closed { return KafkaProducerError.shutDown }
            // One hash lookup, the queue mutated in place.
            let added = s.queues[tp, default: PartitionQueue()].append(outgoing, tp: tp, delivery: delivery, span: span,
                                                                      batchSize: batchSize, deliveryTimeout: deliveryTimeout)
            wake = added.wake
            if added.closedFull && record.partition == nil && record.key == nil {
                // Sticky partitioner: move on when a batch fills.
                s.sticky[tp.topic] = nil
            }
            s.bufferedBytes += added.size
            s.pendingRecords += 1
            if !s.senderStarted { s.senderStarted = true; startSender = true }
            return nil
        }
        if startSender { Task { await self.senderLoop() } }
        if wake { wakeSender() }
        return error
    }
}
