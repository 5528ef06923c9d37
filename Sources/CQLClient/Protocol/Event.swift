import NIOCore
import WireCore

/// A server-pushed EVENT (spec section 4.2.6).
public enum CQLEvent: Sendable, Hashable {
    /// NEW_NODE, REMOVED_NODE (or MOVED_NODE) and the node's native address.
    case topologyChange(change: String, address: CQLSocketAddress)
    /// UP or DOWN and the node's native address.
    case statusChange(change: String, address: CQLSocketAddress)
    case schemaChange(CQLSchemaChange)

    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLEvent {
        let type = try buffer.readCQLString(field: "event type")
        switch type {
        case "TOPOLOGY_CHANGE":
            return .topologyChange(change: try buffer.readCQLString(field: "change"), address: try buffer.readCQLInet())
        case "STATUS_CHANGE":
            return .statusChange(change: try buffer.readCQLString(field: "change"), address: try buffer.readCQLInet())
        case "SCHEMA_CHANGE":
            return .schemaChange(try CQLSchemaChange.decode(from: &buffer))
        default:
            throw .invalidValue(field: "event type", reason: "unknown event \(type)")
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .topologyChange(let change, let address):
            buffer.writeCQLString("TOPOLOGY_CHANGE"); buffer.writeCQLString(change); buffer.writeCQLInet(address)
        case .statusChange(let change, let address):
            buffer.writeCQLString("STATUS_CHANGE"); buffer.writeCQLString(change); buffer.writeCQLInet(address)
        case .schemaChange(let change):
            buffer.writeCQLString("SCHEMA_CHANGE"); change.encode(into: &buffer)
        }
    }
}
