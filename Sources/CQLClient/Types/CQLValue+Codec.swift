import NIOCore
import WireCore
import struct Foundation.UUID

extension CQLValue {
    /// Maximum nesting of collection / tuple / UDT values accepted from the network.
    static let maxDepth = 32

    /// Decodes a value of `type` from a cell (nil = NULL).
    public static func decode(_ cell: ByteBuffer?, as type: CQLDataType) throws(CQLTypeError) -> CQLValue {
        guard var cell else { return .null }
        return try decodeNonNull(&cell, as: type, depth: 0)
    }

    static func decodeNonNull(_ buffer: inout ByteBuffer, as type: CQLDataType, depth: Int) throws(CQLTypeError) -> CQLValue {
        guard depth < maxDepth else { throw .malformed(type: "\(type)", reason: "nested deeper than \(maxDepth)") }
        let size = buffer.readableBytes
        func fixed(_ n: Int) throws(CQLTypeError) {
            guard size == n else { throw .malformed(type: "\(type)", reason: "expected \(n) bytes, found \(size)") }
        }
        switch type {
        case .ascii, .text:
            guard let s = try? buffer.readCheckedString(length: size, field: "text") else {
                throw .malformed(type: "\(type)", reason: "invalid UTF-8")
            }
            if case .ascii = type { return .ascii(s) }
            return .text(s)
        case .bigint, .counter, .timestamp, .time:
            // v4 spec allows 0-byte values for "empty"; treat as null-like only for blobs, strict here
            try fixed(8)
            let v = buffer.readInteger(as: Int64.self)!
            switch type {
            case .bigint: return .bigint(v)
            case .counter: return .counter(v)
            case .timestamp: return .timestamp(CQLTimestamp(millisecondsSinceEpoch: v))
            default: return .time(CQLTime(nanosecondsSinceMidnight: v))
            }
        case .blob, .custom:
            let bytes = buffer.readBytes(length: size)!
            if case .blob = type { return .blob(bytes) }
            return .custom(bytes)
        case .boolean:
            try fixed(1)
            return .boolean(buffer.readInteger(as: UInt8.self)! != 0)
        case .decimal:
            guard size >= 4 else { throw .malformed(type: "decimal", reason: "needs at least 4 bytes") }
            let scale = buffer.readInteger(as: Int32.self)!
            let bytes = buffer.readBytes(length: size - 4)!
            return .decimal(CQLDecimal(unscaled: CQLVarint(bytes: bytes), scale: scale))
        case .double:
            try fixed(8)
            return .double(Double(bitPattern: buffer.readInteger(as: UInt64.self)!))
        case .float:
            try fixed(4)
            return .float(Float(bitPattern: buffer.readInteger(as: UInt32.self)!))
        case .int:
            try fixed(4)
            return .int(buffer.readInteger(as: Int32.self)!)
        case .uuid, .timeuuid:
            try fixed(16)
            let uuid = buffer.withUnsafeReadableBytes { raw in
                UUID(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10],
                            raw[11], raw[12], raw[13], raw[14], raw[15]))
            }
            buffer.moveReaderIndex(forwardBy: 16)
            if case .uuid = type { return .uuid(uuid) }
            return .timeuuid(uuid)
        case .varint:
            guard size >= 1 else { throw .malformed(type: "varint", reason: "empty") }
            return .varint(CQLVarint(bytes: buffer.readBytes(length: size)!))
        case .inet:
            guard let inet = CQLInet(bytes: buffer.readBytes(length: size)!) else {
                throw .malformed(type: "inet", reason: "address of \(size) bytes")
            }
            return .inet(inet)
        case .date:
            try fixed(4)
            return .date(CQLDate(wireValue: buffer.readInteger(as: UInt32.self)!))
        case .smallint:
            try fixed(2)
            return .smallint(buffer.readInteger(as: Int16.self)!)
        case .tinyint:
            try fixed(1)
            return .tinyint(buffer.readInteger(as: Int8.self)!)
        case .duration:
            let months = try readSignedVInt(&buffer, type: "duration")
            let days = try readSignedVInt(&buffer, type: "duration")
            let nanos = try readSignedVInt(&buffer, type: "duration")
            guard buffer.readableBytes == 0, let m = Int32(exactly: months), let d = Int32(exactly: days) else {
                throw .malformed(type: "duration", reason: "trailing bytes or out-of-range months/days")
            }
            return .duration(CQLDuration(months: m, days: d, nanoseconds: nanos))
        case .list(let element), .set(let element):
            let count = try readCount(&buffer, type: type)
            var values: [CQLValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readElement(&buffer, as: element, type: type, depth: depth)) }
            try expectEnd(buffer, type: type)
            if case .list = type { return .list(values) }
            return .set(values)
        case .map(let keyType, let valueType):
            let count = try readCount(&buffer, type: type)
            var entries: [CQLMapEntry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let key = try readElement(&buffer, as: keyType, type: type, depth: depth)
                entries.append(CQLMapEntry(key: key, value: try readElement(&buffer, as: valueType, type: type, depth: depth)))
            }
            try expectEnd(buffer, type: type)
            return .map(entries)
        case .tuple(let types):
            var values: [CQLValue] = []
            for t in types {
                if buffer.readableBytes == 0 { values.append(.null); continue }
                values.append(try readElement(&buffer, as: t, type: type, depth: depth))
            }
            try expectEnd(buffer, type: type)
            return .tuple(values)
        case .udt(_, _, let fields):
            var values: [CQLUDTField] = []
            for field in fields {
                // a UDT value may end early when fields were added to the type later
                if buffer.readableBytes == 0 { values.append(CQLUDTField(name: field.name, value: .null)); continue }
                values.append(CQLUDTField(name: field.name, value: try readElement(&buffer, as: field.type, type: type, depth: depth)))
            }
            try expectEnd(buffer, type: type)
            return .udt(values)
        case .vector(let element, let dimension):
            var values: [CQLValue] = []
            values.reserveCapacity(min(dimension, 1 << 16))
            if let elementSize = element.fixedValueSize {
                guard size == elementSize * dimension else {
                    throw .malformed(type: "\(type)", reason: "expected \(elementSize * dimension) bytes, found \(size)")
                }
                for _ in 0..<dimension {
                    var slice = buffer.readSlice(length: elementSize)!
                    values.append(try decodeNonNull(&slice, as: element, depth: depth + 1))
                }
            } else {
                for _ in 0..<dimension {
                    let length = try readUnsignedVInt(&buffer, type: "\(type)")
                    guard length <= UInt64(buffer.readableBytes) else {
                        throw .malformed(type: "\(type)", reason: "element length \(length) exceeds remaining \(buffer.readableBytes)")
                    }
                    var slice = buffer.readSlice(length: Int(length))!
                    values.append(try decodeNonNull(&slice, as: element, depth: depth + 1))
                }
                try expectEnd(buffer, type: type)
            }
            return .vector(values)
        }
    }

    private static func readCount(_ buffer: inout ByteBuffer, type: CQLDataType) throws(CQLTypeError) -> Int {
        guard let count = buffer.readInteger(as: Int32.self) else { throw .malformed(type: "\(type)", reason: "missing element count") }
        guard count >= 0, Int(count) * 4 <= buffer.readableBytes else {
            throw .malformed(type: "\(type)", reason: "element count \(count) impossible for \(buffer.readableBytes) bytes")
        }
        return Int(count)
    }

    private static func readElement(_ buffer: inout ByteBuffer, as element: CQLDataType, type: CQLDataType, depth: Int) throws(CQLTypeError) -> CQLValue {
        guard let length = buffer.readInteger(as: Int32.self) else {
            throw .malformed(type: "\(type)", reason: "missing element length")
        }
        if length < 0 { return .null }
        guard var slice = buffer.readSlice(length: Int(length)) else {
            throw .malformed(type: "\(type)", reason: "element length \(length) exceeds remaining \(buffer.readableBytes)")
        }
        return try decodeNonNull(&slice, as: element, depth: depth + 1)
    }

    private static func expectEnd(_ buffer: ByteBuffer, type: CQLDataType) throws(CQLTypeError) {
        guard buffer.readableBytes == 0 else { throw .malformed(type: "\(type)", reason: "\(buffer.readableBytes) trailing bytes") }
    }

    // MARK: Cassandra vints (VIntCoding: leading one-bits give the extra byte count, big-endian)

    static func readUnsignedVInt(_ buffer: inout ByteBuffer, type: String) throws(CQLTypeError) -> UInt64 {
        guard let first = buffer.readInteger(as: UInt8.self) else { throw .malformed(type: type, reason: "truncated vint") }
        let extra = (~first).leadingZeroBitCount
        guard extra > 0 else { return UInt64(first) }
        guard buffer.readableBytes >= extra else { throw .malformed(type: type, reason: "truncated vint") }
        var value: UInt64 = extra >= 8 ? 0 : UInt64(first & (0xFF >> UInt8(extra)))
        for _ in 0..<extra { value = value << 8 | UInt64(buffer.readInteger(as: UInt8.self)!) }
        return value
    }

    static func readSignedVInt(_ buffer: inout ByteBuffer, type: String) throws(CQLTypeError) -> Int64 {
        let raw = try readUnsignedVInt(&buffer, type: type)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    static func writeUnsignedVInt(_ value: UInt64, into buffer: inout ByteBuffer) {
        let magnitude = (value | 1).leadingZeroBitCount
        let size = (639 - magnitude * 9) >> 6
        if size == 1 {
            buffer.writeInteger(UInt8(value))
            return
        }
        let extra = size - 1
        var bytes = [UInt8](repeating: 0, count: size)
        var v = value
        for i in stride(from: size - 1, through: 0, by: -1) {
            bytes[i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
        bytes[0] |= ~(UInt8(0xFF) >> UInt8(extra))
        buffer.writeBytes(bytes)
    }

    static func writeSignedVInt(_ value: Int64, into buffer: inout ByteBuffer) {
        writeUnsignedVInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)), into: &buffer)
    }
}

extension CQLValue {
    /// Serializes the value for a column / bind marker of `type`, converting between compatible
    /// cases (any integer to any integer type that can hold it, float <-> double, text <-> ascii,
    /// uuid <-> timeuuid, list <-> set <-> vector, UDT fields by name). Returns nil for NULL.
    public func serialized(as type: CQLDataType, context: String = "value") throws(CQLTypeError) -> ByteBuffer? {
        if case .null = self { return nil }
        var buffer = ByteBuffer()
        try self.encodeNonNull(as: type, into: &buffer, context: context)
        return buffer
    }

    /// Writes the value's bytes (no length prefix). NULL must be handled by the caller.
    public func encodeNonNull(as type: CQLDataType, into buffer: inout ByteBuffer, context: String) throws(CQLTypeError) {
        func mismatch() -> CQLTypeError { .typeMismatch(expected: "\(type)", found: self.kindName, context: context) }
        func integer<T: FixedWidthInteger>(_: T.Type) throws(CQLTypeError) -> T {
            guard let v = self.integerValue else { throw mismatch() }
            guard let t = T(exactly: v) else { throw .outOfRange(value: String(v), type: "\(type)", context: context) }
            return t
        }
        switch type {
        case .ascii, .text:
            guard let s = self.stringValue else { throw mismatch() }
            buffer.writeString(s)
        case .bigint, .counter:
            buffer.writeInteger(try integer(Int64.self))
        case .int:
            buffer.writeInteger(try integer(Int32.self))
        case .smallint:
            buffer.writeInteger(try integer(Int16.self))
        case .tinyint:
            buffer.writeInteger(try integer(Int8.self))
        case .varint:
            if case .varint(let v) = self { buffer.writeBytes(v.bytes) } else { buffer.writeBytes(CQLVarint(try integer(Int64.self)).bytes) }
        case .blob, .custom:
            switch self {
            case .blob(let b), .custom(let b): buffer.writeBytes(b)
            default: throw mismatch()
            }
        case .boolean:
            guard case .boolean(let b) = self else { throw mismatch() }
            buffer.writeInteger(UInt8(b ? 1 : 0))
        case .decimal:
            switch self {
            case .decimal(let d):
                buffer.writeInteger(d.scale)
                buffer.writeBytes(d.unscaled.bytes)
            default:
                guard let v = self.integerValue else { throw mismatch() }
                buffer.writeInteger(Int32(0))
                buffer.writeBytes(CQLVarint(v).bytes)
            }
        case .double:
            switch self {
            case .double(let d): buffer.writeInteger(d.bitPattern)
            case .float(let f): buffer.writeInteger(Double(f).bitPattern)
            default: throw mismatch()
            }
        case .float:
            switch self {
            case .float(let f): buffer.writeInteger(f.bitPattern)
            case .double(let d): buffer.writeInteger(Float(d).bitPattern)
            default: throw mismatch()
            }
        case .timestamp:
            switch self {
            case .timestamp(let t): buffer.writeInteger(t.millisecondsSinceEpoch)
            case .bigint(let v): buffer.writeInteger(v)
            default: throw mismatch()
            }
        case .uuid, .timeuuid:
            switch self {
            case .uuid(let u), .timeuuid(let u):
                _ = withUnsafeBytes(of: u.uuid) { buffer.writeBytes($0) }
            default: throw mismatch()
            }
        case .inet:
            guard case .inet(let a) = self else { throw mismatch() }
            buffer.writeBytes(a.bytes)
        case .date:
            guard case .date(let d) = self else { throw mismatch() }
            buffer.writeInteger(d.wireValue)
        case .time:
            switch self {
            case .time(let t): buffer.writeInteger(t.nanosecondsSinceMidnight)
            case .bigint(let v): buffer.writeInteger(v)
            default: throw mismatch()
            }
        case .duration:
            guard case .duration(let d) = self else { throw mismatch() }
            CQLValue.writeSignedVInt(Int64(d.months), into: &buffer)
            CQLValue.writeSignedVInt(Int64(d.days), into: &buffer)
            CQLValue.writeSignedVInt(d.nanoseconds, into: &buffer)
        case .list(let element), .set(let element):
            let items: [CQLValue]
            switch self {
            case .list(let v), .set(let v), .vector(let v), .tuple(let v): items = v
            default: throw mismatch()
            }
            buffer.writeInteger(Int32(items.count))
            for (i, item) in items.enumerated() { try CQLValue.writeElement(item, as: element, into: &buffer, context: "\(context)[\(i)]") }
        case .map(let keyType, let valueType):
            let entries: [CQLMapEntry]
            switch self {
            case .map(let e): entries = e
            case .udt(let fields):
                // keyed containers (e.g. Swift dictionaries with String keys) bind to maps
                var converted: [CQLMapEntry] = []
                for field in fields {
                    var key = CQLValue.text(field.name)
                    switch keyType {
                    case .int, .bigint, .smallint, .tinyint, .varint:
                        guard let i = Int64(field.name) else { throw mismatch() }
                        key = .bigint(i)
                    default: break
                    }
                    converted.append(CQLMapEntry(key: key, value: field.value))
                }
                entries = converted
            default: throw mismatch()
            }
            buffer.writeInteger(Int32(entries.count))
            for entry in entries {
                try CQLValue.writeElement(entry.key, as: keyType, into: &buffer, context: "\(context).key")
                try CQLValue.writeElement(entry.value, as: valueType, into: &buffer, context: "\(context)[\(entry.key)]")
            }
        case .tuple(let types):
            let items: [CQLValue]
            switch self {
            case .tuple(let v), .list(let v): items = v
            default: throw mismatch()
            }
            guard items.count == types.count else { throw .arityMismatch(expected: types.count, found: items.count, context: context) }
            for (i, (item, t)) in zip(items, types).enumerated() {
                try CQLValue.writeElement(item, as: t, into: &buffer, context: "\(context).\(i)")
            }
        case .udt(_, _, let fields):
            guard case .udt(let values) = self else { throw mismatch() }
            for field in fields {
                let value = values.first { $0.name == field.name }?.value ?? .null
                try CQLValue.writeElement(value, as: field.type, into: &buffer, context: "\(context).\(field.name)")
            }
        case .vector(let element, let dimension):
            let items: [CQLValue]
            switch self {
            case .list(let v), .vector(let v): items = v
            default: throw mismatch()
            }
            guard items.count == dimension else { throw .arityMismatch(expected: dimension, found: items.count, context: context) }
            let fixedSize = element.fixedValueSize
            for (i, item) in items.enumerated() {
                guard item != .null else { throw .unexpectedNull(context: "\(context)[\(i)]") }
                if fixedSize != nil {
                    try item.encodeNonNull(as: element, into: &buffer, context: "\(context)[\(i)]")
                } else {
                    var element_ = ByteBuffer()
                    try item.encodeNonNull(as: element, into: &element_, context: "\(context)[\(i)]")
                    CQLValue.writeUnsignedVInt(UInt64(element_.readableBytes), into: &buffer)
                    buffer.writeBuffer(&element_)
                }
            }
        }
    }

    private static func writeElement(_ value: CQLValue, as type: CQLDataType, into buffer: inout ByteBuffer, context: String) throws(CQLTypeError) {
        if case .null = value {
            buffer.writeInteger(Int32(-1))
            return
        }
        let lengthIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        try value.encodeNonNull(as: type, into: &buffer, context: context)
        buffer.setInteger(Int32(buffer.writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    /// The natural CQL type of a value when no metadata is known (unprepared QUERY values).
    public var inferredType: CQLDataType? {
        switch self {
        case .null: nil
        case .ascii: .ascii
        case .bigint: .bigint
        case .blob: .blob
        case .boolean: .boolean
        case .counter: .counter
        case .decimal: .decimal
        case .double: .double
        case .float: .float
        case .int: .int
        case .timestamp: .timestamp
        case .uuid: .uuid
        case .text: .text
        case .varint: .varint
        case .timeuuid: .timeuuid
        case .inet: .inet
        case .date: .date
        case .time: .time
        case .smallint: .smallint
        case .tinyint: .tinyint
        case .duration: .duration
        case .list(let v): .list(v.lazy.compactMap(\.inferredType).first ?? .blob)
        case .set(let v): .set(v.lazy.compactMap(\.inferredType).first ?? .blob)
        case .vector(let v): .vector(v.lazy.compactMap(\.inferredType).first ?? .float, dimension: v.count)
        case .map(let e): .map(e.lazy.compactMap(\.key.inferredType).first ?? .blob, e.lazy.compactMap(\.value.inferredType).first ?? .blob)
        case .tuple(let v): .tuple(v.map { $0.inferredType ?? .blob })
        case .udt(let f): .udt(keyspace: "", name: "", fields: f.map { .init(name: $0.name, type: $0.value.inferredType ?? .blob) })
        case .custom: .blob
        }
    }
}
