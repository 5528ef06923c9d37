/// Settings of a ``CassandraSession``.
public struct CassandraSessionConfiguration: Sendable {
    /// Initial hosts; the rest of the cluster is discovered from `system.peers_v2` / `system.peers`.
    public var contactPoints: [(host: String, port: Int)]
    /// The highest protocol version to try (v5 falls back to v4 automatically).
    public var protocolVersion: CQLProtocolVersion
    public var compression: CQLCompressionAlgorithm?
    public var authenticator: (any CQLAuthenticator)?
    /// The keyspace statements run in by default.
    public var keyspace: String?
    public var defaultConsistency: CQLConsistency
    /// Rows per page unless a statement says otherwise.
    public var defaultPageSize: Int32
    /// Time allowed for one request including retries and speculative executions.
    public var requestTimeout: Duration
    public var connectTimeout: Duration
    /// Connections opened per host at most.
    public var connectionsPerHost: Int
    public var loadBalancing: any CQLLoadBalancingPolicy
    public var retryPolicy: any CQLRetryPolicy
    public var speculativeExecution: CQLSpeculativeExecutionPolicy
    /// Discover peers; off connects only to the contact points.
    public var discoverPeers: Bool

    public init(contactPoints: [(host: String, port: Int)], protocolVersion: CQLProtocolVersion = .v5,
                compression: CQLCompressionAlgorithm? = nil, authenticator: (any CQLAuthenticator)? = nil,
                keyspace: String? = nil, defaultConsistency: CQLConsistency = .localQuorum, defaultPageSize: Int32 = 5000,
                requestTimeout: Duration = .seconds(12), connectTimeout: Duration = .seconds(5), connectionsPerHost: Int = 2,
                loadBalancing: any CQLLoadBalancingPolicy = CQLDCAwareRoundRobinPolicy(),
                retryPolicy: any CQLRetryPolicy = CQLDefaultRetryPolicy(),
                speculativeExecution: CQLSpeculativeExecutionPolicy = .none, discoverPeers: Bool = true) {
        self.contactPoints = contactPoints
        self.protocolVersion = protocolVersion
        self.compression = compression
        self.authenticator = authenticator
        self.keyspace = keyspace
        self.defaultConsistency = defaultConsistency
        self.defaultPageSize = defaultPageSize
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.connectionsPerHost = connectionsPerHost
        self.loadBalancing = loadBalancing
        self.retryPolicy = retryPolicy
        self.speculativeExecution = speculativeExecution
        self.discoverPeers = discoverPeers
    }
}
