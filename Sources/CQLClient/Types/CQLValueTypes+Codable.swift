/// `Codable` for the CQL value types, so `Decodable` row structs and `Encodable` bound values can
/// have `date`, `time`, `timestamp`, `duration`, `inet`, `varint`, `decimal` and `blob` properties.
///
/// Through ``CQLValueEncoder`` and row decoding these types map straight to their CQL values (they
/// are ``CQLValueConvertible``); the representations below are used by other coders (JSON, ...):
/// days / nanoseconds / milliseconds as integers, inet, varint and decimal as their text form.
extension CQLDate: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(daysSinceEpoch: try decoder.singleValueContainer().decode(Int32.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.daysSinceEpoch)
    }
}

extension CQLTime: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(nanosecondsSinceMidnight: try decoder.singleValueContainer().decode(Int64.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.nanosecondsSinceMidnight)
    }
}

extension CQLTimestamp: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(millisecondsSinceEpoch: try decoder.singleValueContainer().decode(Int64.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.millisecondsSinceEpoch)
    }
}

extension CQLDuration: Codable {
    private enum CodingKeys: String, CodingKey { case months, days, nanoseconds }
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(months: try container.decode(Int32.self, forKey: .months), days: try container.decode(Int32.self, forKey: .days),
                  nanoseconds: try container.decode(Int64.self, forKey: .nanoseconds))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.months, forKey: .months)
        try container.encode(self.days, forKey: .days)
        try container.encode(self.nanoseconds, forKey: .nanoseconds)
    }
}

/// Decodes a value from its text form with `parse`, failing with a data-corrupted error.
private func decodeText<T>(_ decoder: any Decoder, _ what: String, _ parse: (String) -> T?) throws -> T {
    let container = try decoder.singleValueContainer()
    let text = try container.decode(String.self)
    guard let value = parse(text) else {
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a valid \(what)")
    }
    return value
}

extension CQLInet: Codable {
    public init(from decoder: any Decoder) throws { self = try decodeText(decoder, "inet address") { CQLInet($0) } }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

extension CQLVarint: Codable {
    public init(from decoder: any Decoder) throws { self = try decodeText(decoder, "varint") { CQLVarint($0) } }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

extension CQLDecimal: Codable {
    public init(from decoder: any Decoder) throws { self = try decodeText(decoder, "decimal") { CQLDecimal($0) } }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

extension CQLBlob: Codable {
    public init(from decoder: any Decoder) throws { self.init(try decoder.singleValueContainer().decode([UInt8].self)) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.bytes)
    }
}
