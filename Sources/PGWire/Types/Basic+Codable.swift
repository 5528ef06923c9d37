import Foundation
import NIOCore

// MARK: Bool

extension Bool: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .bool }
    public static var postgresArrayType: PostgresDataType { .boolArray }
    public static var postgresElementType: PostgresDataType { .bool }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self ? 1 : 0, as: UInt8.self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .bool else { throw mismatch(Bool.self, type, format) }
        switch format {
        case .binary:
            guard buffer.readableBytes == 1, let b = buffer.readInteger(as: UInt8.self) else { throw invalid(Bool.self, type, format, "expected 1 byte") }
            self = b != 0
        case .text:
            switch buffer.readAllString() {
            case "t": self = true
            case "f": self = false
            case let s: throw invalid(Bool.self, type, format, "'\(s)'")
            }
        }
    }
}

// MARK: Integers

/// Decodes any PostgreSQL integer column (int2/int4/int8/oid) into `T`, checking range.
@inlinable
func decodeInteger<T: FixedWidthInteger>(_ t: T.Type, _ buffer: inout ByteBuffer, _ type: PostgresDataType, _ format: PostgresFormat) throws -> T {
    switch format {
    case .binary:
        let value: Int64
        switch (type, buffer.readableBytes) {
        case (.int2, 2): value = Int64(buffer.readInteger(as: Int16.self)!)
        case (.int4, 4): value = Int64(buffer.readInteger(as: Int32.self)!)
        case (.int8, 8): value = buffer.readInteger(as: Int64.self)!
        case (.oid, 4): value = Int64(buffer.readInteger(as: UInt32.self)!)
        case (.int2, _), (.int4, _), (.int8, _), (.oid, _): throw invalid(T.self, type, format, "wrong length \(buffer.readableBytes)")
        default: throw mismatch(T.self, type, format)
        }
        guard let v = T(exactly: value) else { throw invalid(T.self, type, format, "\(value) out of range") }
        return v
    case .text:
        guard [.int2, .int4, .int8, .oid, .numeric, .text, .varchar, .unknown].contains(type) else { throw mismatch(T.self, type, format) }
        let s = buffer.readAllString()
        guard let v = T(s) else { throw invalid(T.self, type, format, "'\(s)'") }
        return v
    }
}

extension Int16: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .int2 }
    public static var postgresArrayType: PostgresDataType { .int2Array }
    public static var postgresElementType: PostgresDataType { .int2 }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = try decodeInteger(Int16.self, &buffer, type, format)
    }
}

extension Int32: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .int4 }
    public static var postgresArrayType: PostgresDataType { .int4Array }
    public static var postgresElementType: PostgresDataType { .int4 }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = try decodeInteger(Int32.self, &buffer, type, format)
    }
}

extension Int64: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { .int8Array }
    public static var postgresElementType: PostgresDataType { .int8 }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = try decodeInteger(Int64.self, &buffer, type, format)
    }
}

extension Int: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .int8 }
    public static var postgresArrayType: PostgresDataType { .int8Array }
    public static var postgresElementType: PostgresDataType { .int8 }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(Int64(self)) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = try decodeInteger(Int.self, &buffer, type, format)
    }
}

extension UInt32: PostgresCodable {
    /// Sent as `oid`.
    public var postgresType: PostgresDataType { .oid }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = try decodeInteger(UInt32.self, &buffer, type, format)
    }
}

// MARK: Floating point

extension Float: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .float4 }
    public static var postgresArrayType: PostgresDataType { .float4Array }
    public static var postgresElementType: PostgresDataType { .float4 }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self.bitPattern) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        switch (type, format, buffer.readableBytes) {
        case (.float4, .binary, 4): self = Float(bitPattern: buffer.readInteger(as: UInt32.self)!)
        case (.float8, .binary, 8): self = Float(Double(bitPattern: buffer.readInteger(as: UInt64.self)!))
        case (.float4, .text, _), (.float8, .text, _):
            let s = buffer.readAllString()
            guard let v = parsePostgresFloat(s).map(Float.init) else { throw invalid(Float.self, type, format, "'\(s)'") }
            self = v
        default: throw mismatch(Float.self, type, format)
        }
    }
}

extension Double: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .float8 }
    public static var postgresArrayType: PostgresDataType { .float8Array }
    public static var postgresElementType: PostgresDataType { .float8 }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(self.bitPattern) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        switch (type, format, buffer.readableBytes) {
        case (.float8, .binary, 8): self = Double(bitPattern: buffer.readInteger(as: UInt64.self)!)
        case (.float4, .binary, 4): self = Double(Float(bitPattern: buffer.readInteger(as: UInt32.self)!))
        case (.numeric, .binary, _):
            let n = try PostgresNumeric(from: &buffer, type: type, format: format, context: context)
            guard let d = Double(n.description) else { throw invalid(Double.self, type, format, n.description) }
            self = d
        case (.float4, .text, _), (.float8, .text, _), (.numeric, .text, _):
            let s = buffer.readAllString()
            guard let v = parsePostgresFloat(s) else { throw invalid(Double.self, type, format, "'\(s)'") }
            self = v
        default: throw mismatch(Double.self, type, format)
        }
    }
}

func parsePostgresFloat(_ s: String) -> Double? {
    switch s {
    case "NaN": return .nan
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    default: return Double(s)
    }
}

// MARK: Strings

/// Built-in types whose binary representation is not text.
let nonTextualBinaryTypes: Set<PostgresDataType> = [
    .bool, .bytea, .int2, .int4, .int8, .oid, .float4, .float8, .numeric, .date, .time, .timetz, .timestamp,
    .timestamptz, .interval, .uuid, .inet, .cidr, .macaddr, .int4range, .int8range, .numrange, .tsrange,
    .tstzrange, .daterange, .record,
]

extension String: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .text }
    public static var postgresArrayType: PostgresDataType { .textArray }
    public static var postgresElementType: PostgresDataType { .text }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeString(self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        if format == .binary {
            if type == .jsonb {
                guard buffer.readInteger(as: UInt8.self) == 1 else { throw invalid(String.self, type, format, "unknown jsonb version") }
            } else if nonTextualBinaryTypes.contains(type) || type.elementType != nil {
                throw mismatch(String.self, type, format)
            }
        }
        guard let s = buffer.readString(length: buffer.readableBytes) else { throw invalid(String.self, type, format, "not UTF-8") }
        self = s
    }
}

/// A text value sent with type `unknown`, letting the server infer the parameter type
/// (use it for enums, hstore literals and other types without a binary codec here).
public struct PostgresUntypedText: PostgresEncodable, Hashable {
    /// The text representation.
    public var text: String
    /// Wraps a text representation.
    public init(_ text: String) { self.text = text }
    public var postgresType: PostgresDataType { .unspecified }
    public var postgresFormat: PostgresFormat { .text }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeString(text) }
}

// MARK: bytea

extension ByteBuffer: PostgresCodable {
    public var postgresType: PostgresDataType { .bytea }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { var c = self; buffer.writeBuffer(&c) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard format == .binary else { throw mismatch(ByteBuffer.self, type, format) }
        self = buffer.readSlice(length: buffer.readableBytes)!
    }
}

extension Data: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .bytea }
    public static var postgresArrayType: PostgresDataType { .byteaArray }
    public static var postgresElementType: PostgresDataType { .bytea }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeBytes(self) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard format == .binary, type == .bytea else { throw mismatch(Data.self, type, format) }
        self = Data(buffer.readBytes(length: buffer.readableBytes)!)
    }
}

// MARK: UUID

extension UUID: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .uuid }
    public static var postgresArrayType: PostgresDataType { .uuidArray }
    public static var postgresElementType: PostgresDataType { .uuid }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        _ = withUnsafeBytes(of: self.uuid) { buffer.writeBytes($0) }
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        switch (type, format) {
        case (.uuid, .binary):
            guard buffer.readableBytes == 16, let b = buffer.readBytes(length: 16) else { throw invalid(UUID.self, type, format, "expected 16 bytes") }
            self = UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
        case (.uuid, .text), (.text, _), (.varchar, _):
            let s = buffer.readAllString()
            guard let u = UUID(uuidString: s) else { throw invalid(UUID.self, type, format, "'\(s)'") }
            self = u
        default: throw mismatch(UUID.self, type, format)
        }
    }
}
