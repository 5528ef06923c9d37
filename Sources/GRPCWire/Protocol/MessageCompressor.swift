import NIOCore
import WireCore

/// Compresses and decompresses message payloads with WireCore's zlib codecs: `gzip` is
/// ``GzipCodec``, gRPC's `deflate` is ``DeflateCodec`` in the zlib container (RFC 1950).
enum MessageCompressor {
    /// Whether gzip and deflate codecs are linked in.
    static let isAvailable = true

    private static func codec(for algorithm: CompressionAlgorithm) throws(RPCError) -> any CompressionCodec {
        switch algorithm {
        case .gzip: return GzipCodec()
        case .deflate: return DeflateCodec(format: .zlib)
        default: throw RPCError(code: .unimplemented, message: "compression '\(algorithm)' is not supported")
        }
    }

    static func compress(_ payload: ByteBuffer, with algorithm: CompressionAlgorithm) throws(RPCError) -> ByteBuffer {
        let codec = try codec(for: algorithm)
        var output = ByteBuffer()
        output.reserveCapacity(payload.readableBytes / 2 + 64)
        do {
            try codec.compress(payload, into: &output)
        } catch {
            throw RPCError(code: .internal, message: "\(algorithm) compression failed: \(error)")
        }
        return output
    }

    static func decompress(
        _ payload: ByteBuffer, with algorithm: CompressionAlgorithm, maxSize: Int
    ) throws(RPCError) -> ByteBuffer {
        let codec = try codec(for: algorithm)
        var output = ByteBuffer()
        do {
            try codec.decompress(payload, into: &output, maxOutputSize: maxSize)
        } catch {
            if case .outputTooLarge = error {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "decompressed message exceeds the maximum of \(maxSize) bytes")
            }
            throw RPCError(code: .internal, message: "\(algorithm) decompression failed: \(error)")
        }
        return output
    }
}
