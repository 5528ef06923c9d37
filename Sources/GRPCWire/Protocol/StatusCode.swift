/// The seventeen gRPC status codes (`grpc-status` trailer values), as defined by
/// https://github.com/grpc/grpc/blob/master/doc/statuscodes.md.
public enum StatusCode: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Not an error; returned on success.
    case ok = 0
    /// The operation was cancelled, typically by the caller.
    case cancelled = 1
    /// Unknown error, e.g. an error thrown by a handler that was not an ``RPCError``.
    case unknown = 2
    /// The client specified an invalid argument.
    case invalidArgument = 3
    /// The deadline expired before the operation could complete.
    case deadlineExceeded = 4
    /// Some requested entity was not found.
    case notFound = 5
    /// The entity that a client attempted to create already exists.
    case alreadyExists = 6
    /// The caller does not have permission to execute the operation.
    case permissionDenied = 7
    /// Some resource has been exhausted, e.g. a message exceeded the maximum size.
    case resourceExhausted = 8
    /// The system is not in a state required for the operation's execution.
    case failedPrecondition = 9
    /// The operation was aborted, typically due to a concurrency issue.
    case aborted = 10
    /// The operation was attempted past the valid range.
    case outOfRange = 11
    /// The operation is not implemented or not supported by the server.
    case unimplemented = 12
    /// An internal invariant was broken.
    case `internal` = 13
    /// The service is currently unavailable; retrying may help.
    case unavailable = 14
    /// Unrecoverable data loss or corruption.
    case dataLoss = 15
    /// The request does not have valid authentication credentials.
    case unauthenticated = 16

    /// The canonical upper-snake-case name, e.g. `DEADLINE_EXCEEDED`.
    public var description: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .aborted: return "ABORTED"
        case .outOfRange: return "OUT_OF_RANGE"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        case .dataLoss: return "DATA_LOSS"
        case .unauthenticated: return "UNAUTHENTICATED"
        }
    }

    /// Parses a `grpc-status` header value. Values outside 0...16 map to `.unknown`,
    /// as the gRPC specification requires.
    public init(headerValue: String) {
        if let raw = Int(headerValue), let code = StatusCode(rawValue: raw) {
            self = code
        } else {
            self = .unknown
        }
    }

    /// Maps an HTTP status (of a response that is not a valid gRPC response) to a gRPC code,
    /// per https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md.
    public init(httpStatus: Int) {
        switch httpStatus {
        case 400: self = .internal
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404: self = .unimplemented
        case 429, 502, 503, 504: self = .unavailable
        default: self = .unknown
        }
    }
}
