import NIOCore

/// How many replicas must acknowledge a produce request.
public enum KafkaAcks: Int16, Sendable, Hashable {
    /// Fire and forget: the broker sends no response; offsets are reported as -1.
    case none = 0
    /// The leader appended the records.
    case leader = 1
    /// All in-sync replicas appended the records.
    case all = -1
}

/// Producer settings.
public struct KafkaProducerConfiguration: Sendable {
    /// Connection and cluster settings.
    public var client: KafkaClientConfiguration
    /// Acknowledgement level; `.all` by default (required for idempotence).
    public var acks: KafkaAcks = .all
    /// How long a partition's batch waits for more records before it is sent.
    public var linger: Duration = .milliseconds(5)
    /// A batch is sent once its uncompressed size reaches this many bytes.
    public var batchSize: Int = 1_000_000
    /// Produce requests outstanding per broker.
    public var maxInFlightPerBroker: Int = 5
    /// Batches of one partition outstanding at once (like Java's and librdkafka's
    /// `max.in.flight.requests.per.connection`). With idempotence at most 5 (the broker deduplicates
    /// the last 5 batches per producer); sequence numbers keep them ordered, and retried batches are
    /// resent one at a time in sequence order.
    public var maxInFlightPerPartition: Int = 5
    /// Bytes of records accepted but not yet acknowledged; `send` waits (back-pressure) beyond this.
    public var bufferMemory: Int = 64 * 1024 * 1024
    /// Compression of produced batches.
    public var compression: KafkaCompression = .none
    /// Idempotent producer (producer id, epoch and sequence numbers): on by default.
    public var enableIdempotence: Bool = true
    /// Set to use transactions (implies idempotence).
    public var transactionalID: String? = nil
    /// Transaction timeout sent in InitProducerId.
    public var transactionTimeout: Duration = .seconds(60)
    /// Maximum attempts per batch on retriable errors. Unlimited by default: retries are bounded by
    /// ``deliveryTimeout`` (as with the Java client's `retries=MAX_INT`).
    public var maxAttempts: Int = .max
    /// Broker-side timeout for acks in a produce request.
    public var produceTimeout: Duration = .seconds(30)
    /// Upper bound on the time to report a record's delivery (Java's and librdkafka's
    /// `delivery.timeout.ms`, same default): a record not acknowledged this long after it was
    /// batched fails with ``KafkaProducerError/deliveryTimedOut(_:)``, whether it was waiting for
    /// a leader, being retried or in flight (an attempt never waits past it; each attempt is also
    /// bounded by ``KafkaClientConfiguration/requestTimeout``). Retries happen only within it. Give it
    /// at least ``linger`` plus the request timeout. A record that timed out in flight may still
    /// have been appended; the idempotent producer then bumps its epoch, so later records are
    /// neither duplicated nor reordered.
    public var deliveryTimeout: Duration = .seconds(120)

    /// Creates a configuration.
    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    /// Creates a configuration from a `host:port,...` bootstrap list.
    public init(bootstrap: String) {
        self.client = KafkaClientConfiguration(bootstrap: bootstrap)
    }
}

/// A record to produce.
public struct KafkaProducerRecord: Sendable {
    /// Destination topic.
    public var topic: String
    /// Explicit partition; nil = the partitioner decides (murmur2 of the key, sticky for null keys).
    public var partition: Int32?
    /// Key bytes.
    public var key: ByteBuffer?
    /// Value bytes.
    public var value: ByteBuffer?
    /// Headers.
    public var headers: [KafkaHeader]
    /// Timestamp in ms since the epoch; nil = now.
    public var timestamp: Int64?

    /// Creates a record.
    public init(topic: String, partition: Int32? = nil, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [KafkaHeader] = [], timestamp: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// Creates a record from strings.
    public init(topic: String, partition: Int32? = nil, key: String? = nil, value: String?, headers: [KafkaHeader] = [], timestamp: Int64? = nil) {
        self.init(topic: topic, partition: partition, key: key.map { ByteBuffer(string: $0) }, value: value.map { ByteBuffer(string: $0) }, headers: headers, timestamp: timestamp)
    }
}

/// Where a produced record landed.
public struct KafkaRecordMetadata: Sendable, Hashable {
    /// Topic.
    public var topic: String
    /// Partition.
    public var partition: Int32
    /// Offset (-1 with acks=0 or when a duplicate was detected by the broker).
    public var offset: Int64
    /// Timestamp as stored (log-append time when the topic uses it).
    public var timestamp: Int64
}

/// Producer failures.
public enum KafkaProducerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The producer was shut down before the record was delivered.
    case shutDown
    /// The record is larger than the buffer memory or batch limits allow.
    case recordTooLarge(Int)
    /// The operation needs a transactional producer or another transaction state.
    case invalidTransactionState(String)
    /// The record could not be delivered after retries.
    case deliveryFailed(String)
    /// The record was not acknowledged within ``KafkaProducerConfiguration/deliveryTimeout``; the
    /// string names the partition, the attempts made and the last error. If it was in flight, the
    /// broker may still have appended it.
    case deliveryTimedOut(String)

    /// A readable description.
    public var description: String {
        switch self {
        case .shutDown: "the producer is shut down"
        case .recordTooLarge(let n): "record of \(n) bytes exceeds the producer's buffer memory"
        case .invalidTransactionState(let s): "invalid transaction state: \(s)"
        case .deliveryFailed(let s): "delivery failed: \(s)"
        case .deliveryTimedOut(let s): "delivery timed out: \(s)"
        }
    }
}
