import Foundation
import NIOCore

/// The columns of a result, shared by all its rows.
public final class PostgresColumns: Sendable {
    /// Column descriptions in order.
    public let columns: [PostgresColumn]
    let indexByName: [String: Int]

    /// Wraps column descriptions.
    public init(_ columns: [PostgresColumn]) {
        self.columns = columns
        var map: [String: Int] = [:]
        for (i, c) in columns.enumerated() where map[c.name] == nil { map[c.name] = i }
        self.indexByName = map
    }

    /// Number of columns.
    public var count: Int { columns.count }
}

/// One row of a result.
public struct PostgresRow: Sendable {
    /// The columns of the result.
    public let columns: PostgresColumns
    /// The raw cells.
    public let data: DataRow
    /// Coding context for JSON.
    public let context: PostgresCodingContext

    /// Creates a row.
    public init(columns: PostgresColumns, data: DataRow, context: PostgresCodingContext = .default) {
        self.columns = columns
        self.data = data
        self.context = context
    }

    /// The raw cell at `index` (`nil` for NULL).
    public func cell(at index: Int) -> ByteBuffer? {
        precondition(index >= 0 && index < data.columnCount, "column index out of range")
        var b = data.bytes
        for _ in 0..<index {
            let len = b.readInteger(as: Int32.self)!
            if len > 0 { b.moveReaderIndex(forwardBy: Int(len)) }
        }
        let len = b.readInteger(as: Int32.self)!
        return len < 0 ? nil : b.readSlice(length: Int(len))!
    }

    /// Decodes the column at `index`.
    public func decode<T: PostgresDecodable>(column index: Int, as type: T.Type = T.self) throws -> T {
        guard index >= 0, index < columns.count, index < data.columnCount else {
            throw PostgresError.misuse("column index \(index) out of range (\(columns.count) columns)")
        }
        let col = columns.columns[index]
        do {
            return try T.decodeCell(cell(at: index), type: col.dataType, format: col.format, context: context)
        } catch var e as PostgresDecodingError {
            e.column = col.name
            throw PostgresError.decoding(e)
        }
    }

    /// Decodes the column named `name`.
    public func decode<T: PostgresDecodable>(column name: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.indexByName[name] else {
            throw PostgresError.misuse("no column named '\(name)' (columns: \(columns.columns.map(\.name)))")
        }
        return try decode(column: index, as: type)
    }

    /// Decodes all columns as a tuple: `try row.decode((Int64, String).self)`.
    @inlinable
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws -> (repeat each T) {
        var reader = data.bytes
        var index = 0
        let cols = columns.columns
        let available = min(data.columnCount, cols.count)
        let context = self.context
        func next<V: PostgresDecodable>(_ t: V.Type) throws -> V {
            guard index < available else {
                throw PostgresError.misuse("decoding \(V.self) as column \(index + 1) but the row has \(available) columns")
            }
            let len = reader.readInteger(as: Int32.self)!
            let cell = len < 0 ? nil : reader.readSlice(length: Int(len))!
            let col = cols[index]
            index += 1
            do {
                return try V.decodeCell(cell, type: col.dataType, format: col.format, context: context)
            } catch var e as PostgresDecodingError {
                e.column = col.name
                throw PostgresError.decoding(e)
            }
        }
        let result = (repeat try next((each T).self))
        guard index == available else {
            throw PostgresError.misuse("decoded \(index) columns but the row has \(available)")
        }
        return result
    }

    /// Decodes the row into a `Decodable` type, matching coding keys to column names.
    public func decode<T: Decodable>(byName type: T.Type) throws -> T {
        try T(from: PostgresRowDecoder(row: self))
    }
}

/// A `Decoder` reading a row's columns by name.
struct PostgresRowDecoder: Decoder {
    let row: PostgresRow
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(row: row))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a row decodes as a keyed container"))
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a row decodes as a keyed container"))
    }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: PostgresRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.columns.columns.compactMap { Key(stringValue: $0.name) } }
        func contains(_ key: Key) -> Bool { row.columns.indexByName[key.stringValue] != nil }

        func index(_ key: Key) throws -> Int {
            guard let i = row.columns.indexByName[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "no column named '\(key.stringValue)'"))
            }
            return i
        }

        func decodeNil(forKey key: Key) throws -> Bool { row.cell(at: try index(key)) == nil }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let i = try index(key)
            if let pg = T.self as? any PostgresDecodable.Type {
                return try row.decodeAny(column: i, type: pg) as! T
            }
            let col = row.columns.columns[i]
            guard col.dataType == .json || col.dataType == .jsonb, var cell = row.cell(at: i) else {
                throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "column '\(key.stringValue)' of type \(col.dataType) cannot be decoded as \(T.self)"))
            }
            if col.dataType == .jsonb && col.format == .binary { cell.moveReaderIndex(forwardBy: 1) }
            return try JSONDecoder().decode(T.self, from: Data(cell.readableBytesView))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "nested containers are not supported; use a jsonb column"))
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "nested containers are not supported"))
        }
        func superDecoder() throws -> any Decoder { PostgresRowDecoder(row: row) }
        func superDecoder(forKey key: Key) throws -> any Decoder { PostgresRowDecoder(row: row) }
    }
}

extension PostgresRow {
    fileprivate func decodeAny(column index: Int, type: any PostgresDecodable.Type) throws -> Any {
        func open<T: PostgresDecodable>(_ t: T.Type) throws -> Any { try decode(column: index, as: t) }
        return try open(type)
    }
}
