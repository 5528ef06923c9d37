import NIOCore

/// A 16-byte UUID as Kafka sends it (topic ids, member ids in KIP-848).
public struct KafkaUUID: Sendable, Hashable, CustomStringConvertible {
    /// The most significant 64 bits.
    public var high: UInt64
    /// The least significant 64 bits.
    public var low: UInt64
    /// The all-zero UUID (Kafka's "no id").
    public static let zero = KafkaUUID(high: 0, low: 0)
    /// Creates a UUID from its two halves.
    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }
    /// Hex form.
    public var description: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }
}

/// A decoded or to-be-encoded field value. The schema decides the wire type; this only holds the value.
public enum KafkaValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Any integer type (int8 ... int64, uint16).
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes(ByteBuffer)
    case uuid(KafkaUUID)
    case array([KafkaValue])
    case structure(KafkaStruct)
}

extension KafkaValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral, ExpressibleByDictionaryLiteral
{
    /// A structure value.
    public init(dictionaryLiteral elements: (String, KafkaValue)...) {
        self = .structure(KafkaStruct(Dictionary(elements, uniquingKeysWith: { $1 })))
    }
    /// An integer value.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A bool value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array value.
    public init(arrayLiteral elements: KafkaValue...) { self = .array(elements) }
    /// Null.
    public init(nilLiteral: ()) { self = .null }

    /// A nullable string.
    @inlinable public static func optionalString(_ value: String?) -> KafkaValue { value.map { .string($0) } ?? .null }
    /// An array of structures.
    @inlinable public static func structs(_ values: [KafkaStruct]) -> KafkaValue { .array(values.map { .structure($0) }) }

    /// The integer held, or nil.
    @inlinable public var intValue: Int64? { if case .int(let v) = self { return v } else { return nil } }
    /// The string held, or nil.
    @inlinable public var stringValue: String? { if case .string(let v) = self { return v } else { return nil } }
    /// The structure held, or nil.
    @inlinable public var structValue: KafkaStruct? { if case .structure(let v) = self { return v } else { return nil } }
    /// The array held, or nil.
    @inlinable public var arrayValue: [KafkaValue]? { if case .array(let v) = self { return v } else { return nil } }
}

/// The values of one message or nested structure, by field name.
///
/// Accessors return the schema's zero value when a field is absent, so code reading a response does
/// not need to know which version carried which field.
public struct KafkaStruct: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The values by field name.
    public var values: [String: KafkaValue]

    /// An empty structure.
    public init() { values = [:] }
    /// A structure from values by name.
    public init(_ values: [String: KafkaValue]) { self.values = values }
    /// A structure from a literal.
    public init(dictionaryLiteral elements: (String, KafkaValue)...) {
        values = Dictionary(elements, uniquingKeysWith: { $1 })
    }

    /// The value of `name`, or nil.
    @inlinable public subscript(_ name: String) -> KafkaValue? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// An integer field (0 when absent or null).
    @inlinable public func int(_ name: String) -> Int64 { values[name]?.intValue ?? 0 }
    /// An int16 field.
    @inlinable public func int16(_ name: String) -> Int16 { Int16(truncatingIfNeeded: int(name)) }
    /// An int32 field.
    @inlinable public func int32(_ name: String) -> Int32 { Int32(truncatingIfNeeded: int(name)) }
    /// An int64 field.
    @inlinable public func int64(_ name: String) -> Int64 { int(name) }
    /// A bool field.
    @inlinable public func bool(_ name: String) -> Bool { if case .bool(let b)? = values[name] { return b } else { return false } }
    /// A (nullable) string field.
    @inlinable public func string(_ name: String) -> String? { values[name]?.stringValue }
    /// A (nullable) bytes or records field.
    @inlinable public func bytes(_ name: String) -> ByteBuffer? { if case .bytes(let b)? = values[name] { return b } else { return nil } }
    /// A UUID field.
    @inlinable public func uuid(_ name: String) -> KafkaUUID { if case .uuid(let u)? = values[name] { return u } else { return .zero } }
    /// A nested structure field (empty when absent).
    @inlinable public func structure(_ name: String) -> KafkaStruct { values[name]?.structValue ?? KafkaStruct() }
    /// An array-of-structures field (empty when absent or null).
    @inlinable public func structs(_ name: String) -> [KafkaStruct] {
        (values[name]?.arrayValue ?? []).compactMap(\.structValue)
    }
    /// An array-of-integers field.
    @inlinable public func ints(_ name: String) -> [Int64] { (values[name]?.arrayValue ?? []).compactMap(\.intValue) }
    /// An array-of-strings field.
    @inlinable public func strings(_ name: String) -> [String] { (values[name]?.arrayValue ?? []).compactMap(\.stringValue) }
}
