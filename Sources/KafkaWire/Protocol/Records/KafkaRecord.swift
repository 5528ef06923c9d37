import NIOCore

/// A record header: a string key and an optional value.
public struct KafkaHeader: Sendable, Hashable {
    /// The header key.
    public var key: String
    /// The header value (nil = null).
    public var value: ByteBuffer?
    /// Creates a header.
    public init(key: String, value: ByteBuffer?) { self.key = key; self.value = value }
    /// Creates a header from bytes.
    public init(key: String, value: [UInt8]?) { self.key = key; self.value = value.map { ByteBuffer(bytes: $0) } }
}

/// How a record's timestamp was set.
public enum KafkaTimestampType: Int8, Sendable, Hashable {
    /// Set by the producer.
    case createTime = 0
    /// Set by the broker when it appended the record.
    case logAppendTime = 1
}

/// Compression of a record batch (attributes bits 0-2).
public enum KafkaCompression: Int8, Sendable, Hashable, CaseIterable {
    case none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4
}

/// One record as read from a partition.
///
/// Decoded records are views over their batch's one buffer: ``key``, ``value`` and ``headers`` are
/// sliced or parsed from it when read (each read of ``key``/``value`` returns a slice sharing the
/// batch's storage, no copy). Setting a field gives the record bytes of its own.
public struct KafkaRecord: Sendable, Hashable {
    /// The record's offset in its partition.
    public var offset: Int64
    /// The timestamp in milliseconds since the epoch.
    public var timestamp: Int64
    /// How ``timestamp`` was set.
    public var timestampType: KafkaTimestampType
    /// Key, value and headers as positions in a shared buffer.
    @usableFromInline var fields: KafkaRecordFields

    /// The key (nil = null).
    public var key: ByteBuffer? {
        @inlinable get { fields.key }
        set { fields = KafkaRecordFields(key: newValue, value: fields.value, headers: fields.headers) }
    }
    /// The value (nil = null, a tombstone).
    public var value: ByteBuffer? {
        @inlinable get { fields.value }
        set { fields = KafkaRecordFields(key: fields.key, value: newValue, headers: fields.headers) }
    }
    /// The headers in order.
    public var headers: [KafkaHeader] {
        @inlinable get { fields.headers }
        set { fields = KafkaRecordFields(key: fields.key, value: fields.value, headers: newValue) }
    }
    /// The key's size in bytes (nil = null), without slicing it.
    @inlinable public var keyCount: Int? { fields.keyCount }
    /// The value's size in bytes (nil = null), without slicing it.
    @inlinable public var valueCount: Int? { fields.valueCount }

    /// Creates a record.
    public init(offset: Int64, timestamp: Int64, timestampType: KafkaTimestampType = .createTime, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.fields = KafkaRecordFields(key: key, value: value, headers: headers)
    }

    /// A record whose fields are a view over a decoded batch.
    @inlinable
    init(offset: Int64, timestamp: Int64, timestampType: KafkaTimestampType, fields: KafkaRecordFields) {
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.fields = fields
    }

    /// Equal when offset, timestamp, timestamp type, key, value and headers are.
    public static func == (lhs: KafkaRecord, rhs: KafkaRecord) -> Bool {
        lhs.offset == rhs.offset && lhs.timestamp == rhs.timestamp && lhs.timestampType == rhs.timestampType
            && lhs.fields.sameContent(as: rhs.fields)
    }

    /// Hashes the same fields ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(offset)
        hasher.combine(timestamp)
        hasher.combine(timestampType)
        fields.hashContent(into: &hasher)
    }
}

/// A record to append to a batch.
public struct KafkaOutgoingRecord: Sendable {
    /// The key (nil = null).
    public var key: ByteBuffer?
    /// The value (nil = null).
    public var value: ByteBuffer?
    /// The headers.
    public var headers: [KafkaHeader]
    /// The timestamp in milliseconds since the epoch.
    public var timestamp: Int64

    /// Creates an outgoing record.
    public init(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader] = [], timestamp: Int64) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}
