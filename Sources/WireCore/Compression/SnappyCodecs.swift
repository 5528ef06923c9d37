import CSnappy
import NIOCore

/// Raw snappy (one snappy block with its varint length preamble) via libsnappy: CQL v4 `snappy`,
/// gRPC `snappy`.
public struct SnappyRawCodec: CompressionCodec {
    public var name: String { "snappy" }

    /// A raw snappy codec.
    public init() {}

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            try input.withReadableBytes { (inputBytes: UnsafeRawBufferPointer) throws(CompressionError) -> Void in
                _ = try snappyCompress(inputBytes, into: &output, codec: name)
            }
        }
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try checkLimit(maxOutputSize)
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            try input.withReadableBytes { (inputBytes: UnsafeRawBufferPointer) throws(CompressionError) -> Void in
                _ = try snappyDecompress(inputBytes, into: &output, maxOutputSize: maxOutputSize, codec: name)
            }
        }
    }
}

/// Snappy in the xerial `snappy-java` stream framing that Kafka's Java client writes for
/// `compression.type=snappy`: the header `\x82SNAPPY\0`, int32 version 1, int32 minimum
/// compatible version 1, then blocks of `[int32 big-endian length][raw snappy block]`.
///
/// Like `SnappyInputStream`, decoding also accepts plain raw snappy (input without the header).
public struct SnappyXerialCodec: CompressionCodec {
    /// The 8-byte magic that starts a xerial stream.
    public static let magic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let headerLength = 16

    /// Uncompressed bytes per block (snappy-java and Kafka use 32 KiB).
    public var blockSize: Int
    public var name: String { "snappy" }

    /// A xerial-framed snappy codec writing `blockSize`-byte blocks.
    public init(blockSize: Int = 32 * 1024) {
        precondition(blockSize > 0, "blockSize must be positive")
        self.blockSize = blockSize
    }

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            output.writeBytes(Self.magic)
            output.writeInteger(Int32(1))
            output.writeInteger(Int32(1))
            try input.withReadableBytes { (inputBytes: UnsafeRawBufferPointer) throws(CompressionError) -> Void in
                var offset = 0
                // An empty input still gets one (empty) block: decoders that look for the header only
                // in inputs longer than it (kafka-python) would otherwise read it as raw snappy.
                var first = true
                while offset < inputBytes.count || first {
                    first = false
                    let end = min(offset + blockSize, inputBytes.count)
                    let lengthIndex = output.writerIndex
                    output.writeInteger(Int32(0))
                    let written = try snappyCompress(UnsafeRawBufferPointer(rebasing: inputBytes[offset..<end]), into: &output, codec: name)
                    output.setInteger(Int32(written), at: lengthIndex)
                    offset = end
                }
            }
        }
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try checkLimit(maxOutputSize)
        try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
            try input.withReadableBytes { (bytes: UnsafeRawBufferPointer) throws(CompressionError) -> Void in
                guard bytes.count >= Self.headerLength, bytes.prefix(8).elementsEqual(Self.magic) else {
                    _ = try snappyDecompress(bytes, into: &output, maxOutputSize: maxOutputSize, codec: name)
                    return
                }
                var offset = Self.headerLength
                var produced = 0
                while offset < bytes.count {
                    guard bytes.count - offset >= 4 else { throw CompressionError.truncatedInput(codec: name) }
                    let length = Int(Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                    offset += 4
                    guard length >= 0 else {
                        throw CompressionError.corruptInput(codec: name, reason: "negative block length \(length)")
                    }
                    guard length <= bytes.count - offset else { throw CompressionError.truncatedInput(codec: name) }
                    do throws(CompressionError) {
                        produced += try snappyDecompress(
                            UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]),
                            into: &output, maxOutputSize: maxOutputSize - produced, codec: name
                        )
                    } catch .outputTooLarge {
                        throw CompressionError.outputTooLarge(limit: maxOutputSize)
                    }
                    offset += length
                }
            }
        }
    }
}

/// Appends the raw snappy compression of `input` to `output`; returns the bytes written.
private func snappyCompress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, codec: String) throws(CompressionError) -> Int {
    let bound = snappy_max_compressed_length(input.count)
    var status = SNAPPY_OK
    var written = 0
    output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { outputBytes in
        var length = outputBytes.count
        status = snappy_compress(
            input.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1),
            input.count,
            outputBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
            &length
        )
        written = status == SNAPPY_OK ? length : 0
        return written
    }
    guard status == SNAPPY_OK else { throw CompressionError.compressionFailed(codec: codec, reason: "snappy status \(status.rawValue)") }
    return written
}

/// Appends the decompression of one raw snappy block to `output`; returns the bytes written.
private func snappyDecompress(
    _ input: UnsafeRawBufferPointer,
    into output: inout ByteBuffer,
    maxOutputSize: Int,
    codec: String
) throws(CompressionError) -> Int {
    guard let base = input.baseAddress, input.count > 0 else { throw CompressionError.truncatedInput(codec: codec) }
    let source = base.assumingMemoryBound(to: CChar.self)
    var declared = 0
    guard snappy_uncompressed_length(source, input.count, &declared) == SNAPPY_OK else {
        throw CompressionError.corruptInput(codec: codec, reason: "invalid length preamble")
    }
    guard declared <= maxOutputSize else { throw CompressionError.outputTooLarge(limit: maxOutputSize) }
    // A snappy element of n bytes expands to at most 64 / 3 * n bytes (a 3-byte copy of 64), so a
    // larger declared length cannot be honest; reject it before allocating.
    guard declared / 22 <= input.count else {
        throw CompressionError.corruptInput(codec: codec, reason: "declared length \(declared) is impossible for \(input.count) compressed bytes")
    }
    var status = SNAPPY_OK
    var length = declared
    output.writeWithUnsafeMutableBytes(minimumWritableBytes: max(declared, 1)) { outputBytes in
        status = snappy_uncompress(source, input.count, outputBytes.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
        return status == SNAPPY_OK ? length : 0
    }
    guard status == SNAPPY_OK else {
        throw CompressionError.corruptInput(codec: codec, reason: "snappy status \(status.rawValue)")
    }
    return length
}
