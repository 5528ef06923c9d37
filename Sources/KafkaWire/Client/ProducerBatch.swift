import NIOCore
import Tracing

/// Who is told about a record's delivery.
enum KafkaDelivery: Sendable {
    case discard
    case continuation(CheckedContinuation<KafkaRecordMetadata, any Error>)
    case callback(@Sendable (Result<KafkaRecordMetadata, any Error>) -> Void)

    func complete(_ result: Result<KafkaRecordMetadata, any Error>) {
        switch self {
        case .discard: break
        case .continuation(let c): c.resume(with: result)
        case .callback(let f): f(result)
        }
    }
}

/// Records accumulated for one partition, sent as one record batch.
final class ProducerBatch: @unchecked Sendable {
    // Mutated only under the producer's lock or by the single task sending it.
    let tp: KafkaTopicPartition
    var writer = KafkaRecordBatchWriter()
    var deliveries: [KafkaDelivery] = []
    var hasDeliveries = false
    let created: ContinuousClock.Instant
    /// When the batch fails with ``KafkaProducerError/deliveryTimedOut(_:)`` unless acknowledged
    /// (`created` + ``KafkaProducerConfiguration/deliveryTimeout``).
    let deadline: ContinuousClock.Instant
    var attempts = 0
    /// Why the last attempt failed (for the retries metric).
    var lastError = ""
    var baseSequence: Int32 = -1
    /// The producer epoch the batch's sequence belongs to (set when it is first encoded).
    var producerEpoch: Int16 = -1
    /// Whether an attempt ended without a definite answer (timeout, connection lost), so the broker
    /// may have appended the batch: it is resent with the same producer id, epoch and sequence
    /// (the broker deduplicates it) and never renumbered under a new epoch while this holds.
    var mayBeAppended = false
    var encoded: ByteBuffer?
    var accountedBytes = 0
    /// Producer spans of traced records, by index in the batch.
    var spans: [(Int, any Span)] = []

    init(tp: KafkaTopicPartition, deliveryTimeout: Duration) {
        self.tp = tp
        self.created = .now
        self.deadline = created.advanced(by: deliveryTimeout)
    }

    /// Forgets the batch's sequence and encoding, so it is numbered again under a new producer epoch.
    func resetSequence() {
        baseSequence = -1
        producerEpoch = -1
        encoded = nil
        mayBeAppended = false
    }

    func complete(baseOffset: Int64, timestamp: Int64?) {
        for (i, span) in spans {
            if baseOffset >= 0 { span.attributes["messaging.kafka.offset"] = Int(baseOffset) + i }
            span.end()
        }
        guard hasDeliveries else { return }
        for (i, d) in deliveries.enumerated() {
            let offset = baseOffset < 0 ? -1 : baseOffset + Int64(i)
            d.complete(.success(KafkaRecordMetadata(topic: tp.topic, partition: tp.partition, offset: offset, timestamp: timestamp ?? -1)))
        }
    }

    func fail(_ error: any Error) {
        for (_, span) in spans {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            span.end()
        }
        for d in deliveries { d.complete(.failure(error)) }
    }
}

/// Per-partition queue of batches.
struct PartitionQueue {
    var open: ProducerBatch?
    var ready: [ProducerBatch] = []
    var inFlight = 0
    var nextSequence: Int32 = 0
    /// The sequence the broker expects next: one past the last acknowledged batch. A batch with this
    /// base sequence that gets OUT_OF_ORDER_SEQUENCE_NUMBER has nothing unresolved before it, so the
    /// broker's state diverged from ours: the producer bumps its epoch.
    var ackedNext: Int32 = 0

    /// Appends a record to the open batch, first moving a full one to ``ready`` (then
    /// `closedFull`) and opening a new one as needed. `size` is the bytes accounted for the
    /// record; `wake` says the sender must look again (a new batch's linger deadline, or a full batch).
    mutating func append(_ record: KafkaOutgoingRecord, tp: KafkaTopicPartition, delivery: KafkaDelivery, span: (any Span)?,
                         batchSize: Int, deliveryTimeout: Duration) -> (size: Int, wake: Bool, closedFull: Bool) {
        var wake = open == nil
        var closedFull = false
        var batch = open ?? ProducerBatch(tp: tp, deliveryTimeout: deliveryTimeout)
        let size = batch.writer.encodedSize(of: record)
        if batch.writer.recordCount > 0 && batch.writer.sizeInBytes + size > batchSize {
            ready.append(batch)
            wake = true
            closedFull = true
            batch = ProducerBatch(tp: tp, deliveryTimeout: deliveryTimeout)
        }
        if let span { batch.spans.append((Int(batch.writer.recordCount), span)) }
        batch.writer.append(record)
        batch.deliveries.append(delivery)
        if case .discard = delivery {} else { batch.hasDeliveries = true }
        batch.accountedBytes += size
        open = batch
        return (size, wake, closedFull)
    }

    /// Puts a batch that must be retried back in sequence order: before every batch with a higher
    /// sequence and before all batches not yet sent (which have none).
    mutating func requeue(_ batch: ProducerBatch) {
        let index = ready.firstIndex { $0.baseSequence < 0 || $0.baseSequence > batch.baseSequence } ?? ready.endIndex
        ready.insert(batch, at: batch.baseSequence < 0 ? 0 : index)
    }

    /// Whether the head batch may be sent now: up to `limit` batches in flight, but a retried batch
    /// (one that already has a sequence) only when nothing else of this partition is in flight, so
    /// retries reach the broker strictly in sequence order.
    func canSend(limit: Int, idempotent: Bool) -> Bool {
        guard let head = ready.first, inFlight < limit else { return false }
        if idempotent && head.baseSequence >= 0 && inFlight > 0 { return false }
        return true
    }

    /// While an epoch bump is pending: only a batch that may already be appended under the current
    /// epoch is resent (alone, in sequence order), to learn its outcome before the sequences restart.
    func canResolve(epoch: Int16) -> Bool {
        guard let head = ready.first, inFlight == 0 else { return false }
        return head.baseSequence >= 0 && head.producerEpoch == epoch && head.mayBeAppended
    }

    /// Removes the batches whose delivery deadline passed (not those in flight).
    mutating func removeExpired(now: ContinuousClock.Instant) -> [ProducerBatch] {
        var expired: [ProducerBatch] = []
        ready.removeAll { b in
            if b.deadline <= now { expired.append(b); return true }
            return false
        }
        if let o = open, o.deadline <= now {
            expired.append(o)
            open = nil
        }
        return expired
    }
}
