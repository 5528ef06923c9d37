/// Why a compression or decompression failed. Every case says what went wrong; none leaves a
/// partially written output behind (the output buffer is restored).
public enum CompressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Decompressing would produce more than `limit` bytes (a decompression bomb, or a cap set
    /// too low for this payload).
    case outputTooLarge(limit: Int)
    /// The input ended before the compressed stream did.
    case truncatedInput(codec: String)
    /// The input is not a valid stream of this format; `reason` comes from the codec library
    /// or from the framing check that failed.
    case corruptInput(codec: String, reason: String)
    /// A size declared in the stream (a frame's content size, a snappy length, a chunk length)
    /// disagrees with the data.
    case sizeMismatch(codec: String, declared: Int, actual: Int)
    /// Bytes follow the end of the compressed stream where the format allows none.
    case trailingBytes(codec: String, count: Int)
    /// The compressor itself failed (out of memory, input above the library's size limit).
    case compressionFailed(codec: String, reason: String)
    /// A parameter passed by the caller is invalid.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .outputTooLarge(let limit):
            return "decompressed output exceeds the limit of \(limit) bytes"
        case .truncatedInput(let codec):
            return "\(codec): compressed input is truncated"
        case .corruptInput(let codec, let reason):
            return "\(codec): corrupt compressed input: \(reason)"
        case .sizeMismatch(let codec, let declared, let actual):
            return "\(codec): declared size \(declared) does not match actual size \(actual)"
        case .trailingBytes(let codec, let count):
            return "\(codec): \(count) unexpected bytes after the end of the compressed stream"
        case .compressionFailed(let codec, let reason):
            return "\(codec): compression failed: \(reason)"
        case .invalidArgument(let reason):
            return "invalid argument: \(reason)"
        }
    }
}
