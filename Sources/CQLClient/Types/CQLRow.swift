import NIOCore

/// One row of a result, viewing the page's buffer (no copy until a cell is decoded).
public struct CQLRow: Sendable {
    @usableFromInline let rows: CQLRows
    @usableFromInline let index: Int

    @usableFromInline init(rows: CQLRows, index: Int) {
        self.rows = rows
        self.index = index
    }

    /// The columns of the row (empty when the server sent no metadata and none was known).
    public var columns: [CQLColumnSpec] { self.rows.metadata.columns ?? [] }

    public var count: Int { self.rows.columnCount }

    /// The raw bytes of a cell (nil = NULL).
    public func bytes(at column: Int) -> ByteBuffer? { self.rows.cell(row: self.index, column: column) }

    /// The dynamic value of a column by position.
    public func value(at column: Int) throws(CQLTypeError) -> CQLValue {
        guard column >= 0, column < self.rows.columnCount else {
            throw .arityMismatch(expected: column + 1, found: self.rows.columnCount, context: "row column index")
        }
        guard let columns = self.rows.metadata.columns else {
            throw .typeMismatch(expected: "column metadata", found: "none", context: "column \(column)")
        }
        return try CQLValue.decode(self.rows.cell(row: self.index, column: column), as: columns[column].type)
    }

    /// The dynamic value of a column by name.
    public func value(named name: String) throws(CQLTypeError) -> CQLValue {
        guard let i = self.rows.columnIndex(named: name) else { throw .unknownColumn(name) }
        return try self.value(at: i)
    }

    /// Decodes a column by position into a Swift type (use an Optional for nullable columns).
    public func decode<T: CQLValueConvertible>(column: Int, as type: T.Type = T.self) throws(CQLTypeError) -> T {
        let value = try self.value(at: column)
        let context = self.columns.indices.contains(column) ? self.columns[column].name : "column \(column)"
        if value == .null, !(T.self is any ExpressibleByNilLiteral.Type) { throw .unexpectedNull(context: context) }
        return try T(cqlValue: value, context: context)
    }

    /// Decodes a column by name into a Swift type.
    public func decode<T: CQLValueConvertible>(column name: String, as type: T.Type = T.self) throws(CQLTypeError) -> T {
        guard let i = self.rows.columnIndex(named: name) else { throw .unknownColumn(name) }
        return try self.decode(column: i, as: T.self)
    }

    /// Decodes the row's columns, in order, into a tuple: `try row.decode((Int32, String?).self)`.
    public func decode<each T: CQLValueConvertible>(_ types: (repeat each T).Type) throws -> (repeat each T) {
        var expected = 0
        for _ in repeat (each T).self { expected += 1 }
        guard expected == self.rows.columnCount else {
            throw CQLTypeError.arityMismatch(expected: self.rows.columnCount, found: expected, context: "tuple decoding of a row")
        }
        var column = 0
        func next<U: CQLValueConvertible>(_: U.Type) throws -> U {
            defer { column += 1 }
            return try self.decode(column: column, as: U.self)
        }
        return (repeat try next((each T).self))
    }

    /// Decodes the row into a `Decodable` type whose coding keys are column names.
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        try T(from: CQLRowDecoder(row: self))
    }
}

extension CQLRows: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { self.rowCount }
    public subscript(position: Int) -> CQLRow { CQLRow(rows: self, index: position) }
}
