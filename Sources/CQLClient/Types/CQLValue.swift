import struct Foundation.UUID

/// A decoded CQL value of any type — the dynamic representation behind `Decodable` rows and
/// `Encodable` bound values.
public indirect enum CQLValue: Sendable, Hashable {
    case null
    case ascii(String)
    case bigint(Int64)
    case blob([UInt8])
    case boolean(Bool)
    case counter(Int64)
    case decimal(CQLDecimal)
    case double(Double)
    case float(Float)
    case int(Int32)
    case timestamp(CQLTimestamp)
    case uuid(UUID)
    case text(String)
    case varint(CQLVarint)
    case timeuuid(UUID)
    case inet(CQLInet)
    case date(CQLDate)
    case time(CQLTime)
    case smallint(Int16)
    case tinyint(Int8)
    case duration(CQLDuration)
    case list([CQLValue])
    case set([CQLValue])
    case map([CQLMapEntry])
    case tuple([CQLValue])
    /// User-defined type value: fields in declaration order.
    case udt([CQLUDTField])
    case vector([CQLValue])
    /// A value of a custom type this client does not interpret.
    case custom([UInt8])

    public var isNull: Bool { self == .null }
}

/// One entry of a CQL map value.
public struct CQLMapEntry: Sendable, Hashable {
    public var key: CQLValue
    public var value: CQLValue
    public init(key: CQLValue, value: CQLValue) {
        self.key = key
        self.value = value
    }
}

/// One field of a UDT value.
public struct CQLUDTField: Sendable, Hashable {
    public var name: String
    public var value: CQLValue
    public init(name: String, value: CQLValue) {
        self.name = name
        self.value = value
    }
}

/// Errors converting between CQL values, Swift types and bytes.
public enum CQLTypeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A value could not be converted to the requested type.
    case typeMismatch(expected: String, found: String, context: String)
    /// A number did not fit the target integer type.
    case outOfRange(value: String, type: String, context: String)
    /// Encoded bytes were malformed for their type.
    case malformed(type: String, reason: String)
    /// A NULL was found where a non-optional Swift type was requested.
    case unexpectedNull(context: String)
    /// No column with this name exists in the result.
    case unknownColumn(String)
    /// The number of values did not match the number of bind markers / columns.
    case arityMismatch(expected: Int, found: Int, context: String)

    public var description: String {
        switch self {
        case .typeMismatch(let expected, let found, let context): "type mismatch at \(context): expected \(expected), found \(found)"
        case .outOfRange(let value, let type, let context): "value \(value) at \(context) does not fit \(type)"
        case .malformed(let type, let reason): "malformed \(type) value: \(reason)"
        case .unexpectedNull(let context): "unexpected NULL at \(context) (use an Optional)"
        case .unknownColumn(let name): "no column named \(name) in the result"
        case .arityMismatch(let expected, let found, let context): "\(context): expected \(expected) values, found \(found)"
        }
    }
}

extension CQLValue {
    /// A short name of the value's case, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .ascii: "ascii"
        case .bigint: "bigint"
        case .blob: "blob"
        case .boolean: "boolean"
        case .counter: "counter"
        case .decimal: "decimal"
        case .double: "double"
        case .float: "float"
        case .int: "int"
        case .timestamp: "timestamp"
        case .uuid: "uuid"
        case .text: "text"
        case .varint: "varint"
        case .timeuuid: "timeuuid"
        case .inet: "inet"
        case .date: "date"
        case .time: "time"
        case .smallint: "smallint"
        case .tinyint: "tinyint"
        case .duration: "duration"
        case .list: "list"
        case .set: "set"
        case .map: "map"
        case .tuple: "tuple"
        case .udt: "udt"
        case .vector: "vector"
        case .custom: "custom"
        }
    }

    /// The value as a signed integer, for any integer case that fits in 64 bits.
    public var integerValue: Int64? {
        switch self {
        case .tinyint(let v): Int64(v)
        case .smallint(let v): Int64(v)
        case .int(let v): Int64(v)
        case .bigint(let v), .counter(let v): v
        case .varint(let v): v.int64
        default: nil
        }
    }

    /// The value as a string, for text and ascii.
    public var stringValue: String? {
        switch self {
        case .text(let s), .ascii(let s): s
        default: nil
        }
    }
}
