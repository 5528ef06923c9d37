/// Everything needed to open one connection: where, how long to try, socket options and TLS.
///
/// This is the one configuration type every Wirestack protocol client embeds for its transport.
public struct ConnectionConfiguration: Sendable {
    /// Where to connect.
    public var endpoint: Endpoint
    /// Limit for the TCP connect plus (with TLS) the handshake.
    public var connectTimeout: Duration
    /// Disable Nagle's algorithm (`TCP_NODELAY`). Ignored for Unix sockets.
    public var tcpNoDelay: Bool
    /// TLS settings; `nil` means plaintext. When set, the TLS handler is the first handler in the pipeline.
    public var tls: TLSSettings?

    /// Creates a configuration.
    public init(
        endpoint: Endpoint,
        connectTimeout: Duration = .seconds(10),
        tcpNoDelay: Bool = true,
        tls: TLSSettings? = nil
    ) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.tcpNoDelay = tcpNoDelay
        self.tls = tls
    }
}
