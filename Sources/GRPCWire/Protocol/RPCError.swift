/// The error of a failed RPC: a non-OK status code, its message, the trailing metadata and the
/// optional `grpc-status-details-bin` payload (a serialized `google.rpc.Status`).
///
/// Server handlers throw it to fail a call with a specific status; clients receive it when a call
/// ends with a status other than ``StatusCode/ok``.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status code; never ``StatusCode/ok``.
    public var code: StatusCode
    /// A human-readable message (`grpc-message`, percent-decoded).
    public var message: String
    /// Trailing metadata sent with the status (excluding the reserved `grpc-*` keys).
    public var metadata: Metadata
    /// The raw bytes of `grpc-status-details-bin`, usually a serialized `google.rpc.Status`.
    public var details: [UInt8]?
    /// Whether the client failed before the request left the process (no connection could be made,
    /// or no HTTP/2 stream opened on it): the server cannot have seen the call, so even a
    /// non-idempotent call may be sent again. Always false for errors received from a server.
    public internal(set) var requestNotSent = false

    /// Creates an error.
    public init(code: StatusCode, message: String, metadata: Metadata = [:], details: [UInt8]? = nil) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.details = details
    }

    /// `code: message`.
    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}

/// The final status of a call: a code and a message.
public struct Status: Sendable, Hashable, CustomStringConvertible {
    /// The status code.
    public var code: StatusCode
    /// The message (`grpc-message`).
    public var message: String

    /// Creates a status.
    public init(code: StatusCode, message: String = "") {
        self.code = code
        self.message = message
    }

    /// The OK status.
    public static let ok = Status(code: .ok)

    /// `code: message`.
    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}
