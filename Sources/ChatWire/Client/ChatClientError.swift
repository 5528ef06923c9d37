/// What went wrong in a ``ChatClient`` call.
public enum ChatClientError: Error, Sendable, CustomStringConvertible {
    /// The server answered with a non-success status; `problem` is its RFC 7807 body when present.
    case http(status: Int, problem: ProblemDetails?)
    /// A call that needs a session was made before ``ChatClient/logIn(userName:password:)``.
    case notLoggedIn
    /// The connection closed before the answer arrived.
    case connectionClosed
    /// Connecting or talking to the server failed.
    case transport(String)
    /// The server's answer could not be decoded.
    case invalidResponse(String)
    /// The real-time server rejected a request (see ``ErrorResponse``).
    case rejected(code: Int, message: String, errors: [String])

    public var description: String {
        switch self {
        case .http(let status, let problem):
            return "HTTP \(status): \(problem?.title ?? "no details")\(problem?.detail.map { " - \($0)" } ?? "")"
        case .notLoggedIn: return "not logged in: create a session first"
        case .connectionClosed: return "the connection closed before the response arrived"
        case .transport(let reason): return "transport failure: \(reason)"
        case .invalidResponse(let reason): return "invalid response: \(reason)"
        case .rejected(let code, let message, let errors):
            return "request rejected (\(code)): \(message) \(errors.joined(separator: "; "))"
        }
    }
}
