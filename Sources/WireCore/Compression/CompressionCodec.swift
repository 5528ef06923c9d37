import NIOCore

/// A compression format behind one interface: Kafka record batches, CQL frames and segments,
/// and gRPC messages pick a codec by name and call it on `ByteBuffer`s.
///
/// Both operations read the readable bytes of `input` (its reader index is not moved) and append
/// to `output`. On failure `output` is left exactly as it was (its writer index is restored).
///
/// Decompression never trusts the input: every decompressor takes `maxOutputSize`, the most bytes
/// it may append, and fails with ``CompressionError/outputTooLarge(limit:)`` as soon as the output
/// would exceed it, so a decompression bomb costs at most about `maxOutputSize` bytes of memory.
/// Truncated, corrupt or inconsistent input fails with a ``CompressionError``; it never traps.
public protocol CompressionCodec: Sendable {
    /// The codec's usual wire name (`gzip`, `deflate`, `lz4`, `snappy`, `zstd`, ...).
    var name: String { get }

    /// Compresses the readable bytes of `input` and appends the result to `output`.
    func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError)

    /// Decompresses the readable bytes of `input` and appends at most `maxOutputSize` bytes to `output`.
    func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError)
}

extension CompressionCodec {
    /// Compresses `input` into a new buffer.
    public func compress(_ input: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(CompressionError) -> ByteBuffer {
        var output = allocator.buffer(capacity: 0)
        try compress(input, into: &output)
        return output
    }

    /// Decompresses `input` into a new buffer of at most `maxOutputSize` bytes.
    public func decompress(
        _ input: ByteBuffer,
        maxOutputSize: Int,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(CompressionError) -> ByteBuffer {
        var output = allocator.buffer(capacity: 0)
        try decompress(input, into: &output, maxOutputSize: maxOutputSize)
        return output
    }
}

/// Runs `body` and restores `output`'s writer index when it throws.
@inline(__always)
func restoringOnFailure(
    _ output: inout ByteBuffer,
    _ body: (inout ByteBuffer) throws(CompressionError) -> Void
) throws(CompressionError) {
    let start = output.writerIndex
    do throws(CompressionError) {
        try body(&output)
    } catch {
        output.moveWriterIndex(to: start)
        throw error
    }
}

/// Validates a caller-supplied cap.
@inline(__always)
func checkLimit(_ maxOutputSize: Int) throws(CompressionError) {
    guard maxOutputSize >= 0 else {
        throw CompressionError.invalidArgument("maxOutputSize must not be negative (got \(maxOutputSize))")
    }
}

extension ByteBuffer {
    /// `withUnsafeReadableBytes` for bodies with typed throws.
    @inline(__always)
    func withReadableBytes<Result>(
        _ body: (UnsafeRawBufferPointer) throws(CompressionError) -> Result
    ) throws(CompressionError) -> Result {
        let outcome: Swift.Result<Result, CompressionError> = self.withUnsafeReadableBytes { bytes in
            do throws(CompressionError) {
                return .success(try body(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }
}
