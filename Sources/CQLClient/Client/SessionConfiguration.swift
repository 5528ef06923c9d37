import WireCore

/// Settings of a ``CassandraSession``.
public struct CassandraSessionConfiguration: Sendable {
    /// Initial hosts; the rest of the cluster is discovered from `system.peers_v2` / `system.peers`.
    public var contactPoints: [(host: String, port: Int)]
    /// The highest protocol version to try (v5 falls back to v4 automatically).
    public var protocolVersion: CQLProtocolVersion
    /// Frame compression to ask for (lz4 on v4 and v5, snappy on v4), used when the node offers it.
    public var compression: CQLCompressionAlgorithm?
    /// Answers the nodes' AUTHENTICATE (for example ``PasswordAuthenticator``).
    public var authenticator: (any Authenticator)?
    /// TLS for every connection (WireCore ``WireCore/TLSSettings``); `nil` is plaintext.
    public var tls: TLSSettings?
    /// The keyspace statements run in by default.
    public var keyspace: String?
    /// Consistency of statements that do not set their own.
    public var defaultConsistency: CQLConsistency
    /// Rows per page unless a statement says otherwise.
    public var defaultPageSize: Int32
    /// Time allowed for one request including retries and speculative executions.
    public var requestTimeout: Duration
    /// Limit for one connect (TCP plus TLS handshake).
    public var connectTimeout: Duration
    /// Connections opened per host at most; one is kept open per used host.
    public var connectionsPerHost: Int
    /// Requests multiplexed on one connection before another connection to the host is opened
    /// (the Java driver's `max-requests-per-connection`).
    public var maxRequestsPerConnection: Int
    /// An idle connection gets an OPTIONS request this often; a failing one is replaced. `nil` disables it.
    public var heartbeatInterval: Duration?
    /// Orders the hosts tried for each request.
    public var loadBalancing: any CQLLoadBalancingPolicy
    /// Decides whether failed requests are retried, where and at which consistency.
    public var retryPolicy: any CQLRetryPolicy
    /// Extra executions of idempotent statements on other hosts while the first is slow.
    public var speculativeExecution: CQLSpeculativeExecutionPolicy
    /// Discover peers; off connects only to the contact points.
    public var discoverPeers: Bool

    /// Creates a configuration; everything but the contact points has the drivers' usual defaults.
    public init(contactPoints: [(host: String, port: Int)], protocolVersion: CQLProtocolVersion = .v5,
                compression: CQLCompressionAlgorithm? = nil, authenticator: (any Authenticator)? = nil,
                tls: TLSSettings? = nil,
                keyspace: String? = nil, defaultConsistency: CQLConsistency = .localQuorum, defaultPageSize: Int32 = 5000,
                requestTimeout: Duration = .seconds(12), connectTimeout: Duration = .seconds(5), connectionsPerHost: Int = 2,
                maxRequestsPerConnection: Int = 1024, heartbeatInterval: Duration? = .seconds(30),
                loadBalancing: any CQLLoadBalancingPolicy = CQLDCAwareRoundRobinPolicy(),
                retryPolicy: any CQLRetryPolicy = CQLDefaultRetryPolicy(),
                speculativeExecution: CQLSpeculativeExecutionPolicy = .none, discoverPeers: Bool = true) {
        self.contactPoints = contactPoints
        self.protocolVersion = protocolVersion
        self.compression = compression
        self.authenticator = authenticator
        self.tls = tls
        self.keyspace = keyspace
        self.defaultConsistency = defaultConsistency
        self.defaultPageSize = defaultPageSize
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.connectionsPerHost = connectionsPerHost
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.heartbeatInterval = heartbeatInterval
        self.loadBalancing = loadBalancing
        self.retryPolicy = retryPolicy
        self.speculativeExecution = speculativeExecution
        self.discoverPeers = discoverPeers
    }
}
