/// The outcome of one request: for SELECTs one page of rows and the state to fetch the next.
public struct CQLQueryResult: Sendable {
    /// The page of rows (nil for non-SELECT statements).
    public var rows: CQLRows?
    /// Pass to ``CQLStatementOptions/pagingState`` to fetch the next page; nil on the last page.
    public var pagingState: [UInt8]?
    public var warnings: [String]
    public var tracingID: [UInt8]?
    public var customPayload: [String: [UInt8]]?
    /// Set for DDL statements.
    public var schemaChange: CQLSchemaChange?
    /// Set for `USE`.
    public var keyspace: String?

    public init(rows: CQLRows? = nil, pagingState: [UInt8]? = nil, warnings: [String] = [], tracingID: [UInt8]? = nil,
                customPayload: [String: [UInt8]]? = nil, schemaChange: CQLSchemaChange? = nil, keyspace: String? = nil) {
        self.rows = rows
        self.pagingState = pagingState
        self.warnings = warnings
        self.tracingID = tracingID
        self.customPayload = customPayload
        self.schemaChange = schemaChange
        self.keyspace = keyspace
    }

    /// For lightweight transactions: the `[applied]` column of the first row; nil when absent.
    public var wasApplied: Bool? {
        guard let rows = self.rows, rows.rowCount > 0, let i = rows.columnIndex(named: "[applied]") else { return nil }
        return try? rows[0].decode(column: i, as: Bool.self)
    }

    /// The rows of this page (empty when none).
    public var pageRows: [CQLRow] {
        guard let rows = self.rows else { return [] }
        return Array(rows)
    }

    /// Decodes every row of this page into `T` by column name.
    public func decode<T: Decodable>(_ type: T.Type) throws -> [T] {
        try self.pageRows.map { try $0.decode(as: T.self) }
    }

    /// Decodes every row of this page into a tuple of the columns, in order.
    public func decode<each T: CQLValueConvertible>(_ types: (repeat each T).Type) throws -> [(repeat each T)] {
        try self.pageRows.map { try $0.decode((repeat each T).self) }
    }

    static func from(_ frame: CQLResponseFrame) throws -> CQLQueryResult {
        var result = CQLQueryResult(warnings: frame.warnings, tracingID: frame.tracingID, customPayload: frame.customPayload)
        switch frame.message {
        case .result(.rows(let rows)):
            result.rows = rows
            result.pagingState = rows.metadata.pagingState
        case .result(.schemaChange(let change)): result.schemaChange = change
        case .result(.setKeyspace(let ks)): result.keyspace = ks
        case .result(.void), .result(.prepared): break
        case .error(let error): throw error
        default:
            throw CQLConnectionError.protocolViolation("unexpected response \(frame.message) to a query")
        }
        return result
    }
}
