import CZstd
import NIOCore

/// Zstandard (RFC 8878) via libzstd: Kafka `zstd`, gRPC `zstd`.
///
/// Decoding accepts concatenated and skippable frames. The decoder's window is limited to what
/// `maxOutputSize` can need (at least 8 MiB, at most 128 MiB), so a hostile frame header cannot
/// make it allocate more.
public struct ZstdCodec: CompressionCodec {
    /// Compression level (1...22; 3 is zstd's default; negative levels trade ratio for speed).
    public var level: Int32
    public var name: String { "zstd" }

    /// A zstd codec compressing at `level`.
    public init(level: Int32 = 3) {
        self.level = level
    }

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        let bound = ZSTD_compressBound(input.readableBytes)
        if ZSTD_isError(bound) != 0 {
            throw CompressionError.compressionFailed(codec: name, reason: String(cString: ZSTD_getErrorName(bound)))
        }
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            var result = 0
            _ = input.withUnsafeReadableBytes { inputBytes in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { outputBytes in
                    result = ZSTD_compress(outputBytes.baseAddress, outputBytes.count, inputBytes.baseAddress, inputBytes.count, level)
                    return ZSTD_isError(result) != 0 ? 0 : result
                }
            }
            if ZSTD_isError(result) != 0 {
                throw CompressionError.compressionFailed(codec: name, reason: String(cString: ZSTD_getErrorName(result)))
            }
        }
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try checkLimit(maxOutputSize)
        let decoder = try ZstdDecoder(maxOutputSize: maxOutputSize)
        try runStreamingDecoder(codec: name, input: input, output: &output, maxOutputSize: maxOutputSize, decoder: decoder)
    }
}

private final class ZstdDecoder: StreamingDecoder {
    let context: OpaquePointer

    init(maxOutputSize: Int) throws(CompressionError) {
        guard let context = ZSTD_createDCtx() else {
            throw CompressionError.compressionFailed(codec: "zstd", reason: "cannot allocate a decompression context")
        }
        self.context = context
        // The window never needs to exceed the output; allow at least 8 MiB (2^23), at most 128 MiB (2^27).
        let needed = maxOutputSize <= 1 ? 0 : Int.bitWidth - (maxOutputSize - 1).leadingZeroBitCount
        let windowLog = Int32(min(max(needed, 23), 27))
        _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLog)
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws(CompressionError) -> DecoderStep {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        if ZSTD_isError(result) != 0 {
            throw CompressionError.corruptInput(codec: "zstd", reason: String(cString: ZSTD_getErrorName(result)))
        }
        return DecoderStep(consumed: inBuffer.pos, produced: outBuffer.pos, frameEnded: result == 0)
    }

    func startNextFrame(remaining: Int) throws(CompressionError) {
        // libzstd starts the next frame (or skips a skippable one) by itself.
    }
}
