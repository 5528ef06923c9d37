import NIOCore

/// An inclusive range of message versions, as written in Kafka's JSON definitions (`"3+"`, `"1-4"`, `"none"`).
public struct KafkaVersionRange: Sendable, Hashable {
    /// The lowest version in the range.
    public let lowest: Int16
    /// The highest version in the range (`Int16.max` for an open range).
    public let highest: Int16

    /// No version.
    public static let none = KafkaVersionRange(lowest: 1, highest: 0)
    /// `version` and every later one.
    public static func from(_ version: Int16) -> KafkaVersionRange { KafkaVersionRange(lowest: version, highest: .max) }
    /// `lowest` through `highest`, inclusive.
    public static func range(_ lowest: Int16, _ highest: Int16) -> KafkaVersionRange { KafkaVersionRange(lowest: lowest, highest: highest) }

    /// Whether `version` is in the range.
    @inlinable
    public func contains(_ version: Int16) -> Bool { version >= lowest && version <= highest }
}

/// The wire type of a field.
public indirect enum KafkaFieldType: Sendable {
    case bool, int8, int16, int32, int64, uint16, float64
    /// A string: int16 length (null = -1) or, in flexible versions, a compact length.
    case string
    /// Bytes: int32 length or, in flexible versions, a compact length.
    case bytes
    /// A record set (bytes holding record batches); decoded as an undecoded slice.
    case records
    /// A 16-byte UUID.
    case uuid
    /// An array of a primitive type.
    case array(KafkaFieldType)
    /// An array of structures with the given fields.
    case structArray([KafkaField])
    /// A nested structure with the given fields.
    case structure([KafkaField])
}

/// One field of a message schema: name, type and the versions it exists in.
public struct KafkaField: Sendable {
    /// The field's name as in Kafka's JSON definition (e.g. `"ErrorCode"`).
    public let name: String
    /// The wire type.
    public let type: KafkaFieldType
    /// The versions the field is present in.
    public let versions: KafkaVersionRange
    /// The versions in which the field may be null.
    public let nullableVersions: KafkaVersionRange
    /// The tag of a tagged field.
    public let tag: Int?
    /// The versions in which the field is sent as a tagged field.
    public let taggedVersions: KafkaVersionRange
    /// Overrides the message's flexible versions for this field (request header `ClientId`).
    public let flexibleVersions: KafkaVersionRange?
    /// The value used when the field is absent in a version or not set.
    public let defaultValue: KafkaValue?

    /// Creates a field description.
    public init(
        _ name: String, _ type: KafkaFieldType, _ versions: KafkaVersionRange,
        nullable: KafkaVersionRange = .none, tag: Int? = nil, tagged: KafkaVersionRange = .none,
        flexible: KafkaVersionRange? = nil, default defaultValue: KafkaValue? = nil
    ) {
        self.name = name
        self.type = type
        self.versions = versions
        self.nullableVersions = nullable
        self.tag = tag
        self.taggedVersions = tagged
        self.flexibleVersions = flexible
        self.defaultValue = defaultValue
    }

    /// The value a reader sees when the field is absent.
    public var zeroValue: KafkaValue {
        if let defaultValue { return defaultValue }
        switch type {
        case .bool: return .bool(false)
        case .int8, .int16, .int32, .int64, .uint16: return .int(0)
        case .float64: return .float(0)
        case .string: return .string("")
        case .bytes: return .bytes(ByteBuffer())
        case .records: return .null
        case .uuid: return .uuid(.zero)
        case .array, .structArray: return .array([])
        case .structure: return .structure(KafkaStruct())
        }
    }
}

/// The schema of one message (a request, response, header or embedded data structure).
public struct KafkaMessageSchema: Sendable {
    /// The message name, e.g. `"FetchRequest"`.
    public let name: String
    /// The API key (-1 for headers and data structures).
    public let apiKey: Int16
    /// The versions this client implements.
    public let versions: ClosedRange<Int16>
    /// The first flexible version (compact types and tagged fields), or nil if none is.
    public let flexibleFrom: Int16?
    /// The top-level fields in wire order.
    public let fields: [KafkaField]

    /// Creates a schema.
    public init(name: String, apiKey: Int16, versions: ClosedRange<Int16>, flexibleFrom: Int16?, fields: [KafkaField]) {
        self.name = name
        self.apiKey = apiKey
        self.versions = versions
        self.flexibleFrom = flexibleFrom
        self.fields = fields
    }

    /// Whether `version` uses the flexible encoding.
    @inlinable
    public func isFlexible(_ version: Int16) -> Bool {
        guard let flexibleFrom else { return false }
        return version >= flexibleFrom
    }
}

/// Namespace of the generated message schemas (see `Protocol/Generated`).
public enum KafkaSchemas {}
