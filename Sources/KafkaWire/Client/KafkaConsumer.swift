import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tracing

/// A Kafka consumer: group subscription (classic protocol) or manual assignment, records as AsyncSequences.
///
/// ```swift
/// let consumer = KafkaConsumer(configuration: .init(bootstrap: "127.0.0.1:9092", groupID: "history"), logger: logger)
/// try await consumer.subscribe(topics: ["chat"])
/// for try await record in consumer.records() { ... }
/// ```
public final class KafkaConsumer: Service, Sendable {
    /// The settings.
    public let configuration: KafkaConsumerConfiguration
    /// The cluster view.
    public let cluster: KafkaCluster
    let logger: Logger
    let membership: (any KafkaGroupMembership)?
    let state: Mutex<State>

    struct PartitionState {
        var fetchPosition: Int64?
        var consumed: Int64?
        var spec: KafkaOffsetSpec
        var paused = false
        var epoch = 0
        var highWatermark: Int64 = -1
        var fetching = false
    }

    struct Chunk {
        var tp: KafkaTopicPartition
        var epoch: Int
        var records: [KafkaConsumerRecord]
        var bytes: Int
        var nextOffset: Int64
    }

    struct State: ~Copyable {
        var assignment: [KafkaTopicPartition: PartitionState] = [:]
        var buffer: [Chunk] = []
        var bufferHead = 0
        var bufferedBytes = 0
        var reader: CheckedContinuation<Chunk?, any Error>?
        var readerAdvances = true
        var fetchWaiter: CheckedContinuation<Void, Never>?
        var fetchWoken = false
        var closed = false
        var fetchLoopStarted = false
        var groupTask: Task<Void, Never>?
        var failure: (any Error)?
        /// The last epoch handed out. Epochs never repeat within a consumer, so a fetch answer or
        /// a buffered chunk from before a partition was revoked and assigned again (or seeked)
        /// can never pass for the new assignment's (it would skip the records between the
        /// committed offset and its stale position).
        var lastEpoch = 0

        mutating func newPartition(_ spec: KafkaOffsetSpec) -> PartitionState {
            lastEpoch += 1
            return PartitionState(spec: spec, epoch: lastEpoch)
        }
    }

    /// Creates a consumer; nothing happens until ``subscribe(topics:listener:)`` or ``assign(_:)``.
    public init(configuration: KafkaConsumerConfiguration, cluster: KafkaCluster? = nil, logger: Logger) {
        self.configuration = configuration
        let cluster = cluster ?? KafkaCluster(configuration: configuration.client, logger: logger)
        self.cluster = cluster
        self.logger = logger
        self.membership = configuration.groupID.map { KafkaClassicGroupMember(groupID: $0, configuration: configuration, cluster: cluster, logger: logger) }
        self.state = Mutex(State())
    }

    /// Waits for graceful shutdown, then commits (with auto-commit), leaves the group and closes.
    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !state.withLock({ $0.closed }) {
                try? await Task.sleep(for: .seconds(1))
            }
        } onGracefulShutdown: {
            Task { await self.shutdown() }
        }
    }

    /// The group generation/member id, for `KafkaProducer.sendOffsetsToTransaction`.
    public var groupMetadata: KafkaConsumerGroupMetadata? { membership?.metadata }

    /// Currently assigned partitions.
    public var assignment: [KafkaTopicPartition] { state.withLock { Array($0.assignment.keys).sorted() } }

    /// The next offset the application will see for `tp` (what a commit stores).
    public func position(_ tp: KafkaTopicPartition) -> Int64? {
        state.withLock { $0.assignment[tp].flatMap { $0.consumed ?? $0.fetchPosition } }
    }

    /// The high watermark seen in the last fetch of `tp` (-1 before the first fetch).
    public func highWatermark(_ tp: KafkaTopicPartition) -> Int64 {
        state.withLock { $0.assignment[tp]?.highWatermark ?? -1 }
    }

    // MARK: Assignment

    /// Manual assignment: consume exactly these partitions from the given positions (no group rebalancing).
    public func assign(_ partitions: [KafkaTopicPartition: KafkaOffsetSpec]) {
        state.withLock { s in
            for tp in Array(s.assignment.keys) where partitions[tp] == nil { s.assignment[tp] = nil }
            for (tp, spec) in partitions { s.assignment[tp] = s.newPartition(spec) }
            s.buffer.removeAll { partitions[$0.tp] == nil }
            s.bufferHead = min(s.bufferHead, s.buffer.count)
        }
        startFetching()
    }

    /// Subscribes to `topics` as a member of the configured group; partitions come from the group's assignor.
    public func subscribe(topics: [String], listener: KafkaRebalanceListener = KafkaRebalanceListener()) throws {
        guard let membership else { throw KafkaConsumerError.noGroupID }
        let task = Task { await self.groupLoop(membership: membership, topics: topics, listener: listener) }
        state.withLock { $0.groupTask = task }
        startFetching()
    }

    /// Moves the fetch position of `tp`; buffered records of `tp` are dropped.
    public func seek(_ tp: KafkaTopicPartition, to spec: KafkaOffsetSpec) throws {
        try state.withLock { s in
            guard var p = s.assignment[tp] else { throw KafkaConsumerError.notAssigned(tp) }
            s.lastEpoch += 1
            p.epoch = s.lastEpoch
            p.spec = spec
            p.fetchPosition = nil
            p.consumed = nil
            p.fetching = false
            if case .offset(let o) = spec { p.fetchPosition = o; p.consumed = o }
            s.assignment[tp] = p
            s.buffer.removeAll { $0.tp == tp }
            s.bufferHead = min(s.bufferHead, s.buffer.count)
        }
        wakeFetcher()
    }

    /// Moves the fetch position of `tp` to `offset`.
    public func seek(_ tp: KafkaTopicPartition, to offset: Int64) throws { try seek(tp, to: .offset(offset)) }

    /// Stops fetching `partitions` (already buffered records are still delivered).
    public func pause(_ partitions: [KafkaTopicPartition]) {
        state.withLock { s in for tp in partitions { s.assignment[tp]?.paused = true } }
    }

    /// Resumes fetching `partitions`.
    public func resume(_ partitions: [KafkaTopicPartition]) {
        state.withLock { s in for tp in partitions { s.assignment[tp]?.paused = false } }
        wakeFetcher()
    }

    // MARK: Consuming

    /// Records one at a time.
    public func records() -> KafkaConsumerRecords { KafkaConsumerRecords(consumer: self) }

    /// Records in batches (one fetched chunk of one partition at a time).
    public func batches() -> KafkaConsumerBatches { KafkaConsumerBatches(consumer: self) }

    /// Records that the application has seen everything before `offset` in `chunk`'s partition.
    func markConsumed(_ tp: KafkaTopicPartition, epoch: Int, offset: Int64) {
        state.withLock { s in
            if s.assignment[tp]?.epoch == epoch { s.assignment[tp]?.consumed = offset }
        }
    }

    func nextChunk(advance: Bool = true) async throws -> Chunk? {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Chunk?, any Error>) in
            let result: Result<Chunk?, any Error>? = state.withLock { s in
                if let chunk = s.popChunk(advance: advance) { return .success(chunk) }
                if let failure = s.failure { s.failure = nil; return .failure(failure) }
                if s.closed { return .success(nil) }
                s.reader = c
                s.readerAdvances = advance
                return nil
            }
            if let result {
                c.resume(with: result)
                wakeFetcher()
            }
        }
    }

    // MARK: Committing

    /// The consumed positions of all assigned partitions.
    public func consumedOffsets() -> [KafkaTopicPartition: Int64] {
        state.withLock { s in
            var out: [KafkaTopicPartition: Int64] = [:]
            for (tp, p) in s.assignment { if let c = p.consumed { out[tp] = c } }
            return out
        }
    }

    /// Commits the consumed positions and waits for the broker.
    public func commit() async throws {
        try await commit(consumedOffsets())
    }

    /// Commits explicit offsets (the next offset to read) and waits for the broker.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
        guard let groupID = configuration.groupID else { throw KafkaConsumerError.noGroupID }
        guard !offsets.isEmpty else { return }
        let meta = membership?.metadata ?? KafkaConsumerGroupMetadata(groupID: groupID)
        var attempts = 0
        while true {
            attempts += 1
            let coordinator = try await cluster.coordinator(for: groupID, type: .group)
            let byTopic = Dictionary(grouping: offsets, by: \.key.topic)
            let response = try await coordinator.send(.offsetCommit, [
                "GroupId": .string(groupID), "GenerationIdOrMemberEpoch": .int(Int64(meta.generationID)), "MemberId": .string(meta.memberID),
                "GroupInstanceId": .optionalString(meta.groupInstanceID), "RetentionTimeMs": .int(-1),
                "Topics": .structs(byTopic.map { t in
                    ["Name": .string(t.key), "Partitions": .structs(t.value.map { ["PartitionIndex": .int(Int64($0.key.partition)), "CommittedOffset": .int($0.value), "CommittedLeaderEpoch": .int(-1), "CommittedMetadata": .string("")] })]
                }),
            ])
            var firstError: Int16 = 0
            for t in response.structs("Topics") { for p in t.structs("Partitions") where p.int16("ErrorCode") != 0 { firstError = p.int16("ErrorCode") } }
            if firstError == 0 { return }
            let error = KafkaError(code: firstError, context: "OffsetCommit(\(groupID))")
            if error.code?.invalidatesCoordinator == true { await cluster.invalidateCoordinator(for: groupID, type: .group) }
            guard error.isRetriable, attempts < 20 else { throw error }
            try await Task.sleep(for: configuration.client.retryBackoff)
        }
    }

    /// Commits the consumed positions in the background; `completion` receives the outcome.
    public func commitAsync(completion: (@Sendable ((any Error)?) -> Void)? = nil) {
        let offsets = consumedOffsets()
        Task {
            do { try await self.commit(offsets); completion?(nil) } catch { completion?(error) }
        }
    }

    /// The group's committed offsets for `partitions` (absent when none is committed).
    public func committed(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        guard let groupID = configuration.groupID else { throw KafkaConsumerError.noGroupID }
        return try await KafkaOffsetLookup.committed(cluster: cluster, groupID: groupID, partitions: partitions, requireStable: configuration.isolationLevel == .readCommitted)
    }

    /// Commits (with auto-commit), leaves the group and closes connections. Iterators finish.
    public func shutdown() async {
        let (task, alreadyClosed) = state.withLock { s in
            defer { s.closed = true }
            return (s.groupTask, s.closed)
        }
        if alreadyClosed { return }
        task?.cancel()
        await task?.value
        if configuration.enableAutoCommit && configuration.groupID != nil { try? await commit() }
        await membership?.leave()
        let (reader, waiter) = state.withLock { s in
            defer { s.reader = nil; s.fetchWaiter = nil }
            return (s.reader, s.fetchWaiter)
        }
        reader?.resume(returning: nil)
        waiter?.resume()
        await cluster.shutdown()
    }

    // MARK: Group loop

    func groupLoop(membership: any KafkaGroupMembership, topics: [String], listener: KafkaRebalanceListener) async {
        var owned: [KafkaTopicPartition] = []
        var lastCommit = ContinuousClock.now
        while !Task.isCancelled {
            if !membership.isCooperative && !owned.isEmpty {
                await revoke(owned, listener: listener)
                owned = []
            }
            let assigned: [KafkaTopicPartition]
            do {
                assigned = try await membership.join(topics: topics, owned: owned)
            } catch {
                if Task.isCancelled { break }
                logger.warning("group join failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            let revoked = Set(owned).subtracting(assigned)
            let added = Set(assigned).subtracting(owned)
            if !revoked.isEmpty { await revoke(Array(revoked).sorted(), listener: listener) }
            if !added.isEmpty {
                state.withLock { s in for tp in added { s.assignment[tp] = s.newPartition(.committed) } }
                wakeFetcher()
                await listener.onAssigned(Array(added).sorted())
            }
            owned = assigned
            // Cooperative protocol: having given partitions up, the member rejoins so they can be
            // handed to others. It does so on its next heartbeat tick, not within microseconds of its
            // own SyncGroup: the other members' SyncGroup answers for this generation must go out
            // first. noida-db 0.2.3 otherwise leaves a follower's SyncGroup unanswered when the
            // rejoin arrives right behind the leader's SyncGroup, and waits out the rebalance timeout
            // for that follower (seen as a group balancing 10+ s late). Java and librdkafka rejoin
            // on their next poll, which has the same effect.
            var rejoinAfterTick = membership.isCooperative && !revoked.isEmpty
            // Heartbeat until a rebalance is needed.
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.heartbeatInterval)
                if Task.isCancelled { break }
                if rejoinAfterTick {
                    rejoinAfterTick = false
                    break
                }
                do {
                    try await membership.heartbeat()
                } catch is KafkaGroupRebalanceNeeded {
                    break
                } catch {
                    logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
                    continue
                }
                if configuration.enableAutoCommit && ContinuousClock.now - lastCommit >= configuration.autoCommitInterval {
                    lastCommit = .now
                    try? await commit()
                }
            }
        }
    }

    func revoke(_ partitions: [KafkaTopicPartition], listener: KafkaRebalanceListener) async {
        if configuration.enableAutoCommit {
            let offsets = consumedOffsets().filter { partitions.contains($0.key) }
            try? await commit(offsets)
        }
        await listener.onRevoked(partitions)
        state.withLock { s in
            let gone = Set(partitions)
            for tp in partitions { s.assignment[tp] = nil }
            s.buffer.removeAll { gone.contains($0.tp) }
            s.bufferHead = min(s.bufferHead, s.buffer.count)
        }
    }

    // MARK: Fetching

    func startFetching() {
        let start = state.withLock { s -> Bool in
            if s.fetchLoopStarted { return false }
            s.fetchLoopStarted = true
            return true
        }
        if start { Task { await self.fetchLoop() } } else { wakeFetcher() }
    }

    func wakeFetcher() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.fetchWoken = true
            defer { s.fetchWaiter = nil }
            return s.fetchWaiter
        }
        waiter?.resume()
    }

    func waitForFetchWork(timeout: Duration) async {
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self.wakeFetcher() }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.fetchWoken || s.closed { s.fetchWoken = false; return true }
                s.fetchWaiter = c
                return false
            }
            if now { c.resume() }
        }
        timer.cancel()
    }

    func fetchLoop() async {
        while !state.withLock({ $0.closed }) {
            await resolvePositions()
            let (fetchable, full) = state.withLock { s -> ([KafkaTopicPartition: (Int64, Int)], Bool) in
                var out: [KafkaTopicPartition: (Int64, Int)] = [:]
                for (tp, p) in s.assignment where !p.paused && !p.fetching {
                    if let pos = p.fetchPosition { out[tp] = (pos, p.epoch) }
                }
                return (out, s.bufferedBytes >= configuration.maxBufferedBytes)
            }
            if fetchable.isEmpty || full {
                await waitForFetchWork(timeout: .milliseconds(100))
                continue
            }
            var byLeader: [Int32: [KafkaTopicPartition: (Int64, Int)]] = [:]
            for (tp, value) in fetchable {
                do {
                    let leader = try await cluster.leader(for: tp)
                    byLeader[leader, default: [:]][tp] = value
                } catch {
                    logger.debug("no leader", metadata: ["partition": "\(tp)", "error": "\(error)"])
                    await cluster.invalidate(topic: tp.topic)
                }
            }
            if byLeader.isEmpty { await waitForFetchWork(timeout: configuration.client.retryBackoff); continue }
            await withTaskGroup(of: Void.self) { group in
                for (leader, partitions) in byLeader {
                    group.addTask { await self.fetch(from: leader, partitions: partitions) }
                }
            }
        }
    }

    func fetch(from leader: Int32, partitions: [KafkaTopicPartition: (Int64, Int)]) async {
        do {
            let connection = try await cluster.connection(to: leader)
            var version = try connection.version(for: .fetch)
            var ids: [String: KafkaUUID] = [:]
            if version >= 13 {
                for topic in Set(partitions.keys.map(\.topic)) { ids[topic] = try await cluster.metadata(for: topic).topicID }
                if ids.values.contains(.zero) { version = 12 }
            }
            let names = Dictionary(ids.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
            let byTopic = Dictionary(grouping: partitions, by: \.key.topic)
            let body: KafkaStruct = [
                "ReplicaId": .int(-1), "MaxWaitMs": .int(KafkaClassicGroupMember.millis(configuration.fetchMaxWait)),
                "MinBytes": .int(Int64(configuration.fetchMinBytes)), "MaxBytes": .int(Int64(configuration.fetchMaxBytes)),
                "IsolationLevel": .int(Int64(configuration.isolationLevel.rawValue)), "SessionId": .int(0), "SessionEpoch": .int(-1),
                "Topics": .structs(byTopic.map { t in
                    ["Topic": .string(t.key), "TopicId": .uuid(ids[t.key] ?? .zero),
                     "Partitions": .structs(t.value.map { ["Partition": .int(Int64($0.key.partition)), "FetchOffset": .int($0.value.0),
                                                           "PartitionMaxBytes": .int(Int64(configuration.partitionMaxBytes)), "CurrentLeaderEpoch": .int(-1), "LogStartOffset": .int(-1)] })]
                }),
                "ForgottenTopicsData": [], "RackId": "",
            ]
            let timeout = configuration.client.requestTimeout + configuration.fetchMaxWait
            let started = ContinuousClock.now
            let response = try await connection.send(.fetch, body, version: version, timeout: timeout)
            observability.time("kafka_consumer_fetch_duration_seconds", since: started, [("broker", "\(leader)")])
            let top = response.int16("ErrorCode")
            if top != 0 { throw KafkaError(code: top, context: "Fetch") }
            var chunks: [Chunk] = []
            for t in response.structs("Responses") {
                let topic = version >= 13 ? (names[t.uuid("TopicId")] ?? "") : (t.string("Topic") ?? "")
                for p in t.structs("Partitions") {
                    let tp = KafkaTopicPartition(topic, p.int32("PartitionIndex"))
                    guard let entry = partitions[tp] else { continue }
                    let (position, epoch) = entry
                    let code = p.int16("ErrorCode")
                    if code == KafkaErrorCode.offsetOutOfRange.rawValue {
                        state.withLock { s in
                            if s.assignment[tp]?.epoch == epoch { s.assignment[tp]?.fetchPosition = nil; s.assignment[tp]?.spec = self.resetSpec }
                        }
                        continue
                    }
                    if code != 0 {
                        observability.count("kafka_consumer_errors_total", 1, [("error", KafkaError(code: code, context: "").metricName)])
                        if KafkaErrorCode(rawValue: code)?.invalidatesMetadata == true { await cluster.invalidate(topic: topic) }
                        continue
                    }
                    let hwm = p.int64("HighWatermark")
                    state.withLock { $0.assignment[tp]?.highWatermark = hwm }
                    let partitionDimensions = [("topic", tp.topic), ("partition", "\(tp.partition)")]
                    guard let records = p.bytes("Records"), records.readableBytes > 0 else {
                        if hwm >= 0 { observability.gauge("kafka_consumer_lag", max(hwm - position, 0), partitionDimensions) }
                        continue
                    }
                    let batches = try KafkaRecordBatchDecoder.decode(records)
                    if let chunk = Self.makeChunk(tp: tp, epoch: epoch, position: position, batches: batches, aborted: p.structs("AbortedTransactions"),
                                                  readCommitted: configuration.isolationLevel == .readCommitted, size: records.readableBytes) {
                        observability.count("kafka_consumer_records_total", chunk.records.count, [("topic", tp.topic)])
                        observability.count("kafka_consumer_bytes_total", records.readableBytes, [("topic", tp.topic)])
                        if hwm >= 0 { observability.gauge("kafka_consumer_lag", max(hwm - chunk.nextOffset, 0), partitionDimensions) }
                        chunks.append(chunk)
                    }
                }
            }
            deliver(chunks)
        } catch {
            observability.count("kafka_consumer_errors_total", 1, [("error", kafkaErrorName(error))])
            logger.debug("fetch failed", metadata: ["broker": "\(leader)", "error": "\(error)"])
            for tp in partitions.keys { await cluster.invalidate(topic: tp.topic) }
            try? await Task.sleep(for: configuration.client.retryBackoff)
        }
    }

    var observability: KafkaObservability { configuration.client.observability }

    /// The trace context a producer injected into `record`'s headers (top-level when none, or when
    /// tracing is off): parent the application's processing spans on it.
    public func traceContext(of record: KafkaConsumerRecord) -> ServiceContext {
        var context = ServiceContext.topLevel
        (observability.tracer ?? InstrumentationSystem.tracer).extract(record.headers, into: &context, using: KafkaHeadersExtractor())
        return context
    }

    /// Records a `receive <topic>` consumer span per record handed to the application, each a child of
    /// the context extracted from the record's headers.
    func traceDelivery(_ records: some Collection<KafkaConsumerRecord>) {
        guard let tracer = observability.activeTracer else { return }
        for record in records {
            var context = ServiceContext.topLevel
            tracer.extract(record.headers, into: &context, using: KafkaHeadersExtractor())
            let span = tracer.startSpan("receive \(record.topic)", context: context, ofKind: .consumer)
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.operation.type"] = "receive"
            span.attributes["messaging.destination.name"] = record.topic
            span.attributes["messaging.destination.partition.id"] = "\(record.partition)"
            span.attributes["messaging.kafka.offset"] = Int(record.offset)
            span.end()
        }
    }

    var resetSpec: KafkaOffsetSpec {
        switch configuration.autoOffsetReset {
        case .earliest: .earliest
        case .latest: .latest
        case .none: .committed
        }
    }

    static func makeChunk(tp: KafkaTopicPartition, epoch: Int, position: Int64, batches: [KafkaRecordBatch], aborted: [KafkaStruct], readCommitted: Bool, size: Int) -> Chunk? {
        guard !batches.isEmpty else { return nil }
        var abortedList = aborted.map { ($0.int64("ProducerId"), $0.int64("FirstOffset")) }.sorted { $0.1 < $1.1 }
        var active = Set<Int64>()
        var out: [KafkaConsumerRecord] = []
        out.reserveCapacity(batches.reduce(0) { $0 + $1.records.count })
        var next = position
        for batch in batches {
            next = max(next, batch.lastOffset + 1)
            if readCommitted {
                while let first = abortedList.first, first.1 <= batch.lastOffset { active.insert(first.0); abortedList.removeFirst() }
                if batch.isControl {
                    if batch.controlType == .abort { active.remove(batch.producerID) }
                    continue
                }
                if batch.isTransactional && active.contains(batch.producerID) { continue }
            }
            if batch.isControl { continue }
            let records = batch.records
            for index in records.indices where records.offset(at: index) >= position {
                out.append(KafkaConsumerRecord(topic: tp.topic, partition: tp.partition, record: records[index]))
            }
        }
        return Chunk(tp: tp, epoch: epoch, records: out, bytes: size, nextOffset: next)
    }

    func deliver(_ chunks: [Chunk]) {
        let (reader, chunk): (CheckedContinuation<Chunk?, any Error>?, Chunk?) = state.withLock { s in
            for chunk in chunks {
                guard var p = s.assignment[chunk.tp], p.epoch == chunk.epoch else { continue }
                p.fetchPosition = chunk.nextOffset
                s.assignment[chunk.tp] = p
                if chunk.records.isEmpty {
                    if p.consumed == nil || s.buffer[s.bufferHead...].allSatisfy({ $0.tp != chunk.tp }) { s.assignment[chunk.tp]?.consumed = chunk.nextOffset }
                    continue
                }
                s.buffer.append(chunk)
                s.bufferedBytes += chunk.bytes
            }
            guard let reader = s.reader, let next = s.popChunk(advance: s.readerAdvances) else { return (nil, nil) }
            s.reader = nil
            return (reader, next)
        }
        if let reader { reader.resume(returning: chunk) }
    }

    /// Resolves positions of partitions that have none (committed offset, earliest or latest).
    func resolvePositions() async {
        let pending = state.withLock { s in s.assignment.filter { $0.value.fetchPosition == nil }.map { ($0.key, $0.value.spec, $0.value.epoch) } }
        guard !pending.isEmpty else { return }
        var committed: [KafkaTopicPartition: Int64] = [:]
        let needCommitted = pending.filter { $0.1 == .committed }.map(\.0)
        if !needCommitted.isEmpty, let groupID = configuration.groupID {
            do {
                committed = try await KafkaOffsetLookup.committed(cluster: cluster, groupID: groupID, partitions: needCommitted, requireStable: configuration.isolationLevel == .readCommitted)
            } catch {
                logger.debug("OffsetFetch failed", metadata: ["error": "\(error)"])
                return
            }
        }
        var specs: [KafkaTopicPartition: KafkaOffsetSpec] = [:]
        var resolved: [KafkaTopicPartition: Int64] = [:]
        for (tp, spec, _) in pending {
            switch spec {
            case .offset(let o): resolved[tp] = o
            case .committed:
                if let c = committed[tp] { resolved[tp] = c } else {
                    switch configuration.autoOffsetReset {
                    case .earliest: specs[tp] = .earliest
                    case .latest: specs[tp] = .latest
                    case .none:
                        state.withLock { s in if s.failure == nil { s.failure = KafkaConsumerError.noOffset(tp) } }
                    }
                }
            case .earliest, .latest: specs[tp] = spec
            }
        }
        if !specs.isEmpty {
            do {
                let offsets = try await KafkaOffsetLookup.listOffsets(cluster: cluster, specs.mapValues { $0 == .earliest ? Int64(-2) : Int64(-1) }, isolation: configuration.isolationLevel)
                resolved.merge(offsets) { a, _ in a }
            } catch {
                logger.debug("ListOffsets failed", metadata: ["error": "\(error)"])
            }
        }
        state.withLock { s in
            for (tp, _, epoch) in pending {
                guard let o = resolved[tp], s.assignment[tp]?.epoch == epoch else { continue }
                s.assignment[tp]?.fetchPosition = o
                if s.assignment[tp]?.consumed == nil { s.assignment[tp]?.consumed = o }
            }
        }
    }
}

extension KafkaConsumer.State {
    mutating func popChunk(advance: Bool) -> KafkaConsumer.Chunk? {
        while bufferHead < buffer.count {
            let chunk = buffer[bufferHead]
            bufferHead += 1
            if bufferHead > 64 && bufferHead * 2 > buffer.count {
                buffer.removeFirst(bufferHead)
                bufferHead = 0
            }
            bufferedBytes -= chunk.bytes
            guard let p = assignment[chunk.tp], p.epoch == chunk.epoch else { continue }
            if advance { assignment[chunk.tp]?.consumed = chunk.nextOffset }
            return chunk
        }
        return nil
    }
}

/// Records of a ``KafkaConsumer`` one by one.
public struct KafkaConsumerRecords: AsyncSequence, Sendable {
    let consumer: KafkaConsumer
    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var current: KafkaConsumer.Chunk?
        var index = 0
        /// The next record; nil after shutdown. The consumed position (what ``KafkaConsumer/commit()``
        /// stores) advances past each record returned.
        public mutating func next() async throws -> KafkaConsumerRecord? {
            while index >= (current?.records.count ?? 0) {
                if let done = current { consumer.markConsumed(done.tp, epoch: done.epoch, offset: done.nextOffset) }
                guard let chunk = try await consumer.nextChunk(advance: false) else { return nil }
                current = chunk
                index = 0
            }
            let record = current!.records[index]
            index += 1
            consumer.markConsumed(record.topicPartition, epoch: current!.epoch, offset: record.offset + 1)
            consumer.traceDelivery(CollectionOfOne(record))
            return record
        }
    }
    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}

/// Records of a ``KafkaConsumer`` in batches (one fetched chunk of one partition each).
public struct KafkaConsumerBatches: AsyncSequence, Sendable {
    let consumer: KafkaConsumer
    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        /// The next batch; nil after shutdown.
        public mutating func next() async throws -> [KafkaConsumerRecord]? {
            guard let records = try await consumer.nextChunk()?.records else { return nil }
            consumer.traceDelivery(records)
            return records
        }
    }
    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}
