import Foundation
import NIOCore

/// An error decoding a column value into a Swift type.
public struct PostgresDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// The value is NULL but the Swift type is not optional.
        case unexpectedNull
        /// The column's PostgreSQL type cannot be decoded into the Swift type.
        case typeMismatch
        /// The bytes are not a valid value of the column type.
        case invalidData(String)
    }
    /// What went wrong.
    public var kind: Kind
    /// The column's type.
    public var postgresType: PostgresDataType
    /// The column's format.
    public var format: PostgresFormat
    /// The Swift type that was requested.
    public var swiftType: String
    /// The column name or index, when known.
    public var column: String?

    /// Creates an error.
    public init(_ kind: Kind, type: PostgresDataType, format: PostgresFormat, swiftType: Any.Type, column: String? = nil) {
        self.kind = kind
        self.postgresType = type
        self.format = format
        self.swiftType = String(describing: swiftType)
        self.column = column
    }

    public var description: String {
        let where_ = column.map { " in column \($0)" } ?? ""
        switch kind {
        case .unexpectedNull: return "NULL\(where_) cannot be decoded as non-optional \(swiftType)"
        case .typeMismatch: return "\(postgresType) (\(format)) value\(where_) cannot be decoded as \(swiftType)"
        case .invalidData(let why): return "invalid \(postgresType) (\(format)) value\(where_) for \(swiftType): \(why)"
        }
    }
}

/// An error encoding a Swift value as a query parameter.
public struct PostgresEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why encoding failed.
    public var reason: String
    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "cannot encode parameter: \(reason)" }
}

/// Settings passed to codecs (JSON coders).
public struct PostgresCodingContext: Sendable {
    /// Encoder used for json/jsonb parameters.
    public var jsonEncoder: @Sendable (any Encodable) throws -> Data
    /// Decoder used for json/jsonb columns.
    public var jsonDecoder: @Sendable (any Decodable.Type, Data) throws -> any Decodable

    /// Foundation's JSONEncoder/JSONDecoder with default settings.
    public static let `default` = PostgresCodingContext(
        jsonEncoder: { try JSONEncoder().encode($0) },
        jsonDecoder: { type, data in try JSONDecoder().decode(type, from: data) })

    /// Creates a context.
    public init(jsonEncoder: @escaping @Sendable (any Encodable) throws -> Data,
                jsonDecoder: @escaping @Sendable (any Decodable.Type, Data) throws -> any Decodable) {
        self.jsonEncoder = jsonEncoder
        self.jsonDecoder = jsonDecoder
    }
}

/// A Swift value that can be sent as a bound parameter.
public protocol PostgresEncodable: Sendable {
    /// The PostgreSQL type this value is sent as.
    var postgresType: PostgresDataType { get }
    /// The format of the encoded bytes (binary unless overridden).
    var postgresFormat: PostgresFormat { get }
    /// Writes the value's bytes (without length prefix).
    func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws
    /// True when the value is SQL NULL (only `Optional.none`).
    var isPostgresNull: Bool { get }
}

extension PostgresEncodable {
    /// Binary by default.
    public var postgresFormat: PostgresFormat { .binary }
    /// False by default; `Optional.none` is NULL.
    public var isPostgresNull: Bool { false }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    /// The wrapped value's type (`unspecified` for `nil`, letting the server infer it).
    public var postgresType: PostgresDataType { self?.postgresType ?? .unspecified }
    /// The wrapped value's format.
    public var postgresFormat: PostgresFormat { self?.postgresFormat ?? .binary }
    /// True for `nil`.
    public var isPostgresNull: Bool { self == nil }
    /// Encodes the wrapped value (nothing for `nil`; callers write length -1).
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws {
        try self?.encode(into: &buffer, context: context)
    }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    public static var postgresArrayType: PostgresDataType { Wrapped.postgresArrayType }
    public static var postgresElementType: PostgresDataType { Wrapped.postgresElementType }
}

/// A Swift value that can be decoded from a column.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value.
    init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws
    /// Decodes a possibly NULL cell. The default throws on NULL; `Optional` returns `nil`.
    static func decodeCell(_ cell: ByteBuffer?, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws -> Self
}

extension PostgresDecodable {
    /// Throws ``PostgresDecodingError/Kind/unexpectedNull`` on NULL; otherwise decodes and checks all bytes were used.
    @inlinable
    public static func decodeCell(_ cell: ByteBuffer?, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws -> Self {
        guard var cell else { throw PostgresDecodingError(.unexpectedNull, type: type, format: format, swiftType: Self.self) }
        return try Self(from: &cell, type: type, format: format, context: context)
    }
}

/// A type that can be both sent and received.
public typealias PostgresCodable = PostgresEncodable & PostgresDecodable

/// A type usable as an element of a PostgreSQL array parameter.
public protocol PostgresArrayElement: PostgresEncodable {
    /// The array type whose elements are this type.
    static var postgresArrayType: PostgresDataType { get }
    /// The element type (used for empty arrays).
    static var postgresElementType: PostgresDataType { get }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// Decodes a non-NULL value.
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        self = .some(try Wrapped(from: &buffer, type: type, format: format, context: context))
    }

    /// NULL decodes as `nil`.
    @inlinable
    public static func decodeCell(_ cell: ByteBuffer?, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws -> Self {
        guard cell != nil else { return nil }
        return .some(try Wrapped.decodeCell(cell, type: type, format: format, context: context))
    }
}

@usableFromInline
func mismatch<T>(_ t: T.Type, _ type: PostgresDataType, _ format: PostgresFormat) -> PostgresDecodingError {
    PostgresDecodingError(.typeMismatch, type: type, format: format, swiftType: T.self)
}

@usableFromInline
func invalid<T>(_ t: T.Type, _ type: PostgresDataType, _ format: PostgresFormat, _ why: String) -> PostgresDecodingError {
    PostgresDecodingError(.invalidData(why), type: type, format: format, swiftType: T.self)
}

extension ByteBuffer {
    /// The remaining bytes as a String (UTF-8, lossless for valid input).
    @inlinable
    mutating func readAllString() -> String {
        self.readString(length: self.readableBytes) ?? ""
    }
}

extension ByteBuffer {
    /// Writes `value` as a length-prefixed cell (-1 for NULL).
    @inlinable
    mutating func writePostgresCell<T: PostgresEncodable>(_ value: T, context: PostgresCodingContext) throws {
        if value.isPostgresNull {
            writeInteger(Int32(-1))
            return
        }
        let lengthIndex = writerIndex
        writeInteger(Int32(0))
        try value.encode(into: &self, context: context)
        setInteger(Int32(truncatingIfNeeded: writerIndex - lengthIndex - 4), at: lengthIndex)
    }
}
