/// The error every WireCore buffer reader throws when input bytes cannot be decoded.
///
/// Readers never trap on hostile input: a truncated buffer, a negative or oversized length,
/// an overlong varint or invalid UTF-8 each produce one of these cases, and the reader index
/// of the buffer is left where it was before the failed read.
public enum WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Fewer bytes were available than the field needs.
    case truncated(field: String, needed: Int, available: Int)
    /// A length prefix was negative where only `-1` (null) or non-negative values are valid.
    case negativeLength(field: String, length: Int)
    /// A length prefix exceeded the caller's limit.
    case lengthTooLarge(field: String, length: Int, limit: Int)
    /// A varint ran past its maximum encoded size.
    case varintTooLong(field: String)
    /// A varint decoded to a value that does not fit the requested integer type.
    case varintOverflow(field: String)
    /// Bytes that must be UTF-8 were not.
    case invalidUTF8(field: String)
    /// A null was found where the field is not nullable.
    case unexpectedNull(field: String)
    /// A C string had no terminating zero byte within the readable bytes.
    case missingTerminator(field: String)
    /// A value was structurally valid but not allowed by the protocol.
    case invalidValue(field: String, reason: String)

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let available):
            return "truncated input reading \(field): needed \(needed) bytes, \(available) available"
        case .negativeLength(let field, let length):
            return "invalid negative length \(length) for \(field)"
        case .lengthTooLarge(let field, let length, let limit):
            return "length \(length) for \(field) exceeds the limit of \(limit) bytes"
        case .varintTooLong(let field):
            return "varint for \(field) is longer than its maximum encoded size"
        case .varintOverflow(let field):
            return "varint for \(field) overflows its integer type"
        case .invalidUTF8(let field):
            return "\(field) is not valid UTF-8"
        case .unexpectedNull(let field):
            return "\(field) is null but is not nullable"
        case .missingTerminator(let field):
            return "C string \(field) has no terminating NUL byte"
        case .invalidValue(let field, let reason):
            return "invalid value for \(field): \(reason)"
        }
    }
}
