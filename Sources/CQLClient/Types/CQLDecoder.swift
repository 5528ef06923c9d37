import Foundation

/// Decodes a row into a `Decodable` value by column name.
struct CQLRowDecoder: Decoder {
    let row: CQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: self.row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        var values: [CQLValue] = []
        for i in 0..<self.row.count { values.append(try self.row.value(at: i)) }
        return CQLUnkeyedContainer(values: values, codingPath: [])
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard self.row.count == 1 else {
            throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a single value needs a one-column row"))
        }
        return CQLValueDecoder(value: try self.row.value(at: 0), codingPath: [])
    }

    struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: CQLRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { self.row.columns.compactMap { Key(stringValue: $0.name) } }

        func contains(_ key: Key) -> Bool { self.row.rows.columnIndex(named: key.stringValue) != nil }

        func value(_ key: Key) throws -> CQLValue {
            guard let i = self.row.rows.columnIndex(named: key.stringValue) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "no column named \(key.stringValue)"))
            }
            return try self.row.value(at: i)
        }

        func decodeNil(forKey key: Key) throws -> Bool { try self.value(key) == .null }

        // Non-generic entry points for the common column types: they skip the dynamic cast of
        // the generic path (a measurable share of row decoding).
        private func primitive<T: CQLValueConvertible>(_ key: Key, as type: T.Type) throws -> T {
            let value = try self.value(key)
            if value == .null { throw CQLTypeError.unexpectedNull(context: key.stringValue) }
            return try T(cqlValue: value, context: key.stringValue)
        }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try self.primitive(key, as: type) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.primitive(key, as: type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try self.primitive(key, as: type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try self.primitive(key, as: type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.primitive(key, as: type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.primitive(key, as: type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.primitive(key, as: type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.primitive(key, as: type) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try CQLValueDecoder.decode(T.self, from: try self.value(key), codingPath: [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try CQLValueDecoder(value: try self.value(key), codingPath: [key]).container(keyedBy: NestedKey.self)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try CQLValueDecoder(value: try self.value(key), codingPath: [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { CQLRowDecoder(row: self.row) }
        func superDecoder(forKey key: Key) throws -> any Decoder { CQLValueDecoder(value: try self.value(key), codingPath: [key]) }
    }
}

/// Decodes one CQL value (UDTs as keyed containers, maps with text or integer keys as keyed
/// containers, lists / sets / tuples / vectors as unkeyed containers).
struct CQLValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: CQLValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from value: CQLValue, codingPath: [any CodingKey]) throws -> T {
        if let convertible = T.self as? any CQLValueConvertible.Type {
            let context = codingPath.map(\.stringValue).joined(separator: ".")
            if value == .null, !(T.self is any ExpressibleByNilLiteral.Type) { throw CQLTypeError.unexpectedNull(context: context) }
            return try convertible.init(cqlValue: value, context: context) as! T
        }
        return try T(from: CQLValueDecoder(value: value, codingPath: codingPath))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        var fields: [(String, CQLValue)] = []
        switch self.value {
        case .udt(let f): fields = f.map { ($0.name, $0.value) }
        case .map(let entries):
            for e in entries {
                switch e.key {
                case .text(let s), .ascii(let s): fields.append((s, e.value))
                default:
                    guard let i = e.key.integerValue else {
                        throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: self.codingPath, debugDescription: "map keys must be text or integers"))
                    }
                    fields.append((String(i), e.value))
                }
            }
        default:
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: self.codingPath, debugDescription: "expected a UDT or map, found \(self.value.kindName)"))
        }
        return KeyedDecodingContainer(FieldContainer<Key>(fields: fields, codingPath: self.codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch self.value {
        case .list(let v), .set(let v), .tuple(let v), .vector(let v): return CQLUnkeyedContainer(values: v, codingPath: self.codingPath)
        case .map(let entries): return CQLUnkeyedContainer(values: entries.flatMap { [$0.key, $0.value] }, codingPath: self.codingPath)
        default:
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: self.codingPath, debugDescription: "expected a collection, found \(self.value.kindName)"))
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { self.value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Self.decode(T.self, from: self.value, codingPath: self.codingPath)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try Self.decode(Bool.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: String.Type) throws -> String { try Self.decode(String.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Self.decode(Double.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try Self.decode(Float.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try Self.decode(Int.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Self.decode(Int8.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Self.decode(Int16.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Self.decode(Int32.self, from: self.value, codingPath: self.codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Self.decode(Int64.self, from: self.value, codingPath: self.codingPath) }

    struct FieldContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [(String, CQLValue)]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { self.fields.compactMap { Key(stringValue: $0.0) } }
        func contains(_ key: Key) -> Bool { self.fields.contains { $0.0 == key.stringValue } }
        func value(_ key: Key) throws -> CQLValue {
            guard let v = self.fields.first(where: { $0.0 == key.stringValue }) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: self.codingPath, debugDescription: "no field \(key.stringValue)"))
            }
            return v.1
        }
        func decodeNil(forKey key: Key) throws -> Bool { try self.value(key) == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try CQLValueDecoder.decode(T.self, from: try self.value(key), codingPath: self.codingPath + [key])
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try CQLValueDecoder(value: try self.value(key), codingPath: self.codingPath + [key]).container(keyedBy: NestedKey.self)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try CQLValueDecoder(value: try self.value(key), codingPath: self.codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { CQLValueDecoder(value: .udt(self.fields.map { CQLUDTField(name: $0.0, value: $0.1) }), codingPath: self.codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { CQLValueDecoder(value: try self.value(key), codingPath: self.codingPath + [key]) }
    }
}

struct CQLUnkeyedContainer: UnkeyedDecodingContainer {
    let values: [CQLValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { self.values.count }
    var isAtEnd: Bool { self.currentIndex >= self.values.count }

    init(values: [CQLValue], codingPath: [any CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    struct IndexKey: CodingKey {
        var stringValue: String { String(self.intValue!) }
        var intValue: Int?
        init(_ i: Int) { self.intValue = i }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    mutating func next() throws -> CQLValue {
        guard !self.isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: self.codingPath, debugDescription: "collection exhausted"))
        }
        defer { self.currentIndex += 1 }
        return self.values[self.currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !self.isAtEnd, self.values[self.currentIndex] == .null else { return false }
        self.currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = self.codingPath + [IndexKey(self.currentIndex)]
        return try CQLValueDecoder.decode(T.self, from: try self.next(), codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let path = self.codingPath + [IndexKey(self.currentIndex)]
        return try CQLValueDecoder(value: try self.next(), codingPath: path).container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = self.codingPath + [IndexKey(self.currentIndex)]
        return try CQLValueDecoder(value: try self.next(), codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        CQLValueDecoder(value: try self.next(), codingPath: self.codingPath)
    }
}
