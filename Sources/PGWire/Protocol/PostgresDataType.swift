/// A PostgreSQL type OID.
public struct PostgresDataType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The OID.
    public var rawValue: UInt32
    /// Wraps an OID.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Wraps an OID.
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public var description: String { Self.names[rawValue] ?? "oid \(rawValue)" }

    /// Unspecified (let the server infer).
    public static let unspecified = Self(0)
    public static let bool = Self(16)
    public static let bytea = Self(17)
    public static let char = Self(18)
    public static let name = Self(19)
    public static let int8 = Self(20)
    public static let int2 = Self(21)
    public static let int4 = Self(23)
    public static let text = Self(25)
    public static let oid = Self(26)
    public static let json = Self(114)
    public static let xml = Self(142)
    public static let cidr = Self(650)
    public static let float4 = Self(700)
    public static let float8 = Self(701)
    public static let unknown = Self(705)
    public static let macaddr = Self(829)
    public static let inet = Self(869)
    public static let bpchar = Self(1042)
    public static let varchar = Self(1043)
    public static let date = Self(1082)
    public static let time = Self(1083)
    public static let timestamp = Self(1114)
    public static let timestamptz = Self(1184)
    public static let interval = Self(1186)
    public static let timetz = Self(1266)
    public static let numeric = Self(1700)
    public static let void = Self(2278)
    public static let uuid = Self(2950)
    public static let jsonb = Self(3802)
    public static let int4range = Self(3904)
    public static let numrange = Self(3906)
    public static let tsrange = Self(3908)
    public static let tstzrange = Self(3910)
    public static let daterange = Self(3912)
    public static let int8range = Self(3926)
    public static let record = Self(2249)

    public static let boolArray = Self(1000)
    public static let byteaArray = Self(1001)
    public static let charArray = Self(1002)
    public static let nameArray = Self(1003)
    public static let int2Array = Self(1005)
    public static let int4Array = Self(1007)
    public static let textArray = Self(1009)
    public static let bpcharArray = Self(1014)
    public static let varcharArray = Self(1015)
    public static let int8Array = Self(1016)
    public static let float4Array = Self(1021)
    public static let float8Array = Self(1022)
    public static let macaddrArray = Self(1040)
    public static let inetArray = Self(1041)
    public static let cidrArray = Self(651)
    public static let jsonArray = Self(199)
    public static let dateArray = Self(1182)
    public static let timeArray = Self(1183)
    public static let timestampArray = Self(1115)
    public static let timestamptzArray = Self(1185)
    public static let intervalArray = Self(1187)
    public static let numericArray = Self(1231)
    public static let timetzArray = Self(1270)
    public static let uuidArray = Self(2951)
    public static let jsonbArray = Self(3807)
    public static let int4rangeArray = Self(3905)
    public static let int8rangeArray = Self(3927)

    /// The array type whose elements have this type, for built-in types.
    public var arrayType: PostgresDataType? { Self.arrayOf[rawValue].map { Self($0) } }
    /// The element type of this array type, for built-in array types.
    public var elementType: PostgresDataType? { Self.elementOf[rawValue].map { Self($0) } }

    static let arrayOf: [UInt32: UInt32] = [
        16: 1000, 17: 1001, 18: 1002, 19: 1003, 21: 1005, 23: 1007, 25: 1009, 1042: 1014, 1043: 1015,
        20: 1016, 700: 1021, 701: 1022, 829: 1040, 869: 1041, 650: 651, 114: 199, 1082: 1182, 1083: 1183,
        1114: 1115, 1184: 1185, 1186: 1187, 1700: 1231, 1266: 1270, 2950: 2951, 3802: 3807,
        3904: 3905, 3926: 3927, 26: 1028,
    ]
    static let elementOf: [UInt32: UInt32] = Dictionary(uniqueKeysWithValues: arrayOf.map { ($0.value, $0.key) })
    static let names: [UInt32: String] = [
        16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text",
        26: "oid", 114: "json", 650: "cidr", 700: "float4", 701: "float8", 705: "unknown", 829: "macaddr",
        869: "inet", 1042: "bpchar", 1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp",
        1184: "timestamptz", 1186: "interval", 1266: "timetz", 1700: "numeric", 2950: "uuid", 3802: "jsonb",
        3904: "int4range", 3906: "numrange", 3908: "tsrange", 3910: "tstzrange", 3912: "daterange",
        3926: "int8range", 2278: "void", 2249: "record",
    ]
}
