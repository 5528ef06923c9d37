import GRPCWire

/// The gRPC methods of the real-time API (service `chatwire.Messaging` in
/// `Protos/chatwire/messaging.proto`), shared by the server and ``ChatGRPCRealtimeConnection``.
///
/// Every call carries `authorization: Bearer <access token>`. `Listen` answers at once with the
/// initial metadata ``connectionIDKey`` (the stream's connection ID); unary calls that send that ID
/// back in the same key are treated as coming from that connection, so the fan-out to the user's
/// other devices skips it (as a WebSocket connection's own requests do).
public enum MessagingMethods {
    /// The service name.
    public static let service = "chatwire.Messaging"
    /// Metadata key carrying a listen stream's connection ID.
    public static let connectionIDKey = "chat-connection-id"
    /// Trailing-metadata key carrying one validation failure each (on INVALID_ARGUMENT).
    public static let errorsKey = "chat-errors"
    /// Trailing-metadata key set (to `421`) when another messaging instance serves the caller
    /// (status FAILED_PRECONDITION): the client creates a new session, which names the owner,
    /// and reconnects there. The WebSocket endpoint answers the same case with HTTP 421.
    public static let misdirectedKey = "chat-misdirected"

    /// Server-streaming: every notification for the caller, until the call ends.
    public static let listen = MethodDescriptor<Chatwire_ListenRequest, Chatwire_ListenNotification>(
        service: service, method: "Listen", kind: .serverStreaming)
    /// Unary: send a plain-text message.
    public static let sendPlainText = MethodDescriptor<Chatwire_SendPlainTextRequest, Chatwire_SendPlainTextResponse>(
        service: service, method: "SendPlainText", kind: .unary)
    /// Unary: send a file message.
    public static let sendFile = MethodDescriptor<Chatwire_SendFileRequest, Chatwire_SendFileResponse>(
        service: service, method: "SendFile", kind: .unary)
    /// Unary: set a reaction.
    public static let react = MethodDescriptor<Chatwire_ReactRequest, Chatwire_ReactResponse>(
        service: service, method: "React", kind: .unary)
    /// Unary: remove a reaction.
    public static let unReact = MethodDescriptor<Chatwire_UnReactRequest, Chatwire_UnReactResponse>(
        service: service, method: "UnReact", kind: .unary)
    /// Unary: acknowledge a message as delivered or seen.
    public static let ack = MethodDescriptor<Chatwire_AckRequest, Chatwire_AckResponse>(
        service: service, method: "Ack", kind: .unary)
}

extension MessagingMethods {
    /// The gRPC status for a real-time rejection's HTTP-like code (400, 401, 403, 421, 429, 503).
    public static func statusCode(forHTTP code: Int) -> StatusCode {
        switch code {
        case 421: return .failedPrecondition
        case 400: return .invalidArgument
        case 401: return .unauthenticated
        case 403: return .permissionDenied
        case 404: return .notFound
        case 429: return .resourceExhausted
        case 503: return .unavailable
        default: return code >= 500 ? .internal : .failedPrecondition
        }
    }

    /// The HTTP-like code for a gRPC status (the inverse of ``statusCode(forHTTP:)``).
    public static func httpCode(for status: StatusCode) -> Int {
        switch status {
        case .invalidArgument, .outOfRange: return 400
        case .unauthenticated: return 401
        case .permissionDenied: return 403
        case .notFound: return 404
        case .resourceExhausted: return 429
        case .unavailable, .cancelled, .deadlineExceeded: return 503
        case .failedPrecondition, .aborted, .alreadyExists: return 409
        default: return 500
        }
    }
}
