import WireCore

/// A violation of the PostgreSQL frontend/backend protocol detected while decoding or sequencing messages.
///
/// Any of these closes the connection it happened on and fails the requests in flight on it.
public enum PostgresProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A field inside a message could not be decoded.
    case malformed(message: String, WireDecodingError)
    /// The message type byte is not one the backend may send.
    case unknownMessageType(UInt8)
    /// The length word is smaller than 4 (it includes itself) or negative.
    case invalidLength(messageType: UInt8, length: Int32)
    /// The declared length exceeds the configured maximum message size.
    case messageTooLarge(messageType: UInt8, length: Int, limit: Int)
    /// The message body had bytes left over after all its fields were read.
    case trailingBytes(message: String, count: Int)
    /// The reply to `SSLRequest` was neither `S` nor `N`.
    case invalidSSLResponse(UInt8)
    /// A message arrived that is not allowed in the connection's current state.
    case unexpectedMessage(String, state: String)
    /// A frontend string argument contains a NUL byte, which the protocol cannot carry.
    case nulInString(field: String)

    public var description: String {
        switch self {
        case .malformed(let message, let error): return "malformed \(message) message: \(error)"
        case .unknownMessageType(let t): return "unknown backend message type 0x\(String(t, radix: 16)) ('\(Character(Unicode.Scalar(t)))')"
        case .invalidLength(let t, let l): return "invalid length \(l) for message type '\(Character(Unicode.Scalar(t)))'"
        case .messageTooLarge(let t, let l, let limit): return "message '\(Character(Unicode.Scalar(t)))' of \(l) bytes exceeds the limit of \(limit) bytes"
        case .trailingBytes(let m, let c): return "\(c) unexpected trailing bytes in \(m) message"
        case .invalidSSLResponse(let b): return "invalid response 0x\(String(b, radix: 16)) to SSLRequest"
        case .unexpectedMessage(let m, let s): return "unexpected \(m) message while \(s)"
        case .nulInString(let f): return "\(f) contains a NUL byte, which PostgreSQL cannot accept"
        }
    }
}
