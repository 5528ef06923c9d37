import NIOCore
import WireCore

/// A CQL column or value type, as described by the `[option]` notation in result metadata.
public indirect enum CQLDataType: Sendable, Hashable, CustomStringConvertible {
    case custom(String)
    case ascii
    case bigint
    case blob
    case boolean
    case counter
    case decimal
    case double
    case float
    case int
    case timestamp
    case uuid
    case text
    case varint
    case timeuuid
    case inet
    case date
    case time
    case smallint
    case tinyint
    case duration
    case list(CQLDataType)
    case map(CQLDataType, CQLDataType)
    case set(CQLDataType)
    /// A user-defined type: keyspace, type name and its fields in order.
    case udt(keyspace: String, name: String, fields: [CQLField])
    case tuple([CQLDataType])
    /// `vector<element, dimension>` (Cassandra 5); on the wire a custom `VectorType`.
    case vector(CQLDataType, dimension: Int)

    /// A named field of a user-defined type.
    public struct CQLField: Sendable, Hashable {
        public var name: String
        public var type: CQLDataType
        public init(name: String, type: CQLDataType) {
            self.name = name
            self.type = type
        }
    }

    /// Type ids of spec section 6 ("[option]").
    public var id: UInt16 {
        switch self {
        case .custom, .vector: 0x0000
        case .ascii: 0x0001
        case .bigint: 0x0002
        case .blob: 0x0003
        case .boolean: 0x0004
        case .counter: 0x0005
        case .decimal: 0x0006
        case .double: 0x0007
        case .float: 0x0008
        case .int: 0x0009
        case .timestamp: 0x000B
        case .uuid: 0x000C
        case .text: 0x000D
        case .varint: 0x000E
        case .timeuuid: 0x000F
        case .inet: 0x0010
        case .date: 0x0011
        case .time: 0x0012
        case .smallint: 0x0013
        case .tinyint: 0x0014
        case .duration: 0x0015
        case .list: 0x0020
        case .map: 0x0021
        case .set: 0x0022
        case .udt: 0x0030
        case .tuple: 0x0031
        }
    }

    /// The CQL spelling, e.g. `map<text, frozen<address>>`.
    public var description: String {
        switch self {
        case .custom(let name): "'\(name)'"
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
        case .list(let e): "list<\(e)>"
        case .map(let k, let v): "map<\(k), \(v)>"
        case .set(let e): "set<\(e)>"
        case .udt(let ks, let name, _): "\(ks).\(name)"
        case .tuple(let types): "tuple<\(types.map(\.description).joined(separator: ", "))>"
        case .vector(let e, let n): "vector<\(e), \(n)>"
        }
    }

    /// The fixed encoded size of a value of this type, or nil when it is variable (used by vectors).
    public var fixedValueSize: Int? {
        switch self {
        case .bigint, .counter, .double, .timestamp, .time: 8
        case .int, .float, .date: 4
        case .smallint: 2
        case .tinyint, .boolean: 1
        case .uuid, .timeuuid: 16
        case .vector(let e, let n): e.fixedValueSize.map { $0 * n }
        default: nil
        }
    }

    /// Maximum nesting accepted when decoding type options from the network.
    static let maxNestingDepth = 32

    /// Reads an `[option]` describing a type.
    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLDataType {
        var copy = buffer
        let type = try decode(from: &copy, depth: 0)
        buffer = copy
        return type
    }

    private static func decode(from buffer: inout ByteBuffer, depth: Int) throws(WireDecodingError) -> CQLDataType {
        guard depth < maxNestingDepth else {
            throw .invalidValue(field: "type option", reason: "types nested deeper than \(maxNestingDepth)")
        }
        let id = try buffer.readCheckedInteger(as: UInt16.self, field: "type id")
        switch id {
        case 0x0000:
            let name = try buffer.readCQLString(field: "custom type class")
            return CQLDataType.parseCustom(name) ?? .custom(name)
        case 0x0001: return .ascii
        case 0x0002: return .bigint
        case 0x0003: return .blob
        case 0x0004: return .boolean
        case 0x0005: return .counter
        case 0x0006: return .decimal
        case 0x0007: return .double
        case 0x0008: return .float
        case 0x0009: return .int
        case 0x000A: return .text  // varchar alias in old versions
        case 0x000B: return .timestamp
        case 0x000C: return .uuid
        case 0x000D: return .text
        case 0x000E: return .varint
        case 0x000F: return .timeuuid
        case 0x0010: return .inet
        case 0x0011: return .date
        case 0x0012: return .time
        case 0x0013: return .smallint
        case 0x0014: return .tinyint
        case 0x0015: return .duration
        case 0x0020: return .list(try decode(from: &buffer, depth: depth + 1))
        case 0x0021:
            let key = try decode(from: &buffer, depth: depth + 1)
            return .map(key, try decode(from: &buffer, depth: depth + 1))
        case 0x0022: return .set(try decode(from: &buffer, depth: depth + 1))
        case 0x0030:
            let keyspace = try buffer.readCQLString(field: "udt keyspace")
            let name = try buffer.readCQLString(field: "udt name")
            let count = try buffer.readCQLShortCount(minimumElementSize: 4, field: "udt field count")
            var fields: [CQLField] = []
            fields.reserveCapacity(count)
            for _ in 0..<count {
                let fieldName = try buffer.readCQLString(field: "udt field name")
                fields.append(CQLField(name: fieldName, type: try decode(from: &buffer, depth: depth + 1)))
            }
            return .udt(keyspace: keyspace, name: name, fields: fields)
        case 0x0031:
            let count = try buffer.readCQLShortCount(minimumElementSize: 2, field: "tuple arity")
            var types: [CQLDataType] = []
            types.reserveCapacity(count)
            for _ in 0..<count { types.append(try decode(from: &buffer, depth: depth + 1)) }
            return .tuple(types)
        default:
            throw .invalidValue(field: "type id", reason: "unknown type id 0x\(String(id, radix: 16))")
        }
    }

    /// Writes this type as an `[option]`.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.id)
        switch self {
        case .custom(let name): buffer.writeCQLString(name)
        case .vector: buffer.writeCQLString(self.marshalClassName)
        case .list(let e), .set(let e): e.encode(into: &buffer)
        case .map(let k, let v):
            k.encode(into: &buffer)
            v.encode(into: &buffer)
        case .udt(let ks, let name, let fields):
            buffer.writeCQLString(ks)
            buffer.writeCQLString(name)
            buffer.writeInteger(UInt16(fields.count))
            for field in fields {
                buffer.writeCQLString(field.name)
                field.type.encode(into: &buffer)
            }
        case .tuple(let types):
            buffer.writeInteger(UInt16(types.count))
            for t in types { t.encode(into: &buffer) }
        default: break
        }
    }

    // MARK: custom (marshal class) names

    private static let marshalPrefix = "org.apache.cassandra.db.marshal."

    /// The Java marshal class name of the type (used inside custom `VectorType(...)` names).
    public var marshalClassName: String {
        let p = Self.marshalPrefix
        switch self {
        case .custom(let name): return name
        case .ascii: return p + "AsciiType"
        case .bigint: return p + "LongType"
        case .blob: return p + "BytesType"
        case .boolean: return p + "BooleanType"
        case .counter: return p + "CounterColumnType"
        case .decimal: return p + "DecimalType"
        case .double: return p + "DoubleType"
        case .float: return p + "FloatType"
        case .int: return p + "Int32Type"
        case .timestamp: return p + "TimestampType"
        case .uuid: return p + "UUIDType"
        case .text: return p + "UTF8Type"
        case .varint: return p + "IntegerType"
        case .timeuuid: return p + "TimeUUIDType"
        case .inet: return p + "InetAddressType"
        case .date: return p + "SimpleDateType"
        case .time: return p + "TimeType"
        case .smallint: return p + "ShortType"
        case .tinyint: return p + "ByteType"
        case .duration: return p + "DurationType"
        case .list(let e): return p + "ListType(\(e.marshalClassName))"
        case .set(let e): return p + "SetType(\(e.marshalClassName))"
        case .map(let k, let v): return p + "MapType(\(k.marshalClassName),\(v.marshalClassName))"
        case .tuple(let ts): return p + "TupleType(\(ts.map(\.marshalClassName).joined(separator: ",")))"
        case .udt(let ks, let name, _): return p + "UserType(\(ks),\(name))"
        case .vector(let e, let n): return p + "VectorType(\(e.marshalClassName), \(n))"
        }
    }

    /// Parses the marshal class names this client understands inside a custom type (vectors of
    /// simple and collection types); returns nil for anything else.
    static func parseCustom(_ name: String) -> CQLDataType? {
        var parser = MarshalNameParser(text: Substring(name))
        guard let type = parser.parse(depth: 0), parser.text.allSatisfy(\.isWhitespace) else { return nil }
        if case .vector = type { return type }
        return nil
    }

    private struct MarshalNameParser {
        var text: Substring

        mutating func skipSpaces() { self.text = self.text.drop(while: \.isWhitespace) }

        mutating func parse(depth: Int) -> CQLDataType? {
            guard depth < CQLDataType.maxNestingDepth else { return nil }
            self.skipSpaces()
            let nameEnd = self.text.firstIndex(where: { $0 == "(" || $0 == ")" || $0 == "," }) ?? self.text.endIndex
            var name = self.text[..<nameEnd].trimmingSuffixSpaces()
            self.text = self.text[nameEnd...]
            if name.hasPrefix(CQLDataType.marshalPrefix) { name = name.dropFirst(CQLDataType.marshalPrefix.count) }
            var args: [Substring] = []
            var typeArgs: [CQLDataType] = []
            if self.text.first == "(" {
                self.text = self.text.dropFirst()
                if name == "VectorType" {
                    guard let element = self.parse(depth: depth + 1) else { return nil }
                    typeArgs.append(element)
                    self.skipSpaces()
                    guard self.text.first == "," else { return nil }
                    self.text = self.text.dropFirst()
                    self.skipSpaces()
                    let digitsEnd = self.text.firstIndex(where: { !$0.isNumber }) ?? self.text.endIndex
                    args.append(self.text[..<digitsEnd])
                    self.text = self.text[digitsEnd...]
                } else {
                    while true {
                        guard let arg = self.parse(depth: depth + 1) else { return nil }
                        typeArgs.append(arg)
                        self.skipSpaces()
                        if self.text.first == "," { self.text = self.text.dropFirst(); continue }
                        break
                    }
                }
                self.skipSpaces()
                guard self.text.first == ")" else { return nil }
                self.text = self.text.dropFirst()
            }
            switch (name, typeArgs.count) {
            case ("AsciiType", 0): return .ascii
            case ("LongType", 0): return .bigint
            case ("BytesType", 0): return .blob
            case ("BooleanType", 0): return .boolean
            case ("CounterColumnType", 0): return .counter
            case ("DecimalType", 0): return .decimal
            case ("DoubleType", 0): return .double
            case ("FloatType", 0): return .float
            case ("Int32Type", 0): return .int
            case ("TimestampType", 0), ("DateType", 0): return .timestamp
            case ("UUIDType", 0): return .uuid
            case ("UTF8Type", 0): return .text
            case ("IntegerType", 0): return .varint
            case ("TimeUUIDType", 0): return .timeuuid
            case ("InetAddressType", 0): return .inet
            case ("SimpleDateType", 0): return .date
            case ("TimeType", 0): return .time
            case ("ShortType", 0): return .smallint
            case ("ByteType", 0): return .tinyint
            case ("DurationType", 0): return .duration
            case ("ListType", 1): return .list(typeArgs[0])
            case ("SetType", 1): return .set(typeArgs[0])
            case ("MapType", 2): return .map(typeArgs[0], typeArgs[1])
            case ("TupleType", _): return .tuple(typeArgs)
            case ("FrozenType", 1): return typeArgs[0]
            case ("VectorType", 1):
                guard let n = Int(args.first ?? ""), n > 0, n <= 1 << 20 else { return nil }
                return .vector(typeArgs[0], dimension: n)
            default: return nil
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingSuffixSpaces() -> Substring {
        var s = self
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return s
    }
}
