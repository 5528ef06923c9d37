import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import WireCore

extension PostgresConnection: PooledConnection {}

/// A pooled PostgreSQL / YugabyteDB client: a ServiceLifecycle `Service` on WireCore's
/// `ConnectionPool`. `run()` must be running (in a `ServiceGroup` or a task) while it is used.
///
/// With several hosts it connects round-robin (`loadBalanceHosts`) or in order, skips hosts that
/// recently failed, and only keeps servers matching `targetSessionAttributes`.
public final class PostgresClient: Service, Sendable {
    /// The configuration.
    public let configuration: PostgresClientConfiguration
    let pool: ConnectionPool<PostgresConnection>
    let selector: HostSelector
    let logger: Logger

    /// Creates a client (no connection is opened until `run()` or the first request).
    public init(configuration: PostgresClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let selector = HostSelector(hosts: configuration.hosts.map { "\($0.host):\($0.port)" },
                                    loadBalance: configuration.loadBalanceHosts,
                                    recheck: configuration.hostRecheckInterval)
        self.selector = selector
        let config = configuration
        self.pool = ConnectionPool(
            configuration: configuration.pool, logger: logger,
            factory: { try await PostgresClient.openConnection(config, selector: selector, logger: logger) },
            keepAlive: { conn in _ = try await conn.simpleQuery("SELECT 1") })
    }

    /// Creates a client from a libpq-style URL or key/value string.
    public convenience init(_ connectionString: String, logger: Logger) throws {
        self.init(configuration: try PostgresClientConfiguration(parsing: connectionString), logger: logger)
    }

    /// Runs pool maintenance until the task is cancelled or graceful shutdown is triggered.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await pool.run()
        } onGracefulShutdown: {
            Task { await self.pool.shutdown() }
        }
    }

    /// Stops the pool: new leases fail, connections close.
    public func shutdown() async { await pool.shutdown() }

    /// Leases a connection for `body`. Any transaction left open by `body` is rolled back.
    public func withConnection<T: Sendable>(deadline: Deadline? = nil, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await pool.withConnection(deadline: deadline) { conn in
            do {
                let value = try await body(conn)
                if conn.lastTransactionStatus != .idle, conn.isUsable { _ = try? await conn.simpleQuery("ROLLBACK") }
                return value
            } catch {
                if conn.lastTransactionStatus != .idle, conn.isUsable { _ = try? await conn.simpleQuery("ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs a query on a pooled connection and collects its rows.
    public func query(_ query: PostgresQuery) async throws -> PostgresResult {
        if let op = traced(query.sql) { return try await op.run { try await self.query(query) } }
        return try await withConnection { try await $0.execute(query) }
    }

    /// Runs `body` in a transaction on one pooled connection.
    public func withTransaction<T: Sendable>(_ options: PostgresTransactionOptions = PostgresTransactionOptions(),
                                             _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { try await $0.withTransaction(options, body) }
    }

    /// Notifications on `channel`, on a dedicated connection that is re-established (and
    /// `LISTEN` re-issued) after it is lost. Notifications sent while disconnected are lost, as
    /// PostgreSQL does not queue them. The sequence ends when the consumer stops iterating.
    public func listen(_ channel: String) -> AsyncThrowingStream<PostgresNotification, any Error> {
        let (stream, continuation) = AsyncThrowingStream<PostgresNotification, any Error>.makeStream()
        let config = configuration
        let selector = self.selector
        let logger = self.logger
        let task = Task {
            var attempt = 0
            let backoff = Backoff(base: .milliseconds(100), cap: .seconds(5))
            while !Task.isCancelled {
                do {
                    let conn = try await PostgresClient.openConnection(config, selector: selector, logger: logger)
                    defer { Task { await conn.close() } }
                    let notifications = try await conn.listen(channel)
                    attempt = 0
                    continuation.yield(PostgresNotification(processID: 0, channel: channel, payload: PostgresClient.listeningMarker))
                    for try await n in notifications { continuation.yield(n) }
                } catch {
                    if Task.isCancelled { break }
                    logger.info("LISTEN \(channel) connection lost, reconnecting: \(error)")
                }
                attempt += 1
                try? await Task.sleep(for: backoff.delay(forAttempt: attempt))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// The payload of the synthetic notification (process ID 0) yielded by ``listen(_:)`` each
    /// time `LISTEN` is (re-)established, so consumers know from when notifications are delivered.
    public static let listeningMarker = "\u{0}pgwire:listening"

    static func openConnection(_ config: PostgresClientConfiguration, selector: HostSelector, logger: Logger) async throws -> PostgresConnection {
        var lastError: (any Error)?
        let order = selector.order()
        let passes: [Bool] = config.targetSessionAttributes == .preferStandby ? [true, false] : [true]
        for strict in passes {
            for index in order {
                let host = config.hosts[index]
                var c = config.connection
                c.endpoint = .tcp(host: host.host, port: host.port)
                do {
                    let conn = try await PostgresConnection.connect(configuration: c, logger: logger)
                    if try await matches(conn, config.targetSessionAttributes, strict: strict) {
                        selector.markUp(index)
                        return conn
                    }
                    await conn.close()
                    lastError = PostgresError.noSuitableHost("\(host.host):\(host.port) is not \(config.targetSessionAttributes.rawValue)")
                } catch let e as PostgresError {
                    if case .server = e {
                        // The server is up but refused us (auth, database): do not mark it down.
                        lastError = e
                    } else {
                        selector.markDown(index)
                        lastError = e
                    }
                }
            }
        }
        throw lastError ?? PostgresError.noSuitableHost("no hosts configured")
    }

    static func matches(_ conn: PostgresConnection, _ attrs: PostgresTargetSessionAttributes, strict: Bool) async throws -> Bool {
        if attrs == .any || !strict { return true }
        let params = conn.serverParameters
        var standby: Bool
        var readOnly: Bool
        if let hs = params["in_hot_standby"], let ro = params["default_transaction_read_only"] {
            standby = hs == "on"
            readOnly = ro == "on" || standby
        } else {
            let row = try await conn.simpleQuery("SELECT pg_catalog.pg_is_in_recovery(), current_setting('transaction_read_only')")
            let r = row.first?.rows.first
            let recovery = try r?.decode(column: 0, as: String.self)
            let transactionReadOnly = try r?.decode(column: 1, as: String.self)
            standby = recovery == "t"
            readOnly = standby || transactionReadOnly == "on"
        }
        switch attrs {
        case .any: return true
        case .readWrite: return !readOnly
        case .readOnly: return readOnly
        case .primary: return !standby
        case .standby, .preferStandby: return standby
        }
    }
}

/// Chooses the order in which hosts are tried: round-robin when load balancing, hosts that
/// recently failed last.
final class HostSelector: Sendable {
    struct State {
        var next = 0
        var downUntil: [Int: ContinuousClock.Instant] = [:]
    }

    let hosts: [String]
    let loadBalance: Bool
    let recheck: Duration
    private let state = NIOLockedValueBox(State())

    init(hosts: [String], loadBalance: Bool, recheck: Duration) {
        self.hosts = hosts
        self.loadBalance = loadBalance
        self.recheck = recheck
    }

    func order() -> [Int] {
        state.withLockedValue { s in
            let n = hosts.count
            guard n > 0 else { return [] }
            let start = loadBalance ? s.next % n : 0
            if loadBalance { s.next &+= 1 }
            let rotated = (0..<n).map { (start + $0) % n }
            let now = ContinuousClock.now
            let up = rotated.filter { (s.downUntil[$0] ?? now) <= now }
            let down = rotated.filter { (s.downUntil[$0] ?? now) > now }
            return up + down
        }
    }

    func markDown(_ i: Int) { state.withLockedValue { $0.downUntil[i] = ContinuousClock.now + recheck } }
    func markUp(_ i: Int) { state.withLockedValue { $0.downUntil[i] = nil } }
}
