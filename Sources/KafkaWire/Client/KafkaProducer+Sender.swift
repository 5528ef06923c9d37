import Logging
import NIOCore
import WireCore

/// How one attempt to deliver a batch ended.
enum ProducerBatchOutcome {
    /// Appended (or a duplicate of an appended batch: offset -1).
    case acked(offset: Int64, logAppendTime: Int64?)
    /// A retriable failure; `mayBeAppended` when the request may have reached the broker unanswered.
    case retry(reason: String, error: any Error, mayBeAppended: Bool)
    /// OUT_OF_ORDER_SEQUENCE_NUMBER: the broker did not append it (a gap before its sequence).
    case outOfOrder(KafkaError)
    /// UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH, PRODUCER_FENCED: the broker did not append it and
    /// does not accept our producer id/epoch any more.
    case staleProducer(KafkaError)
    /// A failure retrying cannot fix.
    case failed(any Error)
    /// Its delivery deadline passed while it waited to be sent.
    case expired
}

// MARK: - Sender

extension KafkaProducer {
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
        var expired: [ProducerBatch] = []
        /// The sender must run the epoch bump now.
        var bump = false

        mutating func wake(at instant: ContinuousClock.Instant) {
            if nextDeadline.map({ instant < $0 }) ?? true { nextDeadline = instant }
        }
    }

    /// Whether failures of this producer's batches are repaired by bumping the epoch (the idempotent,
    /// non-transactional producer; a transactional one aborts its transaction instead).
    var bumpsEpoch: Bool { configuration.enableIdempotence && transactions == nil }

    func collect() -> Drain {
        let now = ContinuousClock.now
        let idempotent = configuration.enableIdempotence
        let perPartition = idempotent ? min(max(configuration.maxInFlightPerPartition, 1), 5) : max(configuration.maxInFlightPerPartition, 1)
        return state.withLock { s in
            var drain = Drain()
            let resolving = s.epochBumpRequired
            var unresolved = false
            for tp in Array(s.queues.keys) {
                var q = s.queues[tp]!
                drain.expired += q.removeExpired(now: now)
                if let open = q.open {
                    if s.flushing > 0 || s.closed || now - open.created >= configuration.linger || open.writer.sizeInBytes >= configuration.batchSize {
                        q.ready.append(open)
                        q.open = nil
                        if s.sticky[tp.topic] == tp.partition { s.sticky[tp.topic] = nil }
                    } else {
                        drain.wake(at: min(open.created + configuration.linger, open.deadline))
                    }
                }
                // While a bump is pending only batches whose outcome is unknown go out (under the old
                // epoch, deduplicated by the broker); the rest wait to be numbered under the new one.
                let sendable = resolving ? !s.bumping && q.canResolve(epoch: s.producerEpoch) : q.canSend(limit: perPartition, idempotent: idempotent)
                if sendable {
                    unresolved = unresolved || resolving
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
                if let first = q.ready.first { drain.wake(at: q.ready.reduce(first.deadline) { min($0, $1.deadline) }) }
                s.queues[tp] = q
            }
            for broker in drain.byBroker.keys { s.inFlightPerBroker[broker, default: 0] += 1 }
            if resolving && !s.bumping && !unresolved && s.inFlightPerBroker.values.allSatisfy({ $0 == 0 }) {
                s.bumping = true
                drain.bump = true
            }
            return drain
        }
    }

    func senderLoop() async {
        while true {
            let drain = collect()
            if !drain.expired.isEmpty {
                finish(broker: nil, outcomes: drain.expired.map { ($0, .expired) })
            }
            if drain.bump {
                Task { await self.bumpEpoch() }
            }
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
            if let deadline = drain.nextDeadline { scheduleWake(at: deadline) }
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

    /// Wakes the sender at `deadline` (a linger or delivery deadline); one timer at a time, the earliest.
    func scheduleWake(at deadline: ContinuousClock.Instant) {
        let schedule = state.withLock { s -> Bool in
            if let at = s.wakeAt, at <= deadline, at > .now { return false }
            s.wakeAt = deadline
            return true
        }
        guard schedule else { return }
        Task {
            try? await Task.sleep(until: deadline)
            state.withLock { s in if s.wakeAt == deadline { s.wakeAt = nil } }
            self.wakeSender()
        }
    }

    // MARK: Producer id and epoch

    func ensureProducerID() async throws -> (Int64, Int16) {
        let current = state.withLock { ($0.producerID, $0.producerEpoch) }
        if current.0 >= 0 || !configuration.enableIdempotence { return current }
        if let transactions {
            let ids = try await transactions.initialize(producer: self)
            state.withLock { $0.producerID = ids.0; $0.producerEpoch = ids.1 }
            return ids
        }
        let ids = try await initProducerID(current: nil)
        state.withLock { s in
            if s.producerID < 0 { s.producerID = ids.0; s.producerEpoch = ids.1 }
        }
        return state.withLock { ($0.producerID, $0.producerEpoch) }
    }

    /// InitProducerId without a transactional id: with `current` (KIP-360, InitProducerId v3+) the
    /// broker bumps that producer's epoch; without it, or when the broker cannot, it assigns a new id.
    func initProducerID(current: (Int64, Int16)?) async throws -> (Int64, Int16) {
        let connection = try await cluster.anyConnection()
        let timeout: KafkaValue = .int(Int64(configuration.transactionTimeout.components.seconds * 1000))
        if let current, current.0 >= 0, try connection.version(for: .initProducerId) >= 3 {
            let response = try await connection.send(.initProducerId, [
                "TransactionalId": .null, "TransactionTimeoutMs": timeout,
                "ProducerId": .int(current.0), "ProducerEpoch": .int(Int64(current.1)),
            ])
            let code = response.int16("ErrorCode")
            if code == 0 { return (response.int64("ProducerId"), response.int16("ProducerEpoch")) }
            logger.debug("epoch bump refused; asking for a new producer id",
                         metadata: ["error": "\(KafkaError(code: code, context: "InitProducerId"))"])
        }
        let response = try await connection.send(.initProducerId, [
            "TransactionalId": .null, "TransactionTimeoutMs": timeout, "ProducerId": .int(-1), "ProducerEpoch": .int(-1),
        ])
        try KafkaError.check(response.int16("ErrorCode"), "InitProducerId")
        return (response.int64("ProducerId"), response.int16("ProducerEpoch"))
    }

    /// Bumps the epoch of the idempotent producer (as the Java client and librdkafka do after a
    /// failed batch, OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID): runs when nothing is in
    /// flight and every batch that may have been appended under the old epoch is resolved, then
    /// numbers every waiting batch from sequence 0 under the new epoch.
    func bumpEpoch() async {
        var attempt = 0
        while true {
            let current = state.withLock { ($0.producerID, $0.producerEpoch) }
            do {
                let ids = try await initProducerID(current: current)
                restartSequences(producerID: ids.0, epoch: ids.1)
                logger.info("idempotent producer epoch bumped", metadata: [
                    "old": "\(current.0)/\(current.1)", "new": "\(ids.0)/\(ids.1)",
                ])
                observability.count("kafka_producer_epoch_bumps_total", 1, [("new_producer_id", ids.0 == current.0 ? "false" : "true")])
                wakeSender()
                return
            } catch {
                logger.debug("producer epoch bump failed; retrying", metadata: ["error": "\(error)"])
                attempt += 1
                try? await Task.sleep(for: min(configuration.client.retryBackoff * attempt, .seconds(1)))
                // Batches keep expiring meanwhile; once none is left, the next record starts the bump again.
                let idle = state.withLock { s in s.pendingRecords == 0 }
                if idle {
                    state.withLock { $0.bumping = false }
                    return
                }
                wakeSender()
            }
        }
    }

    /// Adopts a new producer id/epoch and numbers every waiting batch from sequence 0 under it.
    func restartSequences(producerID: Int64, epoch: Int16) {
        state.withLock { s in
            s.producerID = producerID
            s.producerEpoch = epoch
            for tp in Array(s.queues.keys) {
                s.queues[tp]!.nextSequence = 0
                s.queues[tp]!.ackedNext = 0
                for batch in s.queues[tp]!.ready { batch.resetSequence() }
            }
            s.epochBumpRequired = false
            s.bumping = false
        }
        wakeSender()
    }

    // MARK: Produce requests

    func produce(_ batches: [ProducerBatch], to broker: Int32) async {
        var outcomes: [(ProducerBatch, ProducerBatchOutcome)] = []
        var sent = false
        do {
            let (pid, epoch) = try await ensureProducerID()
            if let transactions {
                try await transactions.addPartitions(Set(batches.map(\.tp)), producer: self, producerID: pid, epoch: epoch)
            }
            var topics: [String: [KafkaStruct]] = [:]
            var earliest = batches[0].deadline
            for batch in batches {
                earliest = min(earliest, batch.deadline)
                if batch.encoded == nil {
                    batch.producerEpoch = epoch
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
            // An attempt never outlives the delivery deadline of the batches it carries.
            let attemptTimeout = max(.milliseconds(1), min(configuration.client.requestTimeout, ContinuousClock.now.duration(to: earliest)))
            sent = true
            if configuration.acks == .none {
                _ = try await connection.sendRaw(.produce, body, version: try connection.version(for: .produce), expectResponse: false)
                for b in batches { outcomes.append((b, .acked(offset: -1, logAppendTime: nil))) }
            } else {
                let started = ContinuousClock.now
                let response = try await connection.send(.produce, body, timeout: attemptTimeout)
                observability.time("kafka_producer_request_duration_seconds", since: started, [("broker", "\(broker)")])
                var results: [KafkaTopicPartition: KafkaStruct] = [:]
                for t in response.structs("Responses") {
                    let name = t.string("Name") ?? ""
                    for p in t.structs("PartitionResponses") { results[KafkaTopicPartition(name, p.int32("Index"))] = p }
                }
                for batch in batches {
                    guard let r = results[batch.tp] else {
                        outcomes.append((batch, .failed(KafkaConnectionError.protocolViolation("produce response lacks \(batch.tp)"))))
                        continue
                    }
                    outcomes.append((batch, Self.outcome(of: r, batch: batch, markStale: markStale)))
                }
            }
        } catch {
            logger.debug("produce request failed", metadata: ["broker": "\(broker)", "error": "\(error)"])
            let retriable = (error as? KafkaError)?.isRetriable ?? (error is KafkaConnectionError)
            for batch in batches {
                outcomes.append((batch, retriable ? .retry(reason: kafkaErrorName(error), error: error, mayBeAppended: sent) : .failed(error)))
            }
            if retriable { for b in batches { markStale(b.tp.topic) } }
        }
        if outcomes.contains(where: { if case .retry = $0.1 { true } else { false } }) {
            try? await Task.sleep(for: configuration.client.retryBackoff)
        }
        finish(broker: broker, outcomes: outcomes)
    }

    /// Classifies one partition's answer in a Produce response.
    static func outcome(of r: KafkaStruct, batch: ProducerBatch, markStale: (String) -> Void) -> ProducerBatchOutcome {
        let code = r.int16("ErrorCode")
        if code == 0 {
            let logAppend = r.int64("LogAppendTimeMs")
            return .acked(offset: r.int64("BaseOffset"), logAppendTime: logAppend >= 0 ? logAppend : nil)
        }
        if code == KafkaErrorCode.duplicateSequenceNumber.rawValue { return .acked(offset: -1, logAppendTime: nil) }
        let error = KafkaError(code: code, context: "Produce to \(batch.tp)", message: r.string("ErrorMessage"))
        if batch.baseSequence >= 0 {
            switch error.code {
            case .outOfOrderSequenceNumber: return .outOfOrder(error)
            case .unknownProducerID, .invalidProducerEpoch, .producerFenced: return .staleProducer(error)
            default: break
            }
        }
        if error.code?.invalidatesMetadata == true { markStale(batch.tp.topic) }
        return error.isRetriable ? .retry(reason: error.metricName, error: error, mayBeAppended: false) : .failed(error)
    }

    var observability: KafkaObservability { configuration.client.observability }

    func markStale(_ topic: String) {
        state.withLock { _ = $0.needsRefresh.insert(topic) }
    }

    /// Applies the outcomes of one produce request (`broker` nil: batches that expired unsent):
    /// completes, requeues in sequence order, or fails each batch, and decides whether the producer
    /// epoch must be bumped.
    func finish(broker: Int32?, outcomes: [(ProducerBatch, ProducerBatchOutcome)]) {
        var resumeSpace: [CheckedContinuation<Void, Never>] = []
        var resumeFlush: [CheckedContinuation<Void, Never>] = []
        var completed: [(ProducerBatch, Result<(Int64, Int64?), any Error>)] = []
        var retried: [ProducerBatch] = []
        let now = ContinuousClock.now
        let bumps = bumpsEpoch
        let maxAttempts = configuration.maxAttempts
        state.withLock { s in
            if let broker { s.inFlightPerBroker[broker, default: 1] -= 1 }
            for (batch, outcome) in outcomes {
                if broker != nil { s.queues[batch.tp]?.inFlight -= 1 }
                let current = batch.baseSequence >= 0 && batch.producerEpoch == s.producerEpoch
                // A failure the next attempt may fix, unless the deadline or attempt limit is reached.
                var retryError: (any Error)?
                switch outcome {
                case .acked(let offset, let logAppend):
                    if current { s.queues[batch.tp]?.ackedNext = batch.baseSequence &+ batch.writer.recordCount }
                    completed.append((batch, .success((offset, logAppend))))
                    continue
                case .retry(let reason, let error, let mayBeAppended):
                    batch.lastError = reason
                    batch.mayBeAppended = batch.mayBeAppended || mayBeAppended
                    retryError = error
                case .outOfOrder(let error):
                    batch.lastError = "outOfOrderSequenceNumber"
                    batch.mayBeAppended = false
                    // Nothing before it is unresolved, yet the broker sees a gap: its state diverged.
                    // Only believed on a resend, which goes out alone (noida-db may take pipelined
                    // requests out of order, so a first OUT_OF_ORDER can be a race the resend fixes).
                    if current && batch.attempts > 0 && s.queues[batch.tp]?.ackedNext == batch.baseSequence {
                        if bumps { s.epochBumpRequired = true } else { completed.append((batch, .failure(error))); break }
                    }
                    // In a transaction that already lost a record the gap never closes: fail now (abort follows).
                    if transactions?.hasFailed == true { completed.append((batch, .failure(error))); break }
                    retryError = error
                case .staleProducer(let error):
                    batch.lastError = error.metricName
                    batch.mayBeAppended = false
                    guard bumps else { completed.append((batch, .failure(error))); break }
                    if current { s.epochBumpRequired = true }
                    retryError = error
                case .failed(let error):
                    completed.append((batch, .failure(error)))
                case .expired:
                    completed.append((batch, .failure(Self.timedOut(batch))))
                }
                guard let retryError else { continue }
                if now >= batch.deadline {
                    completed.append((batch, .failure(Self.timedOut(batch))))
                } else if batch.attempts + 1 >= maxAttempts {
                    completed.append((batch, .failure(retryError)))
                } else {
                    batch.attempts += 1
                    s.queues[batch.tp]?.requeue(batch)
                    retried.append(batch)
                }
            }
            for (batch, result) in completed {
                s.bufferedBytes -= batch.accountedBytes
                s.pendingRecords -= Int(batch.writer.recordCount)
                // A failed batch leaves a gap in its partition's sequences (and may have been appended):
                // only a new epoch lets the partition continue without duplicates or reordering.
                if case .failure = result, bumps, batch.baseSequence >= 0, batch.producerEpoch == s.producerEpoch || batch.producerEpoch < 0 {
                    s.epochBumpRequired = true
                }
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
        for batch in retried {
            observability.count("kafka_producer_retries_total", 1, [("topic", batch.tp.topic), ("error", batch.lastError)])
        }
        for (batch, result) in completed {
            let topic = [("topic", batch.tp.topic)]
            switch result {
            case .success(let (offset, logAppend)):
                observability.count("kafka_producer_records_total", Int(batch.writer.recordCount), topic)
                observability.count("kafka_producer_bytes_total", batch.encoded?.readableBytes ?? batch.writer.sizeInBytes, topic)
                observability.time("kafka_producer_delivery_duration_seconds", since: batch.created, topic)
                batch.complete(baseOffset: offset, timestamp: logAppend ?? batch.writer.baseTimestamp)
            case .failure(let error):
                observability.count("kafka_producer_errors_total", Int(batch.writer.recordCount), [("topic", batch.tp.topic), ("error", kafkaErrorName(error))])
                transactions?.recordFailure(error)
                batch.fail(error)
            }
        }
        for c in resumeSpace { c.resume() }
        for c in resumeFlush { c.resume() }
        wakeSender()
    }

    static func timedOut(_ batch: ProducerBatch) -> KafkaProducerError {
        let last = batch.lastError.isEmpty ? "" : ", last error \(batch.lastError)"
        return .deliveryTimedOut("\(batch.writer.recordCount) record(s) for \(batch.tp) after \(batch.attempts + (batch.encoded == nil ? 0 : 1)) attempt(s)\(last)")
    }
}
