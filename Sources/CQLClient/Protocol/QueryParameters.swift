import NIOCore
import WireCore

/// One serialized bound value (`[value]`): bytes, null, or "not set" (v4+).
public enum CQLBoundValue: Sendable, Hashable {
    case bytes(ByteBuffer)
    case null
    /// Leaves the column unchanged (no tombstone).
    case unset

    func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .bytes(var bytes):
            buffer.writeInteger(Int32(bytes.readableBytes))
            buffer.writeBuffer(&bytes)
        case .null: buffer.writeInteger(Int32(-1))
        case .unset: buffer.writeInteger(Int32(-2))
        }
    }
}

/// The values bound to a statement: by position, or by name (QUERY only).
public enum CQLBoundValues: Sendable, Hashable {
    case positional([CQLBoundValue])
    case named([CQLNamedValue])

    /// No values.
    public static let none = CQLBoundValues.positional([])

    public var isEmpty: Bool {
        switch self {
        case .positional(let v): v.isEmpty
        case .named(let v): v.isEmpty
        }
    }

    var count: Int {
        switch self {
        case .positional(let v): v.count
        case .named(let v): v.count
        }
    }
}

/// A value bound by name.
public struct CQLNamedValue: Sendable, Hashable {
    public var name: String
    public var value: CQLBoundValue
    public init(name: String, value: CQLBoundValue) {
        self.name = name
        self.value = value
    }
}

/// `<query_parameters>` of QUERY and EXECUTE (spec section 4.1.4).
public struct CQLQueryParameters: Sendable, Hashable {
    public var consistency: CQLConsistency
    public var values: CQLBoundValues
    /// Ask the server to omit result metadata (EXECUTE when the prepared metadata is known).
    public var skipMetadata: Bool
    /// Rows per page; nil means the server default (no paging flag).
    public var pageSize: Int32?
    public var pagingState: [UInt8]?
    public var serialConsistency: CQLConsistency?
    /// Client-side write timestamp in microseconds since the epoch.
    public var defaultTimestamp: Int64?
    /// v5 only: the keyspace the query runs in.
    public var keyspace: String?
    /// v5 only: the "current time" for TTL and function evaluation, in seconds.
    public var nowInSeconds: Int32?

    public init(consistency: CQLConsistency = .localOne, values: CQLBoundValues = .none, skipMetadata: Bool = false,
                pageSize: Int32? = nil, pagingState: [UInt8]? = nil, serialConsistency: CQLConsistency? = nil,
                defaultTimestamp: Int64? = nil, keyspace: String? = nil, nowInSeconds: Int32? = nil) {
        self.consistency = consistency
        self.values = values
        self.skipMetadata = skipMetadata
        self.pageSize = pageSize
        self.pagingState = pagingState
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
        self.keyspace = keyspace
        self.nowInSeconds = nowInSeconds
    }

    /// Query flag bits.
    public struct Flags: OptionSet, Sendable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let values = Flags(rawValue: 0x01)
        public static let skipMetadata = Flags(rawValue: 0x02)
        public static let pageSize = Flags(rawValue: 0x04)
        public static let pagingState = Flags(rawValue: 0x08)
        public static let serialConsistency = Flags(rawValue: 0x10)
        public static let defaultTimestamp = Flags(rawValue: 0x20)
        public static let namesForValues = Flags(rawValue: 0x40)
        public static let keyspace = Flags(rawValue: 0x80)
        public static let nowInSeconds = Flags(rawValue: 0x100)
    }

    func flags(version: CQLProtocolVersion, alwaysIncludeValues: Bool = false) -> Flags {
        var flags: Flags = []
        if !self.values.isEmpty || alwaysIncludeValues {
            flags.insert(.values)
            if case .named = self.values { flags.insert(.namesForValues) }
        }
        if self.skipMetadata { flags.insert(.skipMetadata) }
        if self.pageSize != nil { flags.insert(.pageSize) }
        if self.pagingState != nil { flags.insert(.pagingState) }
        if self.serialConsistency != nil { flags.insert(.serialConsistency) }
        if self.defaultTimestamp != nil { flags.insert(.defaultTimestamp) }
        if version >= .v5 {
            if self.keyspace != nil { flags.insert(.keyspace) }
            if self.nowInSeconds != nil { flags.insert(.nowInSeconds) }
        }
        return flags
    }

    /// Writes the parameters. `keyspace` and `nowInSeconds` are dropped on v4 (they have no encoding there).
    public func encode(into buffer: inout ByteBuffer, version: CQLProtocolVersion, alwaysIncludeValues: Bool = false) {
        buffer.writeInteger(self.consistency.rawValue)
        let flags = self.flags(version: version, alwaysIncludeValues: alwaysIncludeValues)
        if version >= .v5 {
            buffer.writeInteger(flags.rawValue)
        } else {
            buffer.writeInteger(UInt8(truncatingIfNeeded: flags.rawValue))
        }
        if flags.contains(.values) {
            buffer.writeInteger(UInt16(truncatingIfNeeded: self.values.count))
            switch self.values {
            case .positional(let values):
                for value in values { value.encode(into: &buffer) }
            case .named(let values):
                for value in values {
                    buffer.writeCQLString(value.name)
                    value.value.encode(into: &buffer)
                }
            }
        }
        if let pageSize = self.pageSize { buffer.writeInteger(pageSize) }
        if let pagingState = self.pagingState { buffer.writeBytes(pagingState, prefix: .int32) }
        if let serial = self.serialConsistency { buffer.writeInteger(serial.rawValue) }
        if let timestamp = self.defaultTimestamp { buffer.writeInteger(timestamp) }
        if flags.contains(.keyspace), let keyspace = self.keyspace { buffer.writeCQLString(keyspace) }
        if flags.contains(.nowInSeconds), let now = self.nowInSeconds { buffer.writeInteger(now) }
    }
}
