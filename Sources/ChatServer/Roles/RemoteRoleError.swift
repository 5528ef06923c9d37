import GRPCWire
import WireCore

/// Why a call to a role run by another process failed. The HTTP API answers the unavailable
/// kinds with 503 Service Unavailable (``httpStatus``), the real-time API with its 503 error.
public struct RemoteRoleError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable {
        /// The role's circuit breaker is open: recent calls failed, so this one failed fast
        /// without being sent.
        case circuitOpen(CircuitBreakerOpenError)
        /// The role could not be reached (after the retries the call allowed).
        case unavailable(RPCError)
        /// The call's deadline passed (retries included).
        case deadlineExceeded
        /// The role answered with an error.
        case failed(RPCError)
        /// The role answered with a response this process cannot use.
        case badResponse(String)
        /// The role is not run by this process and the deployment gives no address for it.
        case notConfigured
    }

    /// The role called.
    public var role: ChatRole
    /// Its address (`host:port`), if it has one.
    public var address: String?
    /// What went wrong.
    public var kind: Kind

    /// An error of a call to `role` at `address`.
    public init(role: ChatRole, address: String?, kind: Kind) {
        self.role = role
        self.address = address
        self.kind = kind
    }

    /// `true` when the role is unreachable or refusing calls for now (a retry later may succeed).
    public var isUnavailable: Bool {
        switch kind {
        case .circuitOpen, .unavailable, .deadlineExceeded, .notConfigured: return true
        case .failed, .badResponse: return false
        }
    }

    /// The HTTP status the API answers with: 503 while the role is unavailable, else 500.
    public var httpStatus: Int { isUnavailable ? 503 : 500 }

    public var description: String {
        let target = "the \(role) role" + (address.map { " at \($0)" } ?? "")
        switch kind {
        case .circuitOpen(let open):
            return "\(target) is unavailable: its circuit breaker is open after repeated failures (last: \(open.lastFailure)); retry in \(open.retryAfter)"
        case .unavailable(let error): return "\(target) is unavailable: \(error)"
        case .deadlineExceeded: return "\(target) did not answer before the call's deadline"
        case .failed(let error): return "\(target) failed the call: \(error)"
        case .badResponse(let what): return "\(target) sent an unusable response: \(what)"
        case .notConfigured: return "\(target) is not run by this process and no address is configured for it (--\(role)-address)"
        }
    }
}
