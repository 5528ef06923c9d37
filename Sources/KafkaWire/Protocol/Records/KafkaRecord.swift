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
public struct KafkaRecord: Sendable, Hashable {
    /// The record's offset in its partition.
    public var offset: Int64
    /// The timestamp in milliseconds since the epoch.
    public var timestamp: Int64
    /// How ``timestamp`` was set.
    public var timestampType: KafkaTimestampType
    /// The key (nil = null).
    public var key: ByteBuffer?
    /// The value (nil = null, a tombstone).
    public var value: ByteBuffer?
    /// The headers in order.
    public var headers: [KafkaHeader]

    /// Creates a record.
    public init(offset: Int64, timestamp: Int64, timestampType: KafkaTimestampType = .createTime, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader] = []) {
        self.offset = offset
        self.timestamp = timestamp
        self.timestampType = timestampType
        self.key = key
        self.value = value
        self.headers = headers
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
