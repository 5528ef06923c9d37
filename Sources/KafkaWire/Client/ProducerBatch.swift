import NIOCore

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
    var baseSequence: Int32 = -1
    var encoded: ByteBuffer?
    var accountedBytes = 0

    init(tp: KafkaTopicPartition) {
        self.tp = tp
        self.created = .now
    }

    func complete(baseOffset: Int64, timestamp: Int64?) {
        guard hasDeliveries else { return }
        for (i, d) in deliveries.enumerated() {
            let offset = baseOffset < 0 ? -1 : baseOffset + Int64(i)
            d.complete(.success(KafkaRecordMetadata(topic: tp.topic, partition: tp.partition, offset: offset, timestamp: timestamp ?? -1)))
        }
    }

    func fail(_ error: any Error) {
        for d in deliveries { d.complete(.failure(error)) }
    }
}

/// Per-partition queue of batches.
struct PartitionQueue {
    var open: ProducerBatch?
    var ready: [ProducerBatch] = []
    var inFlight = 0
    var nextSequence: Int32 = 0
}
