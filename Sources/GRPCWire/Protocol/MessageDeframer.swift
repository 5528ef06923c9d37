import NIOCore

/// A streaming reader of gRPC length-prefixed messages.
///
/// Append the bytes of DATA frames as they arrive and call ``next()`` until it returns nil.
/// A declared length above ``maxMessageSize`` fails with ``StatusCode/resourceExhausted``
/// before any of the message is buffered; a compressed message without a negotiated encoding
/// fails with ``StatusCode/internal``. Hostile input never traps.
public struct MessageDeframer: Sendable {
    /// The largest message (after decompression) accepted.
    public let maxMessageSize: Int
    /// The encoding named by the peer's `grpc-encoding` header (identity when absent).
    public var encoding: CompressionAlgorithm

    private var buffer: ByteBuffer
    private var pendingLength: Int?
    private var pendingCompressed = false

    /// Creates a deframer.
    public init(maxMessageSize: Int, encoding: CompressionAlgorithm = .identity) {
        self.maxMessageSize = maxMessageSize
        self.encoding = encoding
        self.buffer = ByteBuffer()
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        if buffer.readableBytes == 0 {
            // Avoid copying in the common case of one message per DATA frame.
            buffer = bytes
        } else {
            var bytes = bytes
            buffer.writeBuffer(&bytes)
        }
    }

    /// Whether bytes of an incomplete message are buffered (an error when the stream ends).
    public var hasPartialMessage: Bool { buffer.readableBytes > 0 || pendingLength != nil }

    /// The next complete message, or nil when more bytes are needed.
    public mutating func next() throws(RPCError) -> ByteBuffer? {
        if pendingLength == nil {
            guard buffer.readableBytes >= MessageFramer.prefixSize,
                let flag = buffer.readInteger(as: UInt8.self),
                let length = buffer.readInteger(as: UInt32.self)
            else { return nil }
            switch flag {
            case 0: pendingCompressed = false
            case 1: pendingCompressed = true
            default:
                throw RPCError(code: .internal, message: "invalid message compression flag \(flag)")
            }
            if Int(length) > maxMessageSize {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "message of \(length) bytes exceeds the maximum of \(maxMessageSize) bytes")
            }
            if pendingCompressed && encoding == .identity {
                throw RPCError(
                    code: .internal, message: "compressed message received without a grpc-encoding")
            }
            pendingLength = Int(length)
        }
        guard let length = pendingLength, let payload = buffer.readSlice(length: length) else { return nil }
        pendingLength = nil
        if buffer.readableBytes == 0 {
            // Let go of the storage: it is usually a slice of a connection read buffer (or a copy
            // of one, which `clear()` would allocate when the storage is shared), and an idle
            // call (a listener waiting for its next message) should hold no bytes at all.
            buffer = ByteBuffer()
        } else if buffer.readerIndex > 65_536 {
            buffer.discardReadBytes()
        }
        if pendingCompressed {
            return try MessageCompressor.decompress(payload, with: encoding, maxSize: maxMessageSize)
        }
        return payload
    }
}
