import Foundation

/// Turns an `Encodable` value into a ``CQLValue``: ``CQLValueConvertible`` types map directly,
/// keyed containers become UDT-like named fields (bindable to UDT and `map<text, …>` columns),
/// unkeyed containers become lists.
public enum CQLValueEncoder {
    /// Encodes `value` into a dynamic CQL value.
    public static func encode<T: Encodable>(_ value: T) throws -> CQLValue {
        if let convertible = value as? any CQLValueConvertible { return convertible.cqlValue }
        let encoder = Impl(codingPath: [])
        try value.encode(to: encoder)
        return encoder.storage.value
    }

    final class Storage {
        enum Kind { case none, single(CQLValue), keyed([CQLUDTField]), unkeyed([CQLValue]) }
        var kind: Kind = .none
        var children: [(String, Storage)] = []
        var items: [Storage] = []

        var value: CQLValue {
            switch self.kind {
            case .none: return .null
            case .single(let v): return v
            case .keyed(let fields): return .udt(fields + self.children.map { CQLUDTField(name: $0.0, value: $0.1.value) })
            case .unkeyed(let values): return .list(values + self.items.map(\.value))
            }
        }
    }

    final class Impl: Encoder {
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }
        let storage = Storage()
        init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if case .keyed = self.storage.kind {} else { self.storage.kind = .keyed([]) }
            return KeyedEncodingContainer(Keyed<Key>(storage: self.storage, codingPath: self.codingPath))
        }
        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if case .unkeyed = self.storage.kind {} else { self.storage.kind = .unkeyed([]) }
            return Unkeyed(storage: self.storage, codingPath: self.codingPath)
        }
        func singleValueContainer() -> any SingleValueEncodingContainer { Single(storage: self.storage, codingPath: self.codingPath) }
    }

    static func value<T: Encodable>(of value: T, codingPath: [any CodingKey]) throws -> CQLValue {
        if let convertible = value as? any CQLValueConvertible { return convertible.cqlValue }
        let encoder = Impl(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.storage.value
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: Storage
        let codingPath: [any CodingKey]
        func append(_ key: Key, _ value: CQLValue) {
            guard case .keyed(var fields) = self.storage.kind else { return }
            fields.removeAll { $0.name == key.stringValue }
            fields.append(CQLUDTField(name: key.stringValue, value: value))
            self.storage.kind = .keyed(fields)
        }
        mutating func encodeNil(forKey key: Key) throws { self.append(key, .null) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            self.append(key, try CQLValueEncoder.value(of: value, codingPath: self.codingPath + [key]))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = Storage()
            child.kind = .keyed([])
            self.storage.children.append((key.stringValue, child))
            return KeyedEncodingContainer(Keyed<NestedKey>(storage: child, codingPath: self.codingPath + [key]))
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = Storage()
            child.kind = .unkeyed([])
            self.storage.children.append((key.stringValue, child))
            return Unkeyed(storage: child, codingPath: self.codingPath + [key])
        }
        mutating func superEncoder() -> any Encoder { Impl(codingPath: self.codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { Impl(codingPath: self.codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let storage: Storage
        let codingPath: [any CodingKey]
        var count: Int {
            if case .unkeyed(let v) = self.storage.kind { return v.count + self.storage.items.count }
            return 0
        }
        func append(_ value: CQLValue) {
            guard case .unkeyed(var values) = self.storage.kind else { return }
            values.append(value)
            self.storage.kind = .unkeyed(values)
        }
        mutating func encodeNil() throws { self.append(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            self.append(try CQLValueEncoder.value(of: value, codingPath: self.codingPath))
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = Storage()
            child.kind = .keyed([])
            self.storage.items.append(child)
            return KeyedEncodingContainer(Keyed<NestedKey>(storage: child, codingPath: self.codingPath))
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = Storage()
            child.kind = .unkeyed([])
            self.storage.items.append(child)
            return Unkeyed(storage: child, codingPath: self.codingPath)
        }
        mutating func superEncoder() -> any Encoder { Impl(codingPath: self.codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let storage: Storage
        let codingPath: [any CodingKey]
        mutating func encodeNil() throws { self.storage.kind = .single(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            self.storage.kind = .single(try CQLValueEncoder.value(of: value, codingPath: self.codingPath))
        }
    }
}
