import NIOCore
import WireCore

/// The rows of a Rows result, kept as one buffer with validated cell offsets (no per-cell copies).
public struct CQLRows: Sendable {
    /// Column specs, paging state and flags of the result.
    public var metadata: CQLRowsMetadata {
        didSet { self.columnIndexes = Self.indexes(self.metadata) }
    }
    /// Rows in this page.
    public let rowCount: Int
    /// Column name -> first index with that name, for decoding by name.
    private var columnIndexes: [String: Int]
    /// The raw rows content.
    @usableFromInline let content: ByteBuffer
    /// Per cell, the reader offset in `content` of its bytes and the length (-1 = null), flattened.
    @usableFromInline let cells: [Int32]

    public var columnCount: Int { self.metadata.columnCount }

    /// Creates a rows value by validating every cell of `rowCount` rows in `content`.
    public init(metadata: CQLRowsMetadata, rowCount: Int, content: ByteBuffer) throws(WireDecodingError) {
        let columnCount = metadata.columnCount
        guard rowCount >= 0 else { throw .negativeLength(field: "rows_count", length: rowCount) }
        if columnCount == 0 {
            self.columnIndexes = Self.indexes(metadata)
            self.metadata = metadata
            self.rowCount = rowCount
            self.content = content
            self.cells = []
            return
        }
        // every cell needs at least its 4-byte length
        guard rowCount * columnCount * 4 <= content.readableBytes else {
            throw .truncated(field: "rows content", needed: rowCount * columnCount * 4, available: content.readableBytes)
        }
        var cells = [Int32](repeating: 0, count: rowCount * columnCount * 2)
        let base = content.readerIndex
        let end = content.writerIndex
        try content.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) throws(WireDecodingError) in
            var offset = 0
            let total = end - base
            var i = 0
            for _ in 0..<(rowCount * columnCount) {
                guard offset + 4 <= total else {
                    throw .truncated(field: "cell length", needed: 4, available: total - offset)
                }
                let length = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                offset += 4
                if length < 0 {
                    cells[i] = Int32(offset)
                    cells[i + 1] = -1
                } else {
                    guard Int(length) <= total - offset else {
                        throw .truncated(field: "cell value", needed: Int(length), available: total - offset)
                    }
                    cells[i] = Int32(offset)
                    cells[i + 1] = length
                    offset += Int(length)
                }
                i += 2
            }
        }
        self.columnIndexes = Self.indexes(metadata)
        self.metadata = metadata
        self.rowCount = rowCount
        self.content = content
        self.cells = cells
    }

    private static func indexes(_ metadata: CQLRowsMetadata) -> [String: Int] {
        var indexes: [String: Int] = [:]
        for (i, column) in (metadata.columns ?? []).enumerated() where indexes[column.name] == nil { indexes[column.name] = i }
        return indexes
    }

    /// The bytes of one cell, or nil when it is null.
    @inlinable
    public func cell(row: Int, column: Int) -> ByteBuffer? {
        precondition(row >= 0 && row < self.rowCount && column >= 0 && column < self.columnCount, "cell index out of range")
        let i = (row * self.columnCount + column) * 2
        let length = self.cells[i + 1]
        if length < 0 { return nil }
        return self.content.getSlice(at: self.content.readerIndex + Int(self.cells[i]), length: Int(length))
    }

    /// Index of the column named `name` (first match), if any.
    public func columnIndex(named name: String) -> Int? {
        self.columnIndexes[name]
    }
}

/// Kinds of schema change in RESULT SchemaChange and SCHEMA_CHANGE events.
public struct CQLSchemaChange: Sendable, Hashable {
    /// CREATED, UPDATED or DROPPED.
    public var change: String
    /// KEYSPACE, TABLE, TYPE, FUNCTION or AGGREGATE.
    public var target: String
    public var keyspace: String
    /// The table, type, function or aggregate name (nil for KEYSPACE).
    public var name: String?
    /// Argument types of a function or aggregate.
    public var argumentTypes: [String]?

    public init(change: String, target: String, keyspace: String, name: String? = nil, argumentTypes: [String]? = nil) {
        self.change = change
        self.target = target
        self.keyspace = keyspace
        self.name = name
        self.argumentTypes = argumentTypes
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLSchemaChange {
        let change = try buffer.readCQLString(field: "change_type")
        let target = try buffer.readCQLString(field: "target")
        let keyspace = try buffer.readCQLString(field: "keyspace")
        var result = CQLSchemaChange(change: change, target: target, keyspace: keyspace)
        if target != "KEYSPACE" { result.name = try buffer.readCQLString(field: "schema object name") }
        if target == "FUNCTION" || target == "AGGREGATE" { result.argumentTypes = try buffer.readCQLStringList(field: "argument types") }
        return result
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeCQLString(self.change)
        buffer.writeCQLString(self.target)
        buffer.writeCQLString(self.keyspace)
        if self.target != "KEYSPACE" { buffer.writeCQLString(self.name ?? "") }
        if self.target == "FUNCTION" || self.target == "AGGREGATE" { buffer.writeCQLStringList(self.argumentTypes ?? []) }
    }
}

/// A prepared statement as returned by the server.
public struct CQLPreparedResult: Sendable, Hashable {
    public var id: [UInt8]
    /// v5 only.
    public var resultMetadataID: [UInt8]?
    public var metadata: CQLPreparedMetadata
    public var resultMetadata: CQLRowsMetadata

    public init(id: [UInt8], resultMetadataID: [UInt8]?, metadata: CQLPreparedMetadata, resultMetadata: CQLRowsMetadata) {
        self.id = id
        self.resultMetadataID = resultMetadataID
        self.metadata = metadata
        self.resultMetadata = resultMetadata
    }
}

/// A RESULT response.
public enum CQLResult: Sendable {
    case void
    case rows(CQLRows)
    case setKeyspace(String)
    case prepared(CQLPreparedResult)
    case schemaChange(CQLSchemaChange)

    /// Decodes a RESULT body. When the server omitted metadata (`skip_metadata`), `knownMetadata`
    /// supplies the columns.
    public static func decode(from buffer: inout ByteBuffer, version: CQLProtocolVersion,
                              knownMetadata: CQLRowsMetadata? = nil) throws(WireDecodingError) -> CQLResult {
        let kind = try buffer.readCheckedInteger(as: Int32.self, field: "result kind")
        switch kind {
        case 1: return .void
        case 2:
            var metadata = try CQLRowsMetadata.decode(from: &buffer)
            if metadata.columns == nil, let known = knownMetadata?.columns, known.count == metadata.columnCount {
                metadata.columns = known
            }
            let rowCount = Int(try buffer.readCheckedInteger(as: Int32.self, field: "rows_count"))
            return .rows(try CQLRows(metadata: metadata, rowCount: rowCount, content: buffer.readSlice(length: buffer.readableBytes)!))
        case 3: return .setKeyspace(try buffer.readCQLString(field: "keyspace"))
        case 4:
            let id = try buffer.readCQLShortBytes(field: "prepared id")
            var resultMetadataID: [UInt8]?
            if version >= .v5 { resultMetadataID = try buffer.readCQLShortBytes(field: "result_metadata_id") }
            let metadata = try CQLPreparedMetadata.decode(from: &buffer)
            let resultMetadata = try CQLRowsMetadata.decode(from: &buffer)
            return .prepared(CQLPreparedResult(id: id, resultMetadataID: resultMetadataID, metadata: metadata, resultMetadata: resultMetadata))
        case 5: return .schemaChange(try CQLSchemaChange.decode(from: &buffer))
        default:
            throw .invalidValue(field: "result kind", reason: "unknown result kind \(kind)")
        }
    }
}
