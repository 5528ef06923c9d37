import NIOCore

/// Writes gRPC length-prefixed messages: a one-byte compressed flag, a four-byte big-endian length
/// and the (possibly compressed) message bytes.
public enum MessageFramer {
    /// The size of the prefix before every message.
    public static let prefixSize = 5

    /// Appends one framed message to `buffer`. When `compression` is not identity the payload is
    /// compressed and the flag set.
    public static func frame(
        _ message: ByteBuffer, compression: CompressionAlgorithm = .identity, into buffer: inout ByteBuffer
    ) throws(RPCError) {
        if compression == .identity {
            buffer.reserveCapacity(minimumWritableBytes: prefixSize + message.readableBytes)
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(message.readableBytes))
            var message = message
            buffer.writeBuffer(&message)
        } else {
            var compressed = try MessageCompressor.compress(message, with: compression)
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(UInt32(compressed.readableBytes))
            buffer.writeBuffer(&compressed)
        }
    }
}
