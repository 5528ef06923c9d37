import NIOCore
import Logging
import Synchronization

/// The consumer group state a transaction commits offsets for (`KafkaConsumer.groupMetadata`).
public struct KafkaConsumerGroupMetadata: Sendable, Hashable {
    /// Group id.
    public var groupID: String
    /// Generation id (-1 when unknown).
    public var generationID: Int32
    /// Member id ("" when unknown).
    public var memberID: String
    /// Static member instance id.
    public var groupInstanceID: String?
    /// Creates group metadata.
    public init(groupID: String, generationID: Int32 = -1, memberID: String = "", groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

/// Transaction bookkeeping of a transactional producer.
final class KafkaTransactionManager: Sendable {
    let transactionalID: String
    struct State {
        var inTransaction = false
        var partitions: Set<KafkaTopicPartition> = []
        var offsetsAdded = false
        /// A record of the open transaction failed: it cannot commit; aborting it bumps the epoch.
        var failure: String?
    }
    let state = Mutex(State())

    /// Notes that a record sent in the open transaction failed.
    func recordFailure(_ error: any Error) {
        state.withLock { s in if s.inTransaction && s.failure == nil { s.failure = "\(error)" } }
    }

    /// Whether a record of the open transaction failed.
    var hasFailed: Bool { state.withLock { $0.failure != nil } }

    init(transactionalID: String) {
        self.transactionalID = transactionalID
    }

    /// InitProducerId for the transactional id. With `current` (after a failed record) it bumps that
    /// producer's epoch (KIP-360, v3+; older brokers get -1/-1, which also aborts the open
    /// transaction and bumps the epoch). A broker that cannot do the KIP-360 bump (Tansu 0.6 answers
    /// UNKNOWN_SERVER_ERROR) is asked again with -1/-1: the same re-initialisation
    /// ``KafkaProducer/initTransactions()`` does. Fencing errors are never retried that way (another
    /// producer with this transactional id took over).
    func initialize(producer: KafkaProducer, current: (Int64, Int16)? = nil) async throws -> (Int64, Int16) {
        var attempt = 0
        var useCurrent = current != nil
        while true {
            let coordinator = try await producer.cluster.coordinator(for: transactionalID, type: .transaction)
            let withCurrent = try useCurrent && coordinator.version(for: .initProducerId) >= 3
            let response = try await coordinator.send(.initProducerId, [
                "TransactionalId": .string(transactionalID),
                "TransactionTimeoutMs": .int(Int64(producer.configuration.transactionTimeout.components.seconds * 1000)),
                "ProducerId": .int(withCurrent ? current!.0 : -1), "ProducerEpoch": .int(withCurrent ? Int64(current!.1) : -1),
            ])
            let code = response.int16("ErrorCode")
            if code == 0 { return (response.int64("ProducerId"), response.int16("ProducerEpoch")) }
            let error = KafkaError(code: code, context: "InitProducerId(\(transactionalID))")
            if withCurrent && !error.isRetriable && !Self.fencing.contains(error.code) {
                producer.logger.debug("transactional epoch bump refused; re-initialising the transactional id",
                                      metadata: ["error": "\(error)"])
                useCurrent = false
                continue
            }
            try await retryOrThrow(code, "InitProducerId(\(transactionalID))", producer: producer, attempt: &attempt)
        }
    }

    /// Errors that mean another producer owns the transactional id now.
    static let fencing: Set<KafkaErrorCode?> = [.producerFenced, .invalidProducerEpoch, .transactionCoordinatorFenced]

    func retryOrThrow(_ code: Int16, _ context: String, producer: KafkaProducer, attempt: inout Int) async throws {
        let error = KafkaError(code: code, context: context)
        if error.code?.invalidatesCoordinator == true { await producer.cluster.invalidateCoordinator(for: transactionalID, type: .transaction) }
        attempt += 1
        guard error.isRetriable, attempt < 50 else { throw error }
        try await Task.sleep(for: producer.configuration.client.retryBackoff)
    }

    func begin() throws {
        try state.withLock { s in
            guard !s.inTransaction else { throw KafkaProducerError.invalidTransactionState("a transaction is already open") }
            s.inTransaction = true
            s.partitions = []
            s.offsetsAdded = false
            s.failure = nil
        }
    }

    /// Ends the open transaction without EndTxn (the coordinator aborted it on the epoch bump).
    func reset() {
        state.withLock { s in
            s.inTransaction = false
            s.partitions = []
            s.offsetsAdded = false
            s.failure = nil
        }
    }

    func addPartitions(_ tps: Set<KafkaTopicPartition>, producer: KafkaProducer, producerID: Int64, epoch: Int16) async throws {
        let missing = try state.withLock { s -> Set<KafkaTopicPartition> in
            guard s.inTransaction else { throw KafkaProducerError.invalidTransactionState("send outside a transaction: call beginTransaction() first") }
            return tps.subtracting(s.partitions)
        }
        guard !missing.isEmpty else { return }
        var attempt = 0
        while true {
            let coordinator = try await producer.cluster.coordinator(for: transactionalID, type: .transaction)
            let version = min(try coordinator.version(for: .addPartitionsToTxn), 3)
            let byTopic = Dictionary(grouping: missing, by: \.topic)
            let response = try await coordinator.send(.addPartitionsToTxn, [
                "V3AndBelowTransactionalId": .string(transactionalID), "V3AndBelowProducerId": .int(producerID),
                "V3AndBelowProducerEpoch": .int(Int64(epoch)),
                "V3AndBelowTopics": .structs(byTopic.map { ["Name": .string($0.key), "Partitions": .array($0.value.map { .int(Int64($0.partition)) })] }),
            ], version: version)
            var firstError: Int16 = 0
            for t in response.structs("ResultsByTopicV3AndBelow") {
                for p in t.structs("ResultsByPartition") where p.int16("PartitionErrorCode") != 0 {
                    if firstError == 0 { firstError = p.int16("PartitionErrorCode") }
                }
            }
            if firstError == 0 {
                state.withLock { $0.partitions.formUnion(missing) }
                return
            }
            try await retryOrThrow(firstError, "AddPartitionsToTxn", producer: producer, attempt: &attempt)
        }
    }

    func sendOffsets(_ offsets: [KafkaTopicPartition: Int64], group: KafkaConsumerGroupMetadata, producer: KafkaProducer, producerID: Int64, epoch: Int16) async throws {
        try state.withLock { s in
            guard s.inTransaction else { throw KafkaProducerError.invalidTransactionState("sendOffsetsToTransaction outside a transaction") }
        }
        var attempt = 0
        while true {
            let coordinator = try await producer.cluster.coordinator(for: transactionalID, type: .transaction)
            let response = try await coordinator.send(.addOffsetsToTxn, [
                "TransactionalId": .string(transactionalID), "ProducerId": .int(producerID), "ProducerEpoch": .int(Int64(epoch)), "GroupId": .string(group.groupID),
            ])
            let code = response.int16("ErrorCode")
            if code == 0 { break }
            try await retryOrThrow(code, "AddOffsetsToTxn", producer: producer, attempt: &attempt)
        }
        attempt = 0
        while true {
            let groupCoordinator = try await producer.cluster.coordinator(for: group.groupID, type: .group)
            let byTopic = Dictionary(grouping: offsets, by: \.key.topic)
            let response = try await groupCoordinator.send(.txnOffsetCommit, [
                "TransactionalId": .string(transactionalID), "GroupId": .string(group.groupID), "ProducerId": .int(producerID),
                "ProducerEpoch": .int(Int64(epoch)), "GenerationId": .int(Int64(group.generationID)), "MemberId": .string(group.memberID),
                "GroupInstanceId": .optionalString(group.groupInstanceID),
                "Topics": .structs(byTopic.map { t in
                    ["Name": .string(t.key), "Partitions": .structs(t.value.map { ["PartitionIndex": .int(Int64($0.key.partition)), "CommittedOffset": .int($0.value), "CommittedLeaderEpoch": .int(-1), "CommittedMetadata": .string("")] })]
                }),
            ])
            var firstError: Int16 = 0
            for t in response.structs("Topics") {
                for p in t.structs("Partitions") where p.int16("ErrorCode") != 0 { if firstError == 0 { firstError = p.int16("ErrorCode") } }
            }
            if firstError == 0 { return }
            let error = KafkaError(code: firstError, context: "TxnOffsetCommit")
            if error.code?.invalidatesCoordinator == true { await producer.cluster.invalidateCoordinator(for: group.groupID, type: .group) }
            attempt += 1
            guard error.isRetriable, attempt < 50 else { throw error }
            try await Task.sleep(for: producer.configuration.client.retryBackoff)
        }
    }

    func end(commit: Bool, producer: KafkaProducer, producerID: Int64, epoch: Int16) async throws {
        let touched = try state.withLock { s -> Bool in
            guard s.inTransaction else { throw KafkaProducerError.invalidTransactionState("no open transaction") }
            if commit, let failure = s.failure {
                throw KafkaProducerError.invalidTransactionState("a record of this transaction failed (\(failure)): abort it")
            }
            return !s.partitions.isEmpty || s.offsetsAdded
        }
        if touched {
            var attempt = 0
            while true {
                let coordinator = try await producer.cluster.coordinator(for: transactionalID, type: .transaction)
                let response = try await coordinator.send(.endTxn, [
                    "TransactionalId": .string(transactionalID), "ProducerId": .int(producerID), "ProducerEpoch": .int(Int64(epoch)), "Committed": .bool(commit),
                ])
                let code = response.int16("ErrorCode")
                if code == 0 { break }
                try await retryOrThrow(code, commit ? "EndTxn(commit)" : "EndTxn(abort)", producer: producer, attempt: &attempt)
            }
        }
        state.withLock { s in
            s.inTransaction = false
            s.partitions = []
            s.offsetsAdded = false
        }
    }

    func markOffsetsAdded() { state.withLock { $0.offsetsAdded = true } }
}

extension KafkaProducer {
    /// Registers the transactional id with its coordinator (InitProducerId), fencing older producers with the same id.
    public func initTransactions() async throws {
        guard transactions != nil else { throw KafkaProducerError.invalidTransactionState("transactionalID is not set") }
        _ = try await ensureProducerID()
    }

    /// Starts a transaction; records sent until commit/abort belong to it.
    public func beginTransaction() async throws {
        guard let transactions else { throw KafkaProducerError.invalidTransactionState("transactionalID is not set") }
        _ = try await ensureProducerID()
        try transactions.begin()
    }

    /// Flushes and commits the open transaction.
    public func commitTransaction() async throws {
        guard let transactions else { throw KafkaProducerError.invalidTransactionState("transactionalID is not set") }
        await flush()
        let (pid, epoch) = try await ensureProducerID()
        try await transactions.end(commit: true, producer: self, producerID: pid, epoch: epoch)
    }

    /// Flushes and aborts the open transaction; read_committed consumers never see its records.
    public func abortTransaction() async throws {
        guard let transactions else { throw KafkaProducerError.invalidTransactionState("transactionalID is not set") }
        await flush()
        let (pid, epoch) = try await ensureProducerID()
        if transactions.hasFailed {
            // A failed record left a gap in a partition's sequences: bump the epoch (KIP-360), which
            // also aborts the open transaction, and restart the sequences.
            let ids = try await transactions.initialize(producer: self, current: (pid, epoch))
            restartSequences(producerID: ids.0, epoch: ids.1)
            transactions.reset()
            logger.info("transactional producer epoch bumped (the failed transaction is aborted)", metadata: [
                "old": "\(pid)/\(epoch)", "new": "\(ids.0)/\(ids.1)",
            ])
            observability.count("kafka_producer_epoch_bumps_total", 1, [("new_producer_id", ids.0 == pid ? "false" : "true")])
            return
        }
        try await transactions.end(commit: false, producer: self, producerID: pid, epoch: epoch)
    }

    /// Commits consumer offsets as part of the open transaction (AddOffsetsToTxn + TxnOffsetCommit).
    public func sendOffsetsToTransaction(_ offsets: [KafkaTopicPartition: Int64], group: KafkaConsumerGroupMetadata) async throws {
        guard let transactions else { throw KafkaProducerError.invalidTransactionState("transactionalID is not set") }
        let (pid, epoch) = try await ensureProducerID()
        try await transactions.sendOffsets(offsets, group: group, producer: self, producerID: pid, epoch: epoch)
        transactions.markOffsetsAdded()
    }

    /// Runs `body` inside a transaction: commits when it returns, aborts when it throws.
    public func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await beginTransaction()
        do {
            let result = try await body()
            try await commitTransaction()
            return result
        } catch {
            try? await abortTransaction()
            throw error
        }
    }
}
