import NIOCore

/// Where to start when a partition has no committed offset (or the offset is out of range).
public enum KafkaOffsetReset: Sendable, Hashable {
    /// The first available offset.
    case earliest
    /// The end of the partition (only new records).
    case latest
    /// Fail with an error instead.
    case none
}

/// Which records a consumer sees from transactional producers.
public enum KafkaIsolationLevel: Int8, Sendable, Hashable {
    /// Everything, including records of open and aborted transactions.
    case readUncommitted = 0
    /// Only committed records; aborted transactions are filtered out.
    case readCommitted = 1
}

/// A starting position for manual assignment.
public enum KafkaOffsetSpec: Sendable, Hashable {
    /// The first available offset.
    case earliest
    /// The end of the partition.
    case latest
    /// An exact offset.
    case offset(Int64)
    /// The committed offset of the consumer's group, else the reset policy.
    case committed
}

/// Consumer settings.
public struct KafkaConsumerConfiguration: Sendable {
    /// Connection and cluster settings.
    public var client: KafkaClientConfiguration
    /// Consumer group id; required for `subscribe` and for commits.
    public var groupID: String?
    /// Static membership id (KIP-345): the member keeps its assignment across restarts within the session timeout.
    public var groupInstanceID: String?
    /// Assignment strategies offered to the group, in order of preference.
    public var assignors: [any KafkaPartitionAssignor] = [KafkaRangeAssignor(), KafkaCooperativeStickyAssignor()]
    /// Session timeout: a member that does not heartbeat for this long is removed.
    public var sessionTimeout: Duration = .seconds(10)
    /// Rebalance timeout sent in JoinGroup.
    public var rebalanceTimeout: Duration = .seconds(30)
    /// Heartbeat interval.
    public var heartbeatInterval: Duration = .seconds(3)
    /// Policy when no committed offset exists.
    public var autoOffsetReset: KafkaOffsetReset = .latest
    /// Commit consumed positions periodically and on rebalance/shutdown.
    public var enableAutoCommit: Bool = true
    /// Auto-commit period.
    public var autoCommitInterval: Duration = .seconds(5)
    /// Transaction isolation.
    public var isolationLevel: KafkaIsolationLevel = .readUncommitted
    /// Fetch: the broker answers once this many bytes are available (or after `fetchMaxWait`).
    public var fetchMinBytes: Int32 = 1
    /// Fetch: how long the broker may wait for `fetchMinBytes`.
    public var fetchMaxWait: Duration = .milliseconds(500)
    /// Fetch: response size limit per request.
    public var fetchMaxBytes: Int32 = 50 * 1024 * 1024
    /// Fetch: size limit per partition.
    public var partitionMaxBytes: Int32 = 1024 * 1024
    /// Bounded memory: fetching pauses while this many record bytes are buffered and unconsumed.
    public var maxBufferedBytes: Int = 64 * 1024 * 1024

    /// Creates a configuration.
    public init(client: KafkaClientConfiguration, groupID: String? = nil) {
        self.client = client
        self.groupID = groupID
    }

    /// Creates a configuration from a bootstrap list.
    public init(bootstrap: String, groupID: String? = nil) {
        self.init(client: KafkaClientConfiguration(bootstrap: bootstrap), groupID: groupID)
    }
}

/// A record delivered to the application, with its topic and partition.
///
/// A view over the fetched batch's buffer: ``key``, ``value`` and ``headers`` are sliced (no copy)
/// or parsed from it when read, so handing records over costs no per-field work the application
/// does not ask for. Setting a field gives the record bytes of its own.
public struct KafkaConsumerRecord: Sendable, Hashable {
    /// Topic.
    public var topic: String
    /// Partition.
    public var partition: Int32
    /// Offset.
    public var offset: Int64
    /// Timestamp (ms since the epoch).
    public var timestamp: Int64
    /// Timestamp type.
    public var timestampType: KafkaTimestampType
    /// Key, value and headers as positions in the batch's buffer.
    var fields: KafkaRecordFields

    /// Key (a slice of the fetched batch; nil = null).
    public var key: ByteBuffer? {
        get { fields.key }
        set { fields = KafkaRecordFields(key: newValue, value: fields.value, headers: fields.headers) }
    }
    /// Value (a slice of the fetched batch; nil = null, a tombstone).
    public var value: ByteBuffer? {
        get { fields.value }
        set { fields = KafkaRecordFields(key: fields.key, value: newValue, headers: fields.headers) }
    }
    /// Headers.
    public var headers: [KafkaHeader] {
        get { fields.headers }
        set { fields = KafkaRecordFields(key: fields.key, value: fields.value, headers: newValue) }
    }
    /// The key's size in bytes (nil = null), without slicing it.
    public var keyCount: Int? { fields.keyCount }
    /// The value's size in bytes (nil = null), without slicing it.
    public var valueCount: Int? { fields.valueCount }

    /// The key as UTF-8.
    public var keyString: String? { key.map { String(buffer: $0) } }
    /// The value as UTF-8.
    public var valueString: String? { value.map { String(buffer: $0) } }
    /// Topic and partition.
    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic, partition) }

    /// A record of `topic`/`partition` sharing `record`'s fields (no slicing).
    init(topic: String, partition: Int32, record: KafkaRecord) {
        self.topic = topic
        self.partition = partition
        self.offset = record.offset
        self.timestamp = record.timestamp
        self.timestampType = record.timestampType
        self.fields = record.fields
    }

    /// A record from parts.
    init(topic: String, partition: Int32, offset: Int64, timestamp: Int64, timestampType: KafkaTimestampType,
         key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.fields = KafkaRecordFields(key: key, value: value, headers: headers)
    }

    /// Equal when topic, partition, offset, timestamp, timestamp type, key, value and headers are.
    public static func == (lhs: KafkaConsumerRecord, rhs: KafkaConsumerRecord) -> Bool {
        lhs.topic == rhs.topic && lhs.partition == rhs.partition && lhs.offset == rhs.offset && lhs.timestamp == rhs.timestamp
            && lhs.timestampType == rhs.timestampType && lhs.fields.sameContent(as: rhs.fields)
    }

    /// Hashes the same fields ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(topic)
        hasher.combine(partition)
        hasher.combine(offset)
        hasher.combine(timestamp)
        hasher.combine(timestampType)
        fields.hashContent(into: &hasher)
    }
}

/// Consumer failures.
public enum KafkaConsumerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The operation needs a group id.
    case noGroupID
    /// The consumer was shut down.
    case shutDown
    /// The partition is not assigned to this consumer.
    case notAssigned(KafkaTopicPartition)
    /// No committed offset and the reset policy is `.none`, or the offset is out of range.
    case noOffset(KafkaTopicPartition)

    /// A readable description.
    public var description: String {
        switch self {
        case .noGroupID: "this operation needs a consumer group id"
        case .shutDown: "the consumer is shut down"
        case .notAssigned(let tp): "partition \(tp) is not assigned to this consumer"
        case .noOffset(let tp): "no valid offset for \(tp) and auto offset reset is none"
        }
    }
}

/// Rebalance notifications (partitions revoked before they move, assigned after).
public struct KafkaRebalanceListener: Sendable {
    /// Called before partitions are taken away (commit here if you manage offsets yourself).
    public var onRevoked: @Sendable ([KafkaTopicPartition]) async -> Void
    /// Called after partitions were assigned.
    public var onAssigned: @Sendable ([KafkaTopicPartition]) async -> Void
    /// Creates a listener.
    public init(onRevoked: @escaping @Sendable ([KafkaTopicPartition]) async -> Void = { _ in },
                onAssigned: @escaping @Sendable ([KafkaTopicPartition]) async -> Void = { _ in }) {
        self.onRevoked = onRevoked
        self.onAssigned = onAssigned
    }
}
