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
        guard let tracer = configuration.client.observability.activeTracer else { return (record, nil) }
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
            let closed = state.withLock { $0.closed }
            if closed { throw KafkaProducerError.shutDown }
            let mustWait = state.withLock { s in s.bufferedBytes + size > configuration.bufferMemory && s.bufferedBytes > 0 }
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
        let error: (any Error)? = state.withLock { s in
            if s.closed { return KafkaProducerError.shutDown }
            var queue = s.queues.removeValue(forKey: tp) ?? PartitionQueue()
            defer { s.queues[tp] = queue }
            if queue.open == nil { wake = true }  // the sender must learn the new batch's linger deadline
            var batch = queue.open ?? ProducerBatch(tp: tp)
            let size = batch.writer.encodedSize(of: outgoing)
            if batch.writer.recordCount > 0 && batch.writer.sizeInBytes + size > configuration.batchSize {
                queue.ready.append(batch)
                wake = true
                batch = ProducerBatch(tp: tp)
                if record.partition == nil && record.key == nil {
                    // Sticky partitioner: move on when a batch fills.
                    s.sticky[tp.topic] = nil
                }
            }
            if let span { batch.spans.append((Int(batch.writer.recordCount), span)) }
            batch.writer.append(outgoing)
            batch.deliveries.append(delivery)
            if case .discard = delivery {} else { batch.hasDeliveries = true }
            batch.accountedBytes += size
            s.bufferedBytes += size
            s.pendingRecords += 1
            queue.open = batch
            if !s.senderStarted { s.senderStarted = true; startSender = true }
            return nil
        }
        if startSender { Task { await self.senderLoop() } }
        if wake { wakeSender() }
        return error
    }

    // MARK: Sender

    func wakeSender() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.senderWoken = true
            defer { s.senderWaiter = nil }
            return s.senderWaiter
        }
        waiter?.resume()
    }

    struct Drain {
        var byBroker: [Int32: [ProducerBatch]] = [:]
        var missingLeaders: Set<String> = []
        var nextDeadline: ContinuousClock.Instant?
    }

    func collect() -> Drain {
        let now = ContinuousClock.now
        let idempotent = configuration.enableIdempotence
        let perPartition = idempotent ? min(max(configuration.maxInFlightPerPartition, 1), 5) : max(configuration.maxInFlightPerPartition, 1)
        return state.withLock { s in
            var drain = Drain()
            for tp in Array(s.queues.keys) {
                var q = s.queues[tp]!
                if let open = q.open {
                    if s.flushing > 0 || s.closed || now - open.created >= configuration.linger || open.writer.sizeInBytes >= configuration.batchSize {
                        q.ready.append(open)
                        q.open = nil
                        if s.sticky[tp.topic] == tp.partition { s.sticky[tp.topic] = nil }
                    } else {
                        let deadline = open.created + configuration.linger
                        if drain.nextDeadline.map({ deadline < $0 }) ?? true { drain.nextDeadline = deadline }
                    }
                }
                if q.canSend(limit: perPartition, idempotent: idempotent) {
                    if let leader = s.leaders[tp], leader >= 0, !s.needsRefresh.contains(tp.topic) {
                        if s.inFlightPerBroker[leader, default: 0] < configuration.maxInFlightPerBroker {
                            let batch = q.ready.removeFirst()
                            if batch.baseSequence < 0 && idempotent {
                                batch.baseSequence = q.nextSequence
                                q.nextSequence = q.nextSequence &+ batch.writer.recordCount
                                if q.nextSequence < 0 { q.nextSequence = 0 }
                            }
                            q.inFlight += 1
                            drain.byBroker[leader, default: []].append(batch)
                        }
                    } else {
                        drain.missingLeaders.insert(tp.topic)
                    }
                }
                s.queues[tp] = q
            }
            for broker in drain.byBroker.keys { s.inFlightPerBroker[broker, default: 0] += 1 }
            return drain
        }
    }

    func senderLoop() async {
        while true {
            let drain = collect()
            for (broker, batches) in drain.byBroker {
                Task { await self.produce(batches, to: broker) }
            }
            for topic in drain.missingLeaders {
                Task {
                    try? await Task.sleep(for: configuration.client.retryBackoff)
                    await cluster.invalidate(topic: topic)
                    do { try await self.refresh(topic: topic) } catch {
                        logger.debug("metadata refresh failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
                    }
                    self.wakeSender()
                }
            }
            let exit = state.withLock { s in s.closed && s.pendingRecords == 0 }
            if exit { return }
            if !drain.byBroker.isEmpty { continue }
            if let deadline = drain.nextDeadline {
                Task {
                    try? await Task.sleep(until: deadline)
                    self.wakeSender()
                }
            }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.senderWoken || s.closed { s.senderWoken = false; return true }
                    s.senderWaiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    func ensureProducerID() async throws -> (Int64, Int16) {
        let current = state.withLock { ($0.producerID, $0.producerEpoch) }
        if current.0 >= 0 || !configuration.enableIdempotence { return current }
        if let transactions {
            let ids = try await transactions.initialize(producer: self)
            state.withLock { $0.producerID = ids.0; $0.producerEpoch = ids.1 }
            return ids
        }
        let connection = try await cluster.anyConnection()
        let response = try await connection.send(.initProducerId, [
            "TransactionalId": .null, "TransactionTimeoutMs": .int(Int64(configuration.transactionTimeout.components.seconds * 1000)),
            "ProducerId": .int(-1), "ProducerEpoch": .int(-1),
        ])
        try KafkaError.check(response.int16("ErrorCode"), "InitProducerId")
        let ids = (response.int64("ProducerId"), response.int16("ProducerEpoch"))
        state.withLock { s in
            if s.producerID < 0 { s.producerID = ids.0; s.producerEpoch = ids.1 }
        }
        return state.withLock { ($0.producerID, $0.producerEpoch) }
    }

    func produce(_ batches: [ProducerBatch], to broker: Int32) async {
        var retry: [ProducerBatch] = []
        var done: [(ProducerBatch, Result<(Int64, Int64?), any Error>)] = []
        do {
            let (pid, epoch) = try await ensureProducerID()
            if let transactions {
                try await transactions.addPartitions(Set(batches.map(\.tp)), producer: self, producerID: pid, epoch: epoch)
            }
            var topics: [String: [KafkaStruct]] = [:]
            for batch in batches {
                if batch.encoded == nil {
                    if configuration.compression == .none {
                        batch.encoded = batch.writer.finishInPlace(producerID: pid, producerEpoch: epoch, baseSequence: batch.baseSequence,
                                                                   isTransactional: transactions != nil)
                    } else {
                        var out = ByteBuffer()
                        out.reserveCapacity(batch.writer.sizeInBytes / 2)
                        try batch.writer.finish(into: &out, compression: configuration.compression, producerID: pid, producerEpoch: epoch,
                                                baseSequence: batch.baseSequence, isTransactional: transactions != nil)
                        batch.encoded = out
                    }
                }
                topics[batch.tp.topic, default: []].append(["Index": .int(Int64(batch.tp.partition)), "Records": .bytes(batch.encoded!)])
            }
            let body: KafkaStruct = [
                "TransactionalId": .optionalString(configuration.transactionalID),
                "Acks": .int(Int64(configuration.acks.rawValue)),
                "TimeoutMs": .int(Int64(configuration.produceTimeout.components.seconds * 1000)),
                "TopicData": .structs(topics.map { ["Name": .string($0.key), "PartitionData": .structs($0.value)] }),
            ]
            let connection = try await cluster.connection(to: broker)
            if configuration.acks == .none {
                _ = try await connection.sendRaw(.produce, body, version: try connection.version(for: .produce), expectResponse: false)
                for b in batches { done.append((b, .success((-1, nil)))) }
            } else {
                let started = ContinuousClock.now
                let response = try await connection.send(.produce, body)
                observability.time("kafka_producer_request_duration_seconds", since: started, [("broker", "\(broker)")])
                var results: [KafkaTopicPartition: KafkaStruct] = [:]
                for t in response.structs("Responses") {
                    let name = t.string("Name") ?? ""
                    for p in t.structs("PartitionResponses") { results[KafkaTopicPartition(name, p.int32("Index"))] = p }
                }
                for batch in batches {
                    guard let r = results[batch.tp] else {
                        done.append((batch, .failure(KafkaConnectionError.protocolViolation("produce response lacks \(batch.tp)"))))
                        continue
                    }
                    let code = r.int16("ErrorCode")
                    if code == 0 {
                        let logAppend = r.int64("LogAppendTimeMs")
                        done.append((batch, .success((r.int64("BaseOffset"), logAppend >= 0 ? logAppend : nil))))
                    } else if code == KafkaErrorCode.duplicateSequenceNumber.rawValue {
                        done.append((batch, .success((-1, nil))))
                    } else if code == KafkaErrorCode.outOfOrderSequenceNumber.rawValue && batch.baseSequence >= 0
                                && batch.attempts + 1 < configuration.maxAttempts && earlierBatchUnacknowledged(batch) {
                        // An earlier batch of this partition failed or is still in flight: this one is
                        // resent after it, in sequence order.
                        batch.lastError = "outOfOrderSequenceNumber"
                        retry.append(batch)
                    } else {
                        let error = KafkaError(code: code, context: "Produce to \(batch.tp)", message: r.string("ErrorMessage"))
                        if error.code?.invalidatesMetadata == true { markStale(batch.tp.topic) }
                        batch.lastError = error.metricName
                        if error.isRetriable && batch.attempts + 1 < configuration.maxAttempts { retry.append(batch) } else { done.append((batch, .failure(error))) }
                    }
                }
            }
        } catch {
            logger.debug("produce request failed", metadata: ["broker": "\(broker)", "error": "\(error)"])
            let retriable = (error as? KafkaError)?.isRetriable ?? (error is KafkaConnectionError)
            for batch in batches {
                batch.lastError = kafkaErrorName(error)
                if retriable && batch.attempts + 1 < configuration.maxAttempts { retry.append(batch) } else { done.append((batch, .failure(error))) }
            }
            if retriable { for b in batches { markStale(b.tp.topic) } }
        }
        if !retry.isEmpty { try? await Task.sleep(for: configuration.client.retryBackoff) }
        finish(broker: broker, done: done, retry: retry)
    }

    /// Whether a batch before `batch` (lower sequence) of its partition has not been acknowledged yet.
    func earlierBatchUnacknowledged(_ batch: ProducerBatch) -> Bool {
        state.withLock { s in batch.baseSequence > (s.queues[batch.tp]?.lastAckedSequence ?? -1) &+ 1 }
    }

    var observability: KafkaObservability { configuration.client.observability }

    func markStale(_ topic: String) {
        state.withLock { _ = $0.needsRefresh.insert(topic) }
    }

    func finish(broker: Int32, done: [(ProducerBatch, Result<(Int64, Int64?), any Error>)], retry: [ProducerBatch]) {
        var resumeSpace: [CheckedContinuation<Void, Never>] = []
        var resumeFlush: [CheckedContinuation<Void, Never>] = []
        state.withLock { s in
            s.inFlightPerBroker[broker, default: 1] -= 1
            for batch in retry {
                batch.attempts += 1
                s.queues[batch.tp]?.inFlight -= 1
                s.queues[batch.tp]?.requeue(batch)
            }
            for (batch, result) in done {
                s.queues[batch.tp]?.inFlight -= 1
                if case .success = result, batch.baseSequence >= 0, let q = s.queues[batch.tp] {
                    let last = batch.baseSequence &+ batch.writer.recordCount &- 1
                    if last > q.lastAckedSequence { s.queues[batch.tp]?.lastAckedSequence = last }
                }
                s.bufferedBytes -= batch.accountedBytes
                s.pendingRecords -= Int(batch.writer.recordCount)
            }
            if !s.spaceWaiters.isEmpty && s.bufferedBytes < configuration.bufferMemory {
                resumeSpace = s.spaceWaiters
                s.spaceWaiters = []
            }
            if s.pendingRecords == 0 && !s.flushWaiters.isEmpty {
                resumeFlush = s.flushWaiters
                s.flushWaiters = []
                s.flushing = 0
            }
        }
        for batch in retry {
            observability.count("kafka_producer_retries_total", 1, [("topic", batch.tp.topic), ("error", batch.lastError)])
        }
        for (batch, result) in done {
            let topic = [("topic", batch.tp.topic)]
            switch result {
            case .success(let (offset, logAppend)):
                observability.count("kafka_producer_records_total", Int(batch.writer.recordCount), topic)
                observability.count("kafka_producer_bytes_total", batch.encoded?.readableBytes ?? batch.writer.sizeInBytes, topic)
                observability.time("kafka_producer_delivery_duration_seconds", since: batch.created, topic)
                batch.complete(baseOffset: offset, timestamp: logAppend ?? batch.writer.baseTimestamp)
            case .failure(let error):
                observability.count("kafka_producer_errors_total", Int(batch.writer.recordCount), [("topic", batch.tp.topic), ("error", kafkaErrorName(error))])
                batch.fail(error)
            }
        }
        for c in resumeSpace { c.resume() }
        for c in resumeFlush { c.resume() }
        wakeSender()
    }
}

