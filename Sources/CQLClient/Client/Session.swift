import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WireCore

/// A session with a Cassandra cluster: discovers nodes, keeps a connection pool per host, routes
/// requests token- and DC-aware, retries and runs speculative executions per policy, and caches
/// prepared statements. Run it as a ServiceLifecycle `Service` (or call ``run()`` in a task);
/// requests made before `run()` finished bootstrapping wait for it.
///
/// ```swift
/// let session = CassandraSession(configuration: .init(contactPoints: [("127.0.0.1", 9042)]), logger: logger)
/// ```
public final class CassandraSession: Service, Sendable {
    public let configuration: CassandraSessionConfiguration
    let logger: Logger
    let state = Mutex<State>(State())
    let broadcaster = CQLEventBroadcaster()
    let preparedCache = Mutex<[String: Task<CQLPreparedStatement, any Error>]>([:])
    let speculativeCount = Atomic<Int>(0)

    struct State {
        var hosts: [String: CQLHost] = [:]
        var hostOrder: [String] = []
        var ring = CQLTokenRing(hosts: [])
        var pools: [String: ConnectionPool<CQLConnection>] = [:]
        /// Each pool's maintenance (`ConnectionPool.run()`), ended by the pool's shutdown.
        var poolTasks: [Task<Void, Never>] = []
        var control: CQLConnection?
        var bootstrap: Task<Void, any Error>?
        var keyspace: String?
        var shutDown = false
        var version: CQLProtocolVersion?
        /// A topology refresh is running / another one was asked for meanwhile.
        var refreshing = false
        var refreshAgain = false
    }

    public init(configuration: CassandraSessionConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state.withLock { $0.keyspace = configuration.keyspace }
    }

    /// Connects, then keeps the session alive until graceful shutdown or cancellation, then
    /// closes every connection.
    public func run() async throws {
        try await self.ensureBootstrapped()
        try? await gracefulShutdown()
        await self.shutdown()
    }

    /// Runs `body` with a connected session and shuts it down afterwards.
    public static func withSession<T: Sendable>(
        configuration: CassandraSessionConfiguration, logger: Logger,
        _ body: (CassandraSession) async throws -> T
    ) async throws -> T {
        let session = CassandraSession(configuration: configuration, logger: logger)
        do {
            try await session.ensureBootstrapped()
            let value = try await body(session)
            await session.shutdown()
            return value
        } catch {
            await session.shutdown()
            throw error
        }
    }

    /// The hosts currently known.
    public var hosts: [CQLHost] { self.state.withLock { s in s.hostOrder.compactMap { s.hosts[$0] } } }

    /// The protocol version negotiated with the cluster (after bootstrap).
    public var protocolVersion: CQLProtocolVersion? { self.state.withLock { $0.version } }

    /// Speculative executions started so far (not counting the first execution of each request).
    public var speculativeExecutions: Int { self.speculativeCount.load(ordering: .relaxed) }

    /// The session's current keyspace.
    public var keyspace: String? { self.state.withLock { $0.keyspace } }

    /// Topology, status and schema events from the cluster.
    public func events(bufferingNewest limit: Int = 256) -> AsyncStream<CQLEvent> {
        self.broadcaster.subscribe(bufferingNewest: limit)
    }

    /// Stops new requests, lets requests in flight finish (each is bounded by its timeout), then
    /// closes every connection; later requests fail.
    public func shutdown() async {
        let (pools, tasks, control, bootstrap) = self.state.withLock {
            s -> ([ConnectionPool<CQLConnection>], [Task<Void, Never>], CQLConnection?, Task<Void, any Error>?) in
            s.shutDown = true
            defer { s.pools = [:]; s.poolTasks = []; s.control = nil }
            return (Array(s.pools.values), s.poolTasks, s.control, s.bootstrap)
        }
        bootstrap?.cancel()
        for pool in pools { await pool.shutdown() }
        for task in tasks { await task.value }
        await control?.close()
        self.broadcaster.finish()
    }

    // MARK: bootstrap and topology

    func ensureBootstrapped() async throws {
        let task: Task<Void, any Error> = try self.state.withLock { s in
            if s.shutDown { throw CQLConnectionError.closed }
            if let t = s.bootstrap { return t }
            let t = Task { try await self.bootstrap() }
            s.bootstrap = t
            return t
        }
        do {
            try await task.value
        } catch {
            // allow a later call to try again
            self.state.withLock { s in if s.bootstrap == task { s.bootstrap = nil } }
            throw error
        }
    }

    func connectionConfiguration(host: String, port: Int, version: CQLProtocolVersion) -> CQLConnectionConfiguration {
        CQLConnectionConfiguration(host: host, port: port, protocolVersion: version, compression: self.configuration.compression,
                                   authenticator: self.configuration.authenticator, keyspace: self.keyspace,
                                   tls: self.configuration.tls, connectTimeout: self.configuration.connectTimeout)
    }

    private func bootstrap() async throws {
        var errors: [String: String] = [:]
        for point in self.configuration.contactPoints {
            do {
                let control = try await CQLConnection.connect(
                    self.connectionConfiguration(host: point.host, port: point.port, version: self.configuration.protocolVersion),
                    events: CQLEventType.allCases,
                    onEvent: { [weak self] event in self?.handle(event) },
                    logger: self.logger)
                self.state.withLock { s in
                    s.control = control
                    s.version = control.version
                }
                try await self.refreshTopology(control: control, contactHost: point.host, contactPort: point.port)
                self.logger.info("CQL session connected", metadata: [
                    "host": "\(point.host):\(point.port)", "protocol": "\(control.version)", "hosts": "\(self.hosts.count)",
                ])
                return
            } catch {
                errors["\(point.host):\(point.port)"] = "\(error)"
                self.logger.debug("contact point failed", metadata: ["host": "\(point.host):\(point.port)", "error": "\(error)"])
            }
        }
        throw CQLConnectionError.noHostAvailable(errors)
    }

    /// Re-reads `system.local` and `system.peers_v2` (or `system.peers`) and rebuilds host list and ring.
    func refreshTopology(control: CQLConnection, contactHost: String, contactPort: Int) async throws {
        let local = try await control.send(CQLQueryRequest(query: "SELECT * FROM system.local WHERE key='local'",
                                                           parameters: .init(consistency: .one)))
        var hosts: [CQLHost] = []
        if case .result(.rows(let rows)) = local.message, rows.rowCount > 0 {
            var host = Self.host(from: rows[0], address: contactHost, port: contactPort)
            host.address = contactHost
            host.port = contactPort
            hosts.append(host)
        } else {
            hosts.append(CQLHost(address: contactHost, port: contactPort))
        }
        if self.configuration.discoverPeers {
            var peers: CQLResponseFrame
            do {
                peers = try await control.send(CQLQueryRequest(query: "SELECT * FROM system.peers_v2", parameters: .init(consistency: .one)))
            } catch let error as CQLServerError where error.kind == .invalid {
                peers = try await control.send(CQLQueryRequest(query: "SELECT * FROM system.peers", parameters: .init(consistency: .one)))
            }
            if case .result(.rows(let rows)) = peers.message {
                for row in rows {
                    let host = Self.host(from: row, address: nil, port: contactPort)
                    if !host.address.isEmpty, !hosts.contains(where: { $0.endpoint == host.endpoint }) { hosts.append(host) }
                }
            }
        }
        let removed = self.state.withLock { s -> [ConnectionPool<CQLConnection>] in
            var map: [String: CQLHost] = [:]
            for h in hosts { map[h.endpoint] = h }
            s.hosts = map
            s.hostOrder = hosts.map(\.endpoint)
            s.ring = CQLTokenRing(hosts: hosts)
            var removed: [ConnectionPool<CQLConnection>] = []
            for (endpoint, pool) in s.pools where map[endpoint] == nil {
                s.pools.removeValue(forKey: endpoint)
                removed.append(pool)
            }
            return removed
        }
        // a host that left the cluster: its pool drains and closes
        for pool in removed { await pool.shutdown() }
    }

    static func host(from row: CQLRow, address: String?, port: Int) -> CQLHost {
        func text(_ name: String) -> String? { (try? row.decode(column: name, as: String?.self)) ?? nil }
        func inet(_ name: String) -> CQLInet? { (try? row.decode(column: name, as: CQLInet?.self)) ?? nil }
        func int(_ name: String) -> Int? { (try? row.decode(column: name, as: Int32?.self)).flatMap { $0 }.map(Int.init) }
        var resolvedAddress = address
        var resolvedPort = port
        if resolvedAddress == nil {
            if let native = inet("native_address") {
                resolvedAddress = native.description
                resolvedPort = int("native_port") ?? port
            } else if let rpc = inet("rpc_address") {
                resolvedAddress = rpc.description
            } else if let peer = inet("peer") {
                resolvedAddress = peer.description
            }
            if resolvedAddress == "0.0.0.0" || resolvedAddress == "::", let peer = inet("peer") { resolvedAddress = peer.description }
        }
        let tokenStrings = (try? row.decode(column: "tokens", as: Set<String>?.self)) ?? nil
        let hostID = (try? row.decode(column: "host_id", as: UUID?.self)) ?? nil
        return CQLHost(address: resolvedAddress ?? "", port: resolvedPort, datacenter: text("data_center"), rack: text("rack"),
                       hostID: hostID, releaseVersion: text("release_version"),
                       tokens: (tokenStrings ?? []).compactMap { Int64($0) }.sorted())
    }

    private func handle(_ event: CQLEvent) {
        self.broadcaster.publish(event)
        switch event {
        case .topologyChange, .statusChange:
            self.scheduleTopologyRefresh()
        case .schemaChange(let change):
            // prepared ids survive schema changes; v5 metadata ids and UNPREPARED handling cover the
            // rest. Dropped tables / keyspaces invalidate their cached statements.
            if change.change == "DROPPED" {
                self.preparedCache.withLock { $0.removeAll() }
            }
        }
    }

    /// Re-reads the topology after an event. Refreshes run one at a time; events that arrive
    /// during a refresh cause exactly one more, so the last refresh always starts after the last event.
    private func scheduleTopologyRefresh() {
        let start = self.state.withLock { s -> Bool in
            if s.refreshing {
                s.refreshAgain = true
                return false
            }
            s.refreshing = true
            return true
        }
        guard start else { return }
        Task {
            repeat {
                guard let control = self.state.withLock({ $0.control }) else {
                    self.state.withLock { $0.refreshing = false; $0.refreshAgain = false }
                    return
                }
                do {
                    try await self.refreshTopology(control: control, contactHost: control.host, contactPort: control.port)
                } catch {
                    self.logger.debug("topology refresh failed", metadata: ["error": "\(error)", "control": "\(control.host)"])
                }
            } while self.state.withLock { s -> Bool in
                if s.refreshAgain {
                    s.refreshAgain = false
                    return true
                }
                s.refreshing = false
                return false
            }
        }
    }

    // MARK: connections

    /// The connection pool of `host` (WireCore's ``WireCore/ConnectionPool``; created on first use):
    /// up to ``CassandraSessionConfiguration/connectionsPerHost`` connections, each leased by up
    /// to ``CassandraSessionConfiguration/maxRequestsPerConnection`` requests at once.
    func pool(for host: CQLHost) throws -> ConnectionPool<CQLConnection> {
        try self.state.withLock { s in
            if s.shutDown { throw CQLConnectionError.closed }
            if let pool = s.pools[host.endpoint] { return pool }
            let version = s.version ?? self.configuration.protocolVersion
            let logger = self.logger
            let poolConfiguration = ConnectionPoolConfiguration(
                minConnections: 1, maxConnections: max(1, self.configuration.connectionsPerHost),
                leasesPerConnection: max(1, self.configuration.maxRequestsPerConnection),
                leaseTimeout: self.configuration.requestTimeout,
                keepAliveInterval: self.configuration.heartbeatInterval)
            let pool = ConnectionPool<CQLConnection>(configuration: poolConfiguration, logger: logger, factory: { [weak self] in
                guard let self else { throw CQLConnectionError.closed }
                return try await CQLConnection.connect(
                    self.connectionConfiguration(host: host.address, port: host.port, version: version), logger: logger)
            }, keepAlive: { connection in
                // the drivers' heartbeat: OPTIONS on a connection idle for the interval (the pool
                // may start it from a request's task: that request's deadline must not apply)
                _ = try await CQLConnection.$requestDeadline.withValue(nil) {
                    try await connection.send(CQLOptionsRequest())
                }
            })
            s.pools[host.endpoint] = pool
            // created while a request runs: drop its deadline for the pool's lifetime
            s.poolTasks.append(Task { await CQLConnection.$requestDeadline.withValue(nil) { await pool.run() } })
            return pool
        }
    }

    func queryPlan(routingKey: [UInt8]?) -> [CQLHost] {
        let (hosts, ring) = self.state.withLock { s in (s.hostOrder.compactMap { s.hosts[$0] }, s.ring) }
        return self.configuration.loadBalancing.queryPlan(hosts: hosts, ring: ring, routingKey: routingKey)
    }
}
