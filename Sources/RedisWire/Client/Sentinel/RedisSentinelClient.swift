import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WireCore

/// Configuration of a ``RedisSentinelClient``.
public struct RedisSentinelConfiguration: Sendable {
    /// The sentinels to ask (any of them may be down).
    public var sentinels: [RedisNodeAddress]
    /// The monitored master's name (`sentinel monitor <name> ...`).
    public var masterName: String
    /// Template for master connections (auth, TLS, database); the endpoint is replaced.
    public var connection: RedisConnectionConfiguration
    /// Template for sentinel connections (auth to the sentinels, if any).
    public var sentinelConnection: RedisConnectionConfiguration
    /// Client settings for the master (pool, cache).
    public var client: RedisClientConfiguration
    /// How long a command keeps retrying while a failover is in progress.
    public var failoverTimeout: Duration
    /// Backoff between rediscovery attempts.
    public var retryBackoff: Backoff

    /// Creates a configuration.
    public init(sentinels: [RedisNodeAddress], masterName: String, connection: RedisConnectionConfiguration? = nil,
                sentinelConnection: RedisConnectionConfiguration? = nil, failoverTimeout: Duration = .seconds(30),
                retryBackoff: Backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))) {
        precondition(!sentinels.isEmpty, "a sentinel client needs at least one sentinel")
        self.sentinels = sentinels
        self.masterName = masterName
        let template = connection ?? .tcp(host: sentinels[0].host, port: 6379)
        self.connection = template
        var s = sentinelConnection ?? .tcp(host: sentinels[0].host, port: sentinels[0].port)
        s.database = 0
        self.sentinelConnection = s
        self.client = RedisClientConfiguration(connection: template)
        self.failoverTimeout = failoverTimeout
        self.retryBackoff = retryBackoff
    }
}

/// A client for a Sentinel-managed master: asks the sentinels where the master is
/// (`SENTINEL GET-MASTER-ADDR-BY-NAME`), verifies it with `ROLE`, and follows failovers — when
/// the master stops answering or turns into a replica, it asks the sentinels again and
/// continues on the promoted replica.
public final class RedisSentinelClient: Service, RedisCommandExecutor, Sendable {
    /// The configuration.
    public let configuration: RedisSentinelConfiguration
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    private let current = Mutex<(address: RedisNodeAddress, client: RedisClient)?>(nil)
    private let clients: AsyncStream<RedisClient>
    private let clientsContinuation: AsyncStream<RedisClient>.Continuation

    /// Creates a sentinel client; the master is discovered on first use.
    public init(configuration: RedisSentinelConfiguration, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        (clients, clientsContinuation) = AsyncStream.makeStream(of: RedisClient.self)
    }

    /// Runs the clients of the masters in use until cancelled or graceful shutdown.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { runs in
                    for await client in self.clients { runs.addTask { try? await client.run() } }
                    runs.cancelAll()
                }
            }
            try? await gracefulShutdown()
            clientsContinuation.finish()
            group.cancelAll()
        }
    }

    /// The address of the master currently in use (nil before the first command).
    public var currentMaster: RedisNodeAddress? { current.withLock { $0?.address } }

    /// Asks the sentinels for the master's address and checks it really is a master.
    public func discoverMaster() async throws -> RedisNodeAddress {
        var lastError: (any Error)?
        for sentinel in configuration.sentinels {
            do {
                var config = configuration.sentinelConnection
                config.transport.endpoint = .tcp(host: sentinel.host, port: sentinel.port)
                let connection = try await RedisConnection.connect(configuration: config, logger: logger, eventLoopGroup: eventLoopGroup)
                defer { Task { await connection.close() } }
                let reply = try await connection.send(RedisCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", .string(configuration.masterName)))
                guard let parts = try [String]?(fromRESP: reply), parts.count == 2, let port = Int(parts[1]) else {
                    throw RedisClientError.masterNotFound(configuration.masterName)
                }
                let address = RedisNodeAddress(host: parts[0], port: port)
                var masterConfig = configuration.connection
                masterConfig.transport.endpoint = .tcp(host: address.host, port: address.port)
                let probe = try await RedisConnection.connect(configuration: masterConfig, logger: logger, eventLoopGroup: eventLoopGroup)
                defer { Task { await probe.close() } }
                let role = try await probe.send(RedisCommand("ROLE"))
                guard role.elements?.first?.string == "master" else {
                    throw RedisConnectionError.connectFailed("\(address) is not a master yet (failover in progress)")
                }
                return address
            } catch {
                lastError = error
                logger.debug("sentinel discovery attempt failed", metadata: ["sentinel": "\(sentinel)", "error": "\(error)"])
            }
        }
        throw lastError ?? RedisClientError.masterNotFound(configuration.masterName)
    }

    private func masterClient(forceRediscover stale: RedisNodeAddress?) async throws -> RedisClient {
        if let c = current.withLock({ $0 }), c.address != stale { return c.client }
        let address = try await discoverMaster()
        return current.withLock { cur in
            if let cur, cur.address == address { return cur.client }
            var config = configuration.client
            config.connection = configuration.connection
            config.connection.transport.endpoint = .tcp(host: address.host, port: address.port)
            let client = RedisClient(configuration: config, logger: logger, eventLoopGroup: eventLoopGroup)
            clientsContinuation.yield(client)
            logger.info("using Redis master", metadata: ["master": "\(address)", "name": "\(configuration.masterName)"])
            cur = (address, client)
            return client
        }
    }

    /// Sends a command to the current master. During a failover (master unreachable, or it
    /// answers `READONLY` because it was demoted) the master is rediscovered and the command
    /// retried until ``RedisSentinelConfiguration/failoverTimeout``; commands that may already
    /// have run are retried only when they are read-only.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let deadline = Deadline.after(configuration.failoverTimeout)
        var attempt = 0
        var stale: RedisNodeAddress?
        while true {
            let client: RedisClient
            do {
                client = try await masterClient(forceRediscover: stale)
            } catch {
                guard !deadline.hasExpired else { throw error }
                try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
                attempt += 1
                continue
            }
            let address = current.withLock { $0?.address }
            do {
                return try await client.send(command)
            } catch let error as RedisServerError where error.code == "READONLY" || error.code == "LOADING" {
                guard !deadline.hasExpired else { throw error }
                stale = address
            } catch let error as ConnectionPoolError {
                // No connection could be opened to the master (it is down): nothing was sent.
                guard !deadline.hasExpired else { throw error }
                stale = address
            } catch let error as RedisConnectionError {
                let mayHaveRun: Bool
                if case .connectFailed = error { mayHaveRun = false } else { mayHaveRun = true }
                guard !deadline.hasExpired, !mayHaveRun || command.isReadOnly else {
                    stale = address
                    current.withLock { if $0?.address == address { $0 = nil } }
                    throw error
                }
                stale = address
            }
            current.withLock { if $0?.address == stale { $0 = nil } }
            logger.info("Redis master unavailable, asking the sentinels", metadata: ["master": "\(stale.map { "\($0)" } ?? "?")"])
            try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
            attempt += 1
        }
    }
}
