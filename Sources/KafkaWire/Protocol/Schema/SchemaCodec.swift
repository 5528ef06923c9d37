import NIOCore
import WireCore

/// Encodes and decodes messages by walking a ``KafkaMessageSchema`` table.
///
/// Flexible versions use compact strings/bytes/arrays and a tagged-field section after each
/// structure; unknown tags are skipped on decode.
public enum KafkaSchemaCodec {
    /// Encodes `message` as version `version` of `schema`. Missing fields are written with their default.
    public static func encode(_ message: KafkaStruct, schema: KafkaMessageSchema, version: Int16, into buffer: inout ByteBuffer) throws(KafkaEncodingError) {
        try encodeStruct(message, fields: schema.fields, version: version, flexible: schema.isFlexible(version), into: &buffer)
    }

    /// Decodes version `version` of `schema` from `buffer`.
    public static func decode(_ buffer: inout ByteBuffer, schema: KafkaMessageSchema, version: Int16) throws(WireDecodingError) -> KafkaStruct {
        try decodeStruct(&buffer, fields: schema.fields, version: version, flexible: schema.isFlexible(version), depth: 0)
    }

    // MARK: Encoding

    static func encodeStruct(_ value: KafkaStruct, fields: [KafkaField], version: Int16, flexible: Bool, into buffer: inout ByteBuffer) throws(KafkaEncodingError) {
        var tagged: [(Int, KafkaField, KafkaValue)] = []
        for field in fields where field.versions.contains(version) {
            let fieldFlexible = field.flexibleVersions.map { $0.contains(version) } ?? flexible
            if flexible && field.taggedVersions.contains(version) {
                if let v = value.values[field.name], v != field.zeroValue, let tag = field.tag { tagged.append((tag, field, v)) }
                continue
            }
            try encodeValue(value.values[field.name] ?? field.zeroValue, field: field, type: field.type, version: version, flexible: fieldFlexible, into: &buffer)
        }
        if flexible {
            tagged.sort { $0.0 < $1.0 }
            buffer.writeUnsignedVarint(UInt64(tagged.count))
            for (tag, field, v) in tagged {
                var inner = ByteBuffer()
                try encodeValue(v, field: field, type: field.type, version: version, flexible: true, into: &inner)
                buffer.writeUnsignedVarint(UInt64(tag))
                buffer.writeUnsignedVarint(UInt64(inner.readableBytes))
                buffer.writeBuffer(&inner)
            }
        }
    }

    static func encodeValue(_ value: KafkaValue, field: KafkaField, type: KafkaFieldType, version: Int16, flexible: Bool, into buffer: inout ByteBuffer) throws(KafkaEncodingError) {
        let nullable = field.nullableVersions.contains(version)
        if case .null = value {
            switch type {
            case .string: guard nullable else { throw .nullNotAllowed(field.name) }
                buffer.writeLengthPrefix(flexible ? .compact : .int16, nil); return
            case .bytes, .records: guard nullable else { throw .nullNotAllowed(field.name) }
                buffer.writeLengthPrefix(flexible ? .compact : .int32, nil); return
            case .array, .structArray: guard nullable else { throw .nullNotAllowed(field.name) }
                buffer.writeLengthPrefix(flexible ? .compact : .int32, nil); return
            case .structure: guard nullable else { throw .nullNotAllowed(field.name) }
                buffer.writeInteger(Int8(-1)); return
            default: throw .nullNotAllowed(field.name)
            }
        }
        switch (type, value) {
        case (.bool, .bool(let b)): buffer.writeInteger(UInt8(b ? 1 : 0))
        case (.int8, .int(let v)): buffer.writeInteger(Int8(truncatingIfNeeded: v))
        case (.int16, .int(let v)): buffer.writeInteger(Int16(truncatingIfNeeded: v))
        case (.int32, .int(let v)): buffer.writeInteger(Int32(truncatingIfNeeded: v))
        case (.int64, .int(let v)): buffer.writeInteger(v)
        case (.uint16, .int(let v)): buffer.writeInteger(UInt16(truncatingIfNeeded: v))
        case (.float64, .float(let d)): buffer.writeInteger(d.bitPattern)
        case (.float64, .int(let v)): buffer.writeInteger(Double(v).bitPattern)
        case (.string, .string(let s)):
            if !flexible && s.utf8.count > Int(Int16.max) { throw .tooLong(field.name) }
            buffer.writeString(s, prefix: flexible ? .compact : .int16)
        case (.bytes, .bytes(let b)), (.records, .bytes(let b)):
            buffer.writeBytes(b, prefix: flexible ? .compact : .int32)
        case (.uuid, .uuid(let u)):
            buffer.writeInteger(u.high); buffer.writeInteger(u.low)
        case (.array(let element), .array(let items)):
            buffer.writeLengthPrefix(flexible ? .compact : .int32, items.count)
            for item in items { try encodeValue(item, field: field, type: element, version: version, flexible: flexible, into: &buffer) }
        case (.structArray(let fields), .array(let items)):
            buffer.writeLengthPrefix(flexible ? .compact : .int32, items.count)
            for item in items {
                guard case .structure(let s) = item else { throw .typeMismatch(field.name) }
                try encodeStruct(s, fields: fields, version: version, flexible: flexible, into: &buffer)
            }
        case (.structure(let fields), .structure(let s)):
            if nullable { buffer.writeInteger(Int8(1)) }
            try encodeStruct(s, fields: fields, version: version, flexible: flexible, into: &buffer)
        default:
            throw .typeMismatch(field.name)
        }
    }

    // MARK: Decoding

    static let maxDepth = 16

    static func decodeStruct(_ buffer: inout ByteBuffer, fields: [KafkaField], version: Int16, flexible: Bool, depth: Int) throws(WireDecodingError) -> KafkaStruct {
        guard depth < maxDepth else { throw .invalidValue(field: "structure", reason: "nesting too deep") }
        var result = KafkaStruct()
        result.values.reserveCapacity(fields.count)
        for field in fields {
            guard field.versions.contains(version) else {
                if let d = field.defaultValue { result.values[field.name] = d }
                continue
            }
            if flexible && field.taggedVersions.contains(version) {
                result.values[field.name] = field.zeroValue
                continue
            }
            let fieldFlexible = field.flexibleVersions.map { $0.contains(version) } ?? flexible
            result.values[field.name] = try decodeValue(&buffer, field: field, type: field.type, version: version, flexible: fieldFlexible, depth: depth)
        }
        if flexible {
            let count = try buffer.readUnsignedVarint32(field: "tagged field count")
            guard Int(count) <= buffer.readableBytes else { throw .invalidValue(field: "tagged field count", reason: "\(count) exceeds remaining bytes") }
            for _ in 0..<count {
                let tag = Int(try buffer.readUnsignedVarint32(field: "tag"))
                let size = Int(try buffer.readUnsignedVarint32(field: "tagged field size"))
                var slice = try buffer.readCheckedSlice(length: size, field: "tagged field")
                if let field = fields.first(where: { $0.tag == tag && $0.taggedVersions.contains(version) }) {
                    result.values[field.name] = try decodeValue(&slice, field: field, type: field.type, version: version, flexible: true, depth: depth)
                }
                // Unknown tags are skipped.
            }
        }
        return result
    }

    static func readCount(_ buffer: inout ByteBuffer, flexible: Bool, field: String) throws(WireDecodingError) -> Int? {
        let count = try buffer.readLengthPrefix(flexible ? .compact : .int32, maxLength: Int(Int32.max), field: field)
        if let count, count > buffer.readableBytes {
            throw .invalidValue(field: field, reason: "array count \(count) exceeds remaining \(buffer.readableBytes) bytes")
        }
        return count
    }

    static func decodeValue(_ buffer: inout ByteBuffer, field: KafkaField, type: KafkaFieldType, version: Int16, flexible: Bool, depth: Int) throws(WireDecodingError) -> KafkaValue {
        let name = field.name
        switch type {
        case .bool: return .bool(try buffer.readCheckedInteger(as: UInt8.self, field: name) != 0)
        case .int8: return .int(Int64(try buffer.readCheckedInteger(as: Int8.self, field: name)))
        case .int16: return .int(Int64(try buffer.readCheckedInteger(as: Int16.self, field: name)))
        case .int32: return .int(Int64(try buffer.readCheckedInteger(as: Int32.self, field: name)))
        case .int64: return .int(try buffer.readCheckedInteger(as: Int64.self, field: name))
        case .uint16: return .int(Int64(try buffer.readCheckedInteger(as: UInt16.self, field: name)))
        case .float64: return .float(Double(bitPattern: try buffer.readCheckedInteger(as: UInt64.self, field: name)))
        case .uuid:
            let high = try buffer.readCheckedInteger(as: UInt64.self, field: name)
            let low = try buffer.readCheckedInteger(as: UInt64.self, field: name)
            return .uuid(KafkaUUID(high: high, low: low))
        case .string:
            guard let s = try buffer.readNullableString(prefix: flexible ? .compact : .int16, maxLength: Int(Int32.max), field: name) else { return .null }
            return .string(s)
        case .bytes, .records:
            guard let b = try buffer.readNullableBytes(prefix: flexible ? .compact : .int32, maxLength: Int(Int32.max), field: name) else { return .null }
            return .bytes(b)
        case .array(let element):
            guard let count = try readCount(&buffer, flexible: flexible, field: name) else { return .null }
            var items: [KafkaValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try decodeValue(&buffer, field: field, type: element, version: version, flexible: flexible, depth: depth + 1)) }
            return .array(items)
        case .structArray(let fields):
            guard let count = try readCount(&buffer, flexible: flexible, field: name) else { return .null }
            var items: [KafkaValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(.structure(try decodeStruct(&buffer, fields: fields, version: version, flexible: flexible, depth: depth + 1))) }
            return .array(items)
        case .structure(let fields):
            if field.nullableVersions.contains(version) {
                let marker = try buffer.readCheckedInteger(as: Int8.self, field: name)
                if marker < 0 { return .null }
            }
            return .structure(try decodeStruct(&buffer, fields: fields, version: version, flexible: flexible, depth: depth + 1))
        }
    }
}

/// A message could not be encoded because a value does not fit its schema.
public enum KafkaEncodingError: Error, Sendable, Hashable {
    /// The field was null in a version where it is not nullable.
    case nullNotAllowed(String)
    /// The value's kind does not match the field's type.
    case typeMismatch(String)
    /// A string is longer than its int16 length prefix allows.
    case tooLong(String)
    /// The API has no version both sides support.
    case unsupportedVersion(api: String, version: Int16)
}
