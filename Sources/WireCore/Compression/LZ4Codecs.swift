import CLZ4
import NIOCore

/// The LZ4 frame format (the `lz4` command line, Python `lz4.frame`, Kafka `lz4`) via liblz4.
///
/// Compression writes independent 64 KiB blocks by default, which Kafka's Java client requires.
/// Decoding accepts concatenated frames and checks content sizes and checksums when present.
public struct LZ4FrameCodec: CompressionCodec {
    /// Maximum block size of a frame.
    public enum BlockSize: Sendable, Hashable {
        case max64KB, max256KB, max1MB, max4MB
    }

    /// Compression level (0 = fast default; 3...12 = LZ4 HC).
    public var level: Int32
    /// Maximum block size.
    public var blockSize: BlockSize
    /// Blocks compressed independently (Kafka requires `true`) or linked for a better ratio.
    public var independentBlocks: Bool
    /// Append an xxHash32 of the content.
    public var contentChecksum: Bool
    /// Record the content size in the frame header.
    public var storeContentSize: Bool
    public var name: String { "lz4" }

    /// An LZ4 frame codec; the defaults match what Kafka's Java producer writes.
    public init(
        level: Int32 = 0,
        blockSize: BlockSize = .max64KB,
        independentBlocks: Bool = true,
        contentChecksum: Bool = false,
        storeContentSize: Bool = false
    ) {
        self.level = level
        self.blockSize = blockSize
        self.independentBlocks = independentBlocks
        self.contentChecksum = contentChecksum
        self.storeContentSize = storeContentSize
    }

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        var preferences = LZ4F_preferences_t()
        switch blockSize {
        case .max64KB: preferences.frameInfo.blockSizeID = LZ4F_max64KB
        case .max256KB: preferences.frameInfo.blockSizeID = LZ4F_max256KB
        case .max1MB: preferences.frameInfo.blockSizeID = LZ4F_max1MB
        case .max4MB: preferences.frameInfo.blockSizeID = LZ4F_max4MB
        }
        preferences.frameInfo.blockMode = independentBlocks ? LZ4F_blockIndependent : LZ4F_blockLinked
        preferences.frameInfo.contentChecksumFlag = contentChecksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
        preferences.frameInfo.contentSize = storeContentSize ? UInt64(input.readableBytes) : 0
        preferences.compressionLevel = level
        let bound = LZ4F_compressFrameBound(input.readableBytes, &preferences)
        if LZ4F_isError(bound) != 0 {
            throw CompressionError.compressionFailed(codec: name, reason: String(cString: LZ4F_getErrorName(bound)))
        }
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            var result = 0
            _ = input.withUnsafeReadableBytes { inputBytes in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { outputBytes in
                    result = LZ4F_compressFrame(outputBytes.baseAddress, outputBytes.count, inputBytes.baseAddress, inputBytes.count, &preferences)
                    return LZ4F_isError(result) != 0 ? 0 : result
                }
            }
            if LZ4F_isError(result) != 0 {
                throw CompressionError.compressionFailed(codec: name, reason: String(cString: LZ4F_getErrorName(result)))
            }
        }
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try checkLimit(maxOutputSize)
        let decoder = try LZ4FrameDecoder()
        try runStreamingDecoder(codec: name, input: input, output: &output, maxOutputSize: maxOutputSize, decoder: decoder)
    }
}

private final class LZ4FrameDecoder: StreamingDecoder {
    let context: OpaquePointer

    init() throws(CompressionError) {
        var context: OpaquePointer?
        let result = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(result) == 0, let context else {
            throw CompressionError.compressionFailed(codec: "lz4", reason: "cannot allocate a decompression context")
        }
        self.context = context
    }

    deinit {
        LZ4F_freeDecompressionContext(context)
    }

    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws(CompressionError) -> DecoderStep {
        var sourceSize = input.count
        var destinationSize = output.count
        let result = LZ4F_decompress(context, output.baseAddress, &destinationSize, input.baseAddress, &sourceSize, nil)
        if LZ4F_isError(result) != 0 {
            throw CompressionError.corruptInput(codec: "lz4", reason: String(cString: LZ4F_getErrorName(result)))
        }
        return DecoderStep(consumed: sourceSize, produced: destinationSize, frameEnded: result == 0)
    }

    func startNextFrame(remaining: Int) throws(CompressionError) {
        // The context is ready for the next frame once one has been fully decoded.
    }
}

/// The raw LZ4 block format (no framing, no sizes) via liblz4: the CQL v4 `lz4` body (after its
/// 4-byte length, which the CQL codec reads) and CQL v5 compressed segments.
///
/// A raw block does not record its decompressed size. Use
/// ``decompress(_:into:uncompressedSize:)`` when the protocol carries it; the
/// ``CompressionCodec`` method finds it by decoding into a growing buffer capped at
/// `maxOutputSize`.
public struct LZ4BlockCodec: CompressionCodec {
    /// `LZ4_compress_fast` acceleration (1 = default; higher is faster with a worse ratio).
    public var acceleration: Int32
    public var name: String { "lz4-block" }

    /// A raw LZ4 block codec.
    public init(acceleration: Int32 = 1) {
        self.acceleration = acceleration
    }

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        guard input.readableBytes <= Int(LZ4_MAX_INPUT_SIZE) else {
            throw CompressionError.compressionFailed(codec: name, reason: "input of \(input.readableBytes) bytes exceeds LZ4_MAX_INPUT_SIZE")
        }
        let bound = Int(LZ4_compressBound(Int32(input.readableBytes)))
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            var result: Int32 = 0
            _ = input.withUnsafeReadableBytes { inputBytes in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { outputBytes in
                    result = LZ4_compress_fast(
                        inputBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        outputBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        Int32(inputBytes.count), Int32(min(outputBytes.count, Int(Int32.max))), acceleration
                    )
                    return max(Int(result), 0)
                }
            }
            if result <= 0 && input.readableBytes > 0 || result < 0 {
                throw CompressionError.compressionFailed(codec: name, reason: "LZ4_compress_fast returned \(result)")
            }
        }
    }

    /// Decompresses a block whose decompressed size the protocol states; fails with
    /// ``CompressionError/sizeMismatch(codec:declared:actual:)`` unless it decodes to exactly
    /// `uncompressedSize` bytes. The caller caps `uncompressedSize` before calling.
    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, uncompressedSize: Int) throws(CompressionError) {
        guard uncompressedSize >= 0, uncompressedSize <= Int(Int32.max), input.readableBytes <= Int(Int32.max) else {
            throw CompressionError.invalidArgument("lz4 block sizes must be within 0...Int32.max")
        }
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            var result: Int32 = 0
            _ = input.withUnsafeReadableBytes { inputBytes in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: uncompressedSize) { outputBytes in
                    result = LZ4_decompress_safe(
                        inputBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        outputBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        Int32(inputBytes.count), Int32(uncompressedSize)
                    )
                    return max(Int(result), 0)
                }
            }
            if result < 0 {
                throw CompressionError.corruptInput(codec: name, reason: "block does not decode to \(uncompressedSize) bytes")
            }
            if Int(result) != uncompressedSize {
                throw CompressionError.sizeMismatch(codec: name, declared: uncompressedSize, actual: Int(result))
            }
        }
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try checkLimit(maxOutputSize)
        guard input.readableBytes > 0 else { throw CompressionError.truncatedInput(codec: name) }
        guard input.readableBytes <= Int(Int32.max) else {
            throw CompressionError.invalidArgument("lz4 block input above Int32.max bytes")
        }
        let hardLimit = min(maxOutputSize, Int(Int32.max) - 1) + 1
        var capacity = min(hardLimit, max(input.readableBytes * 4, 256))
        let start = output.writerIndex
        while true {
            var result: Int32 = 0
            var partial: Int32 = 0
            _ = input.withUnsafeReadableBytes { inputBytes in
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { outputBytes in
                    let source = inputBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                    let destination = outputBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                    result = LZ4_decompress_safe(source, destination, Int32(inputBytes.count), Int32(capacity))
                    if result < 0 {
                        // Distinguish "needs more room" from "corrupt": a partial decode that fills
                        // the whole capacity means the output is at least that large.
                        partial = LZ4_decompress_safe_partial(source, destination, Int32(inputBytes.count), Int32(capacity), Int32(capacity))
                        return 0
                    }
                    return Int(result)
                }
            }
            if result >= 0 {
                if Int(result) > maxOutputSize {
                    output.moveWriterIndex(to: start)
                    throw CompressionError.outputTooLarge(limit: maxOutputSize)
                }
                return
            }
            guard partial == Int32(capacity) else {
                throw CompressionError.corruptInput(codec: name, reason: "malformed or truncated block")
            }
            if capacity >= hardLimit {
                throw CompressionError.outputTooLarge(limit: maxOutputSize)
            }
            capacity = min(hardLimit, capacity * 2)
        }
    }
}
