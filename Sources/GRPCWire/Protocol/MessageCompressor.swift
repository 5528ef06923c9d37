import NIOCore

/// Compresses and decompresses message payloads with the codecs of WireCore.
enum MessageCompressor {
    /// Whether gzip and deflate codecs are linked in.
    static let isAvailable = false

    static func compress(_ payload: ByteBuffer, with algorithm: CompressionAlgorithm) throws(RPCError) -> ByteBuffer {
        throw RPCError(code: .unimplemented, message: "compression '\(algorithm)' is not supported")
    }

    static func decompress(
        _ payload: ByteBuffer, with algorithm: CompressionAlgorithm, maxSize: Int
    ) throws(RPCError) -> ByteBuffer {
        throw RPCError(code: .unimplemented, message: "compression '\(algorithm)' is not supported")
    }
}
