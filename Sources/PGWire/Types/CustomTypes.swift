import NIOCore

/// A user-defined type resolved by name in one database (OIDs differ per database).
public struct PostgresTypeInfo: Sendable, Hashable {
    /// What kind of type it is.
    public enum Kind: Sendable, Hashable {
        /// An enum with its labels in sort order.
        case enumeration(labels: [String])
        /// A composite type with its fields.
        case composite(fields: [Field])
        /// A base, domain, range or other type.
        case other(typtype: String)
    }

    /// One field of a composite type.
    public struct Field: Sendable, Hashable {
        /// Field name.
        public var name: String
        /// Field type.
        public var type: PostgresDataType
    }

    /// Type name.
    public var name: String
    /// The type's OID.
    public var oid: PostgresDataType
    /// The OID of the array type over this type.
    public var arrayOID: PostgresDataType
    /// Kind and details.
    public var kind: Kind
}

/// An enum value bound with its enum type's OID (binary format of an enum is its label).
public struct PostgresEnumValue: PostgresEncodable, Hashable {
    /// The label.
    public var label: String
    /// The enum type's OID.
    public var typeOID: PostgresDataType
    /// Creates a value of a resolved enum type.
    public init(_ label: String, type: PostgresTypeInfo) {
        self.label = label
        self.typeOID = type.oid
    }
    public var postgresType: PostgresDataType { typeOID }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeString(label) }
}

/// A composite (row) value read in binary format; each field keeps its type OID.
public struct PostgresRecord: PostgresDecodable {
    /// Fields: type and raw cell (`nil` = NULL).
    public var fields: [(type: PostgresDataType, value: ByteBuffer?)]
    let context: PostgresCodingContext

    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard format == .binary, PostgresDataType.nonCompositeBuiltins(type) == false else { throw mismatch(PostgresRecord.self, type, format) }
        guard let count = buffer.readInteger(as: Int32.self), count >= 0, Int(count) <= buffer.readableBytes / 8 else {
            throw invalid(PostgresRecord.self, type, format, "bad field count")
        }
        var fields: [(PostgresDataType, ByteBuffer?)] = []
        for _ in 0..<count {
            guard let oid = buffer.readInteger(as: UInt32.self), let len = buffer.readInteger(as: Int32.self), len >= -1 else {
                throw invalid(PostgresRecord.self, type, format, "truncated field header")
            }
            if len == -1 { fields.append((PostgresDataType(oid), nil)); continue }
            guard let slice = buffer.readSlice(length: Int(len)) else { throw invalid(PostgresRecord.self, type, format, "truncated field") }
            fields.append((PostgresDataType(oid), slice))
        }
        guard buffer.readableBytes == 0 else { throw invalid(PostgresRecord.self, type, format, "trailing bytes") }
        self.fields = fields
        self.context = context
    }

    /// Decodes field `index`.
    public func decode<T: PostgresDecodable>(field index: Int, as: T.Type = T.self) throws -> T {
        guard index >= 0, index < fields.count else { throw PostgresError.misuse("record has \(fields.count) fields, not \(index + 1)") }
        do {
            return try T.decodeCell(fields[index].value, type: fields[index].type, format: .binary, context: context)
        } catch let e as PostgresDecodingError {
            throw PostgresError.decoding(e)
        }
    }
}

/// A composite value to bind as a parameter of a resolved composite type.
public struct PostgresRecordValue: PostgresEncodable {
    /// The composite type.
    public let typeOID: PostgresDataType
    private let fieldTypes: [PostgresDataType]
    private var fields: [(PostgresDataType, ByteBuffer?)] = []
    private var error: String?

    /// Starts an empty value of `type`.
    public init(type: PostgresTypeInfo) {
        self.typeOID = type.oid
        if case .composite(let f) = type.kind { fieldTypes = f.map(\.type) } else { fieldTypes = [] }
    }

    /// Appends the next field (sent with the field type the composite declares).
    public mutating func append<T: PostgresEncodable>(_ value: T, context: PostgresCodingContext = .default) {
        let declared = fields.count < fieldTypes.count ? fieldTypes[fields.count] : value.postgresType
        if value.isPostgresNull { fields.append((declared, nil)); return }
        var b = ByteBuffer()
        do { try value.encode(into: &b, context: context) } catch { self.error = "\(error)" }
        fields.append((declared, b))
    }

    public var postgresType: PostgresDataType { typeOID }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws {
        if let error { throw PostgresEncodingError(error) }
        buffer.writeInteger(Int32(fields.count))
        for (t, v) in fields {
            buffer.writeInteger(t.rawValue)
            if var v {
                buffer.writeInteger(Int32(v.readableBytes))
                buffer.writeBuffer(&v)
            } else {
                buffer.writeInteger(Int32(-1))
            }
        }
    }
}

extension PostgresDataType {
    static func nonCompositeBuiltins(_ t: PostgresDataType) -> Bool {
        t != .record && (names[t.rawValue] != nil || elementOf[t.rawValue] != nil)
    }
}
