/// Why ``WireConnector/connect(_:eventLoopGroup:initializer:)`` (or a TLS upgrade) failed.
public enum ConnectError: Error, CustomStringConvertible {
    /// The TCP connect, or the TLS handshake after it, did not finish within the connect timeout.
    case timedOut(Endpoint)
    /// Nothing listens at the endpoint (`ECONNREFUSED`): check the address and that the server runs.
    case refused(Endpoint, underlying: any Error)
    /// The endpoint could not be reached: name resolution failed, no route, a missing socket path, ...
    case unreachable(Endpoint, underlying: any Error)
    /// The TLS handshake failed: untrusted certificate, hostname mismatch, no shared protocol version,
    /// the server demanded a client certificate, or the peer is not speaking TLS.
    case tls(underlying: any Error)
    /// The ``TLSSettings`` could not be turned into a TLS context: a CA, certificate or key file is
    /// missing or unreadable, or a certificate was given without its key.
    case invalidTLSConfiguration(underlying: any Error)
    /// The caller's channel initializer failed; the channel was closed.
    case initializerFailed(underlying: any Error)

    public var description: String {
        switch self {
        case .timedOut(let endpoint):
            "connecting to \(endpoint) timed out"
        case .refused(let endpoint, let error):
            "connection to \(endpoint) refused (is the server running?): \(error)"
        case .unreachable(let endpoint, let error):
            "cannot reach \(endpoint): \(error)"
        case .tls(let error):
            "TLS handshake failed: \(error)"
        case .invalidTLSConfiguration(let error):
            "invalid TLS configuration: \(error)"
        case .initializerFailed(let error):
            "channel initializer failed: \(error)"
        }
    }
}
