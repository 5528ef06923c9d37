import WireCore

/// Which RESP version a connection asks for.
public enum RESPVersion: Int, Sendable, Hashable {
    /// RESP2: always available, no pushes outside subscribed mode.
    case resp2 = 2
    /// RESP3 via `HELLO 3`; falls back to RESP2 on servers older than Redis 6.
    case resp3 = 3
}

/// Everything needed to open and set up one Redis connection.
public struct RedisConnectionConfiguration: Sendable {
    /// Address, connect timeout, TCP_NODELAY and TLS.
    public var transport: ConnectionConfiguration
    /// ACL user name (`nil` = the `default` user).
    public var username: String?
    /// Password (for the ACL user, or the `requirepass` password).
    public var password: String?
    /// Logical database selected with `SELECT` after connecting.
    public var database: Int
    /// Name set with `CLIENT SETNAME` (visible in `CLIENT LIST`).
    public var clientName: String?
    /// The protocol to negotiate.
    public var protocolVersion: RESPVersion
    /// Limits on replies (bulk size, nesting depth, ...).
    public var decoderLimits: RESPDecoderLimits
    /// Default time to wait for a command's reply (nil = wait as long as the connection lives).
    ///
    /// A command that gets no reply in time fails with
    /// ``RedisConnectionError/timedOut(command:after:)`` and its connection is closed, because
    /// a late reply would otherwise be taken for the next command's. Blocking commands
    /// (``RedisCommand/isBlocking``) are exempt; ``RedisCommand/timeout`` and
    /// ``RedisCommand/withTimeout(_:_:)`` override it per command.
    public var commandTimeout: Duration?

    /// Creates a configuration.
    public init(
        transport: ConnectionConfiguration,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        clientName: String? = nil,
        protocolVersion: RESPVersion = .resp3,
        decoderLimits: RESPDecoderLimits = RESPDecoderLimits(),
        commandTimeout: Duration? = nil
    ) {
        self.transport = transport
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.protocolVersion = protocolVersion
        self.decoderLimits = decoderLimits
        self.commandTimeout = commandTimeout
    }

    /// A plaintext TCP configuration for `host:port`.
    public static func tcp(host: String, port: Int = 6379) -> RedisConnectionConfiguration {
        RedisConnectionConfiguration(transport: ConnectionConfiguration(endpoint: .tcp(host: host, port: port)))
    }
}
