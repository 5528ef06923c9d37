import NIOCore
import Synchronization

/// A statement prepared on the cluster. The session keeps one per query text and keyspace,
/// re-prepares transparently on UNPREPARED and follows v5 result-metadata changes.
public final class CQLPreparedStatement: Sendable {
    public let query: String
    public let keyspace: String?
    public let id: [UInt8]
    /// Bind markers with their types, and the partition-key marker indexes.
    public let bindMetadata: CQLPreparedMetadata
    private let state: Mutex<(metadataID: [UInt8]?, metadata: CQLRowsMetadata)>

    init(query: String, keyspace: String?, result: CQLPreparedResult) {
        self.query = query
        self.keyspace = keyspace
        self.id = result.id
        self.bindMetadata = result.metadata
        self.state = Mutex((result.resultMetadataID, result.resultMetadata))
    }

    /// v5: the result metadata id to send with EXECUTE.
    public var resultMetadataID: [UInt8]? { self.state.withLock { $0.metadataID } }
    /// The columns rows of this statement carry.
    public var resultMetadata: CQLRowsMetadata { self.state.withLock { $0.metadata } }

    /// Records new result metadata announced by the server (v5 `Metadata_changed`).
    func updateResultMetadata(id: [UInt8], metadata: CQLRowsMetadata) {
        self.state.withLock { $0 = (id, metadata) }
    }

    /// Serializes values for the bind markers, converting each to its marker's type.
    public func bind(_ values: [CQLValue]) throws(CQLTypeError) -> [CQLBoundValue] {
        let columns = self.bindMetadata.columns
        guard values.count == columns.count else {
            throw .arityMismatch(expected: columns.count, found: values.count, context: "bind values for \(self.query)")
        }
        var out: [CQLBoundValue] = []
        out.reserveCapacity(values.count)
        for (value, column) in zip(values, columns) {
            if let bytes = try value.serialized(as: column.type, context: column.name) {
                out.append(.bytes(bytes))
            } else {
                out.append(.null)
            }
        }
        return out
    }

    /// The routing key (serialized partition key) for token-aware routing, if derivable.
    func routingKey(_ bound: [CQLBoundValue]) -> [UInt8]? {
        let indexes = self.bindMetadata.partitionKeyIndexes
        guard !indexes.isEmpty else { return nil }
        var parts: [ByteBuffer] = []
        for i in indexes {
            guard i < bound.count, case .bytes(let b) = bound[i] else { return nil }
            parts.append(b)
        }
        if parts.count == 1 { return Array(parts[0].readableBytesView) }
        // composite: for each component, short length, bytes, 0
        var out: [UInt8] = []
        for p in parts {
            out += [UInt8(truncatingIfNeeded: p.readableBytes >> 8), UInt8(truncatingIfNeeded: p.readableBytes)]
            out += p.readableBytesView
            out.append(0)
        }
        return out
    }
}

/// Values for unprepared QUERY: serialized with their natural types.
func serializeUnprepared(_ values: [CQLValue]) throws(CQLTypeError) -> [CQLBoundValue] {
    var out: [CQLBoundValue] = []
    for (i, value) in values.enumerated() {
        guard let type = value.inferredType else {
            out.append(.null)
            continue
        }
        if let bytes = try value.serialized(as: type, context: "value \(i)") { out.append(.bytes(bytes)) } else { out.append(.null) }
    }
    return out
}
