import NIOCore
import WireCore

/// One column described in result or bind metadata.
public struct CQLColumnSpec: Sendable, Hashable {
    public var keyspace: String
    public var table: String
    public var name: String
    public var type: CQLDataType
    public init(keyspace: String, table: String, name: String, type: CQLDataType) {
        self.keyspace = keyspace
        self.table = table
        self.name = name
        self.type = type
    }
}

/// `<metadata>` of a Rows result (spec section 4.2.5.2).
public struct CQLRowsMetadata: Sendable, Hashable {
    public var columnCount: Int
    /// Present when more pages exist.
    public var pagingState: [UInt8]?
    /// v5: the server changed the result metadata; clients must update the prepared statement.
    public var newMetadataID: [UInt8]?
    /// Nil when the server omitted metadata (`skip_metadata` / NO_METADATA).
    public var columns: [CQLColumnSpec]?

    public init(columnCount: Int, pagingState: [UInt8]? = nil, newMetadataID: [UInt8]? = nil, columns: [CQLColumnSpec]?) {
        self.columnCount = columnCount
        self.pagingState = pagingState
        self.newMetadataID = newMetadataID
        self.columns = columns
    }

    static let globalTablesSpec: Int32 = 0x0001
    static let hasMorePages: Int32 = 0x0002
    static let noMetadata: Int32 = 0x0004
    static let metadataChanged: Int32 = 0x0008

    /// Largest column count accepted from the network.
    static let maxColumns = 65_536

    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLRowsMetadata {
        let flags = try buffer.readCheckedInteger(as: Int32.self, field: "metadata flags")
        let columnCount = Int(try buffer.readCheckedInteger(as: Int32.self, field: "columns_count"))
        guard columnCount >= 0, columnCount <= maxColumns else {
            throw .invalidValue(field: "columns_count", reason: "\(columnCount) columns")
        }
        var pagingState: [UInt8]?
        if flags & hasMorePages != 0 {
            pagingState = try buffer.readCQLBytes(field: "paging_state").map { Array($0.readableBytesView) }
        }
        var newMetadataID: [UInt8]?
        if flags & metadataChanged != 0 { newMetadataID = try buffer.readCQLShortBytes(field: "new_metadata_id") }
        if flags & noMetadata != 0 {
            return CQLRowsMetadata(columnCount: columnCount, pagingState: pagingState, newMetadataID: newMetadataID, columns: nil)
        }
        let columns = try decodeColumns(from: &buffer, count: columnCount, global: flags & globalTablesSpec != 0)
        return CQLRowsMetadata(columnCount: columnCount, pagingState: pagingState, newMetadataID: newMetadataID, columns: columns)
    }

    static func decodeColumns(from buffer: inout ByteBuffer, count: Int, global: Bool) throws(WireDecodingError) -> [CQLColumnSpec] {
        var keyspace = "", table = ""
        if global {
            keyspace = try buffer.readCQLString(field: "keyspace")
            table = try buffer.readCQLString(field: "table")
        }
        guard count * 4 <= buffer.readableBytes else {
            throw .truncated(field: "column specs", needed: count * 4, available: buffer.readableBytes)
        }
        var columns: [CQLColumnSpec] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            var ks = keyspace, tb = table
            if !global {
                ks = try buffer.readCQLString(field: "column keyspace")
                tb = try buffer.readCQLString(field: "column table")
            }
            let name = try buffer.readCQLString(field: "column name")
            columns.append(CQLColumnSpec(keyspace: ks, table: tb, name: name, type: try CQLDataType.decode(from: &buffer)))
        }
        return columns
    }

    /// Writes the metadata (global table spec when every column shares one table).
    public func encode(into buffer: inout ByteBuffer) {
        var flags: Int32 = 0
        if self.pagingState != nil { flags |= Self.hasMorePages }
        if self.newMetadataID != nil { flags |= Self.metadataChanged }
        let global = self.columns.map { cols in cols.allSatisfy { $0.keyspace == cols.first?.keyspace && $0.table == cols.first?.table } } ?? false
        if self.columns == nil { flags |= Self.noMetadata } else if global && !(self.columns!.isEmpty) { flags |= Self.globalTablesSpec }
        buffer.writeInteger(flags)
        buffer.writeInteger(Int32(self.columnCount))
        if let pagingState = self.pagingState { buffer.writeBytes(pagingState, prefix: .int32) }
        if let id = self.newMetadataID { buffer.writeCQLShortBytes(id) }
        guard let columns = self.columns else { return }
        Self.encodeColumns(columns, global: flags & Self.globalTablesSpec != 0, into: &buffer)
    }

    static func encodeColumns(_ columns: [CQLColumnSpec], global: Bool, into buffer: inout ByteBuffer) {
        if global, let first = columns.first {
            buffer.writeCQLString(first.keyspace)
            buffer.writeCQLString(first.table)
        }
        for column in columns {
            if !global {
                buffer.writeCQLString(column.keyspace)
                buffer.writeCQLString(column.table)
            }
            buffer.writeCQLString(column.name)
            column.type.encode(into: &buffer)
        }
    }
}

/// `<metadata>` of a Prepared result: the bind markers and the partition key indexes.
public struct CQLPreparedMetadata: Sendable, Hashable {
    public var columns: [CQLColumnSpec]
    /// Indexes into `columns` of the bind markers forming the partition key, in key order.
    public var partitionKeyIndexes: [Int]

    public init(columns: [CQLColumnSpec], partitionKeyIndexes: [Int]) {
        self.columns = columns
        self.partitionKeyIndexes = partitionKeyIndexes
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLPreparedMetadata {
        let flags = try buffer.readCheckedInteger(as: Int32.self, field: "prepared flags")
        let count = Int(try buffer.readCheckedInteger(as: Int32.self, field: "columns_count"))
        guard count >= 0, count <= CQLRowsMetadata.maxColumns else {
            throw .invalidValue(field: "columns_count", reason: "\(count) bind markers")
        }
        let pkCount = try buffer.readCQLCount(minimumElementSize: 2, field: "pk_count")
        var pk: [Int] = []
        for _ in 0..<pkCount {
            let index = Int(try buffer.readCheckedInteger(as: UInt16.self, field: "pk_index"))
            guard index < count else { throw .invalidValue(field: "pk_index", reason: "\(index) >= \(count) bind markers") }
            pk.append(index)
        }
        let columns = try CQLRowsMetadata.decodeColumns(from: &buffer, count: count, global: flags & 0x0001 != 0)
        return CQLPreparedMetadata(columns: columns, partitionKeyIndexes: pk)
    }

    public func encode(into buffer: inout ByteBuffer) {
        let global = !self.columns.isEmpty
            && self.columns.allSatisfy { $0.keyspace == self.columns[0].keyspace && $0.table == self.columns[0].table }
        buffer.writeInteger(Int32(global ? 1 : 0))
        buffer.writeInteger(Int32(self.columns.count))
        buffer.writeInteger(Int32(self.partitionKeyIndexes.count))
        for index in self.partitionKeyIndexes { buffer.writeInteger(UInt16(index)) }
        CQLRowsMetadata.encodeColumns(self.columns, global: global, into: &buffer)
    }
}
