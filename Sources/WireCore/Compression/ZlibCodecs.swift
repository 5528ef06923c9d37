import CZlib
import NIOCore

/// The container zlib wraps a DEFLATE stream in.
public enum ZlibFormat: Sendable, Hashable {
    /// RFC 1952 gzip (header + CRC32 trailer): Kafka `gzip`, gRPC `gzip`, CQL none.
    case gzip
    /// RFC 1950 zlib (2-byte header + Adler-32 trailer): gRPC and HTTP `deflate`.
    case zlib
    /// RFC 1951 raw DEFLATE, no header or trailer.
    case raw

    var windowBits: Int32 {
        switch self {
        case .gzip: return 15 + 16
        case .zlib: return 15
        case .raw: return -15
        }
    }

    var codecName: String {
        switch self {
        case .gzip: return "gzip"
        case .zlib: return "deflate"
        case .raw: return "deflate-raw"
        }
    }
}

/// gzip (RFC 1952) via zlib. Decoding accepts concatenated gzip members, as `gzip -d`,
/// Java's `GZIPInputStream` and Python's `gzip.decompress` do.
public struct GzipCodec: CompressionCodec {
    /// zlib compression level 0...9 (`-1` = zlib's default, 6).
    public var level: Int32
    public var name: String { "gzip" }

    /// A gzip codec compressing at `level` (0...9, or -1 for zlib's default).
    public init(level: Int32 = -1) {
        self.level = level
    }

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        try zlibCompress(input, into: &output, format: .gzip, level: level)
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try zlibDecompress(input, into: &output, maxOutputSize: maxOutputSize, format: .gzip)
    }
}

/// DEFLATE via zlib, in the zlib container (RFC 1950; gRPC's `deflate` encoding) or raw (RFC 1951).
public struct DeflateCodec: CompressionCodec {
    /// zlib compression level 0...9 (`-1` = zlib's default, 6).
    public var level: Int32
    /// `.zlib` (default) or `.raw`; `.gzip` is accepted too but ``GzipCodec`` says it better.
    public var format: ZlibFormat
    public var name: String { format.codecName }

    /// A DEFLATE codec for `format` compressing at `level`.
    public init(format: ZlibFormat = .zlib, level: Int32 = -1) {
        self.format = format
        self.level = level
    }

    public func compress(_ input: ByteBuffer, into output: inout ByteBuffer) throws(CompressionError) {
        try zlibCompress(input, into: &output, format: format, level: level)
    }

    public func decompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int) throws(CompressionError) {
        try zlibDecompress(input, into: &output, maxOutputSize: maxOutputSize, format: format)
    }
}

private func zlibMessage(_ stream: z_stream, _ code: Int32) -> String {
    if let message = stream.msg { return String(cString: message) }
    return "zlib error \(code)"
}

private func zlibCompress(_ input: ByteBuffer, into output: inout ByteBuffer, format: ZlibFormat, level: Int32) throws(CompressionError) {
    let codec = format.codecName
    guard (-1...9).contains(level) else { throw CompressionError.invalidArgument("\(codec) level must be -1...9 (got \(level))") }
    guard input.readableBytes <= Int(UInt32.max / 2) else {
        throw CompressionError.compressionFailed(codec: codec, reason: "input of \(input.readableBytes) bytes is too large for one call")
    }
    var stream = z_stream()
    let initResult = deflateInit2_(&stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    guard initResult == Z_OK else { throw CompressionError.compressionFailed(codec: codec, reason: zlibMessage(stream, initResult)) }
    defer { deflateEnd(&stream) }
    let bound = Int(deflateBound(&stream, UInt(input.readableBytes)))
    try restoringOnFailure(&output) { (output: inout ByteBuffer) throws(CompressionError) in
        var status: Int32 = Z_OK
        _ = input.withUnsafeReadableBytes { inputBytes in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { outputBytes in
                stream.next_in = UnsafeMutablePointer(mutating: inputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inputBytes.count)
                stream.next_out = outputBytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(min(outputBytes.count, Int(UInt32.max)))
                status = deflate(&stream, Z_FINISH)
                return status == Z_STREAM_END ? Int(stream.total_out) : 0
            }
        }
        guard status == Z_STREAM_END else {
            throw CompressionError.compressionFailed(codec: codec, reason: zlibMessage(stream, status))
        }
    }
}

/// An inflate stream for ``runStreamingDecoder``.
private final class InflateDecoder: StreamingDecoder {
    var stream = z_stream()
    let format: ZlibFormat
    var initialized = false

    init(format: ZlibFormat) throws(CompressionError) {
        self.format = format
        let result = inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else { throw CompressionError.compressionFailed(codec: format.codecName, reason: zlibMessage(stream, result)) }
        initialized = true
    }

    deinit {
        if initialized { inflateEnd(&stream) }
    }

    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws(CompressionError) -> DecoderStep {
        let inputCount = min(input.count, Int(UInt32.max))
        let outputCount = min(output.count, Int(UInt32.max))
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(inputCount)
        stream.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(outputCount)
        let result = inflate(&stream, Z_NO_FLUSH)
        let step = DecoderStep(
            consumed: inputCount - Int(stream.avail_in),
            produced: outputCount - Int(stream.avail_out),
            frameEnded: result == Z_STREAM_END
        )
        switch result {
        case Z_OK, Z_STREAM_END:
            return step
        case Z_BUF_ERROR:
            // No progress possible: either out of input (the driver reports truncation) or out of room.
            return step
        case Z_NEED_DICT:
            throw CompressionError.corruptInput(codec: format.codecName, reason: "stream needs a preset dictionary")
        case Z_MEM_ERROR:
            throw CompressionError.compressionFailed(codec: format.codecName, reason: "out of memory")
        default:
            throw CompressionError.corruptInput(codec: format.codecName, reason: zlibMessage(stream, result))
        }
    }

    func startNextFrame(remaining: Int) throws(CompressionError) {
        guard format == .gzip else { throw CompressionError.trailingBytes(codec: format.codecName, count: remaining) }
        let result = inflateReset(&stream)
        guard result == Z_OK else { throw CompressionError.corruptInput(codec: format.codecName, reason: zlibMessage(stream, result)) }
    }
}

private func zlibDecompress(_ input: ByteBuffer, into output: inout ByteBuffer, maxOutputSize: Int, format: ZlibFormat) throws(CompressionError) {
    let decoder = try InflateDecoder(format: format)
    try runStreamingDecoder(codec: format.codecName, input: input, output: &output, maxOutputSize: maxOutputSize, decoder: decoder)
}
