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
    var attempts = 0
    /// Why the last attempt failed (for the retries metric).
    var lastError = ""
    var baseSequence: Int32 = -1
    var encoded: ByteBuffer?
    var accountedBytes = 0
    /// Producer spans of traced records, by index in the batch.
    var spans: [(Int, any Span)] = []

    init(tp: KafkaTopicPartition) {
        self.tp = tp
        self.created = .now
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
    /// Last sequence number the broker acknowledged for this partition (-1 before the first).
    var lastAckedSequence: Int32 = -1

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
}
