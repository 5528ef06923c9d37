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
/// (`SENTINEL GET-MASTER-ADDR-BY-NAME`), verifies it with `ROLE`, and follows failovers.
///
/// While ``run()`` runs, the client stays subscribed to a sentinel's `+switch-master`
/// channel (moving to the next sentinel if that one goes away) and switches to the promoted
/// master as soon as a failover is announced, before any command fails. Independently, when
/// the master stops answering or turns into a replica (`READONLY`), it asks the sentinels again
/// and continues on the promoted replica. The client of a former master is closed shortly
/// after the switch, once the commands still running on it had time to finish.
public final class RedisSentinelClient: Service, RedisCommandExecutor, Sendable {
    /// The configuration.
    public let configuration: RedisSentinelConfiguration
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    private let current = Mutex<(address: RedisNodeAddress, client: RedisClient)?>(nil)
    private let clients: AsyncStream<RedisClient>
    private let clientsContinuation: AsyncStream<RedisClient>.Continuation
    private let retired: AsyncStream<RedisClient>
    private let retiredContinuation: AsyncStream<RedisClient>.Continuation
    private let watching = Mutex<RedisNodeAddress?>(nil)
    private let announcedSwitches = Mutex(0)

    /// Creates a sentinel client; the master is discovered on first use.
    public init(configuration: RedisSentinelConfiguration, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        (clients, clientsContinuation) = AsyncStream.makeStream(of: RedisClient.self)
        (retired, retiredContinuation) = AsyncStream.makeStream(of: RedisClient.self)
    }

    /// Runs the clients of the masters in use and the `+switch-master` watch until cancelled
    /// or graceful shutdown.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { runs in
                    for await client in self.clients { runs.addTask { try? await client.run() } }
                    runs.cancelAll()
                }
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { retirements in
                    for await client in self.retired {
                        retirements.addTask {
                            // Let commands already running on the former master finish first.
                            try? await Task.sleep(for: .seconds(2))
                            client.stop()
                        }
                    }
                }
            }
            group.addTask { await self.watchSentinels() }
            try? await gracefulShutdown()
            clientsContinuation.finish()
            retiredContinuation.finish()
            group.cancelAll()
        }
    }

    /// The address of the master currently in use (nil before the first command).
    public var currentMaster: RedisNodeAddress? { current.withLock { $0?.address } }

    /// The sentinel whose `+switch-master` announcements the client receives now (nil while
    /// it is (re)connecting to one).
    public var watchedSentinel: RedisNodeAddress? { watching.withLock { $0 } }

    /// How many failovers the client learned about from `+switch-master` (for tests and metrics).
    public var announcedFailovers: Int { announcedSwitches.withLock { $0 } }

    // MARK: +switch-master

    /// Stays subscribed to `+switch-master` on one sentinel at a time, until cancelled.
    private func watchSentinels() async {
        var index = 0
        var attempt = 0
        while !Task.isCancelled {
            let sentinel = configuration.sentinels[index % configuration.sentinels.count]
            index += 1
            do {
                try await watch(sentinel)
                attempt = 0
            } catch {
                logger.debug("watching sentinel failed", metadata: ["sentinel": "\(sentinel)", "error": "\(error)"])
            }
            watching.withLock { $0 = nil }
            if Task.isCancelled { break }
            try? await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
            attempt += 1
        }
    }

    /// Subscribes to `+switch-master` on `sentinel` and returns when that connection closes.
    private func watch(_ sentinel: RedisNodeAddress) async throws {
        var config = configuration.sentinelConnection
        config.transport.endpoint = .tcp(host: sentinel.host, port: sentinel.port)
        let name = configuration.masterName
        let connection = try await RedisConnection.connect(configuration: config, logger: logger, eventLoopGroup: eventLoopGroup) {
            [weak self] push in
            guard let e = push.elements, e.count == 3, e[0].string == "message", e[1].string == "+switch-master",
                  let text = e[2].string else { return }
            // "<name> <old-ip> <old-port> <new-ip> <new-port>"
            let parts = text.split(separator: " ")
            guard parts.count == 5, parts[0] == name, let port = Int(parts[4]) else { return }
            self?.switchAnnounced(to: RedisNodeAddress(host: String(parts[3]), port: port))
        }
        try await withTaskCancellationHandler {
            try await connection.sendSubscription("SUBSCRIBE", channels: ["+switch-master"])
            watching.withLock { $0 = sentinel }
            logger.debug("watching sentinel for failovers", metadata: ["sentinel": "\(sentinel)"])
            // A failover announced while no sentinel was watched: catch up.
            if let using = currentMaster, let actual = try? await discoverMaster(), actual != using {
                switchTo(actual, reason: "sentinel reports a new master")
            }
            try await connection.closeFuture.get()
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }

    private func switchAnnounced(to address: RedisNodeAddress) {
        announcedSwitches.withLock { $0 += 1 }
        switchTo(address, reason: "+switch-master")
    }

    /// Makes `address` the master in use; the former master's client is retired.
    private func switchTo(_ address: RedisNodeAddress, reason: String) {
        let former: RedisClient? = current.withLock { cur in
            if let cur, cur.address == address { return nil }
            let old = cur?.client
            cur = (address, makeClient(for: address))
            return old
        }
        guard current.withLock({ $0?.address == address }) else { return }
        logger.info("switched Redis master", metadata: ["master": "\(address)", "name": "\(configuration.masterName)", "reason": "\(reason)"])
        if let former { retiredContinuation.yield(former) }
    }

    private func makeClient(for address: RedisNodeAddress) -> RedisClient {
        var config = configuration.client
        config.connection = configuration.connection
        config.connection.transport.endpoint = .tcp(host: address.host, port: address.port)
        let client = RedisClient(configuration: config, logger: logger, eventLoopGroup: eventLoopGroup)
        clientsContinuation.yield(client)
        return client
    }

    // MARK: discovery

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
        let (client, created, former): (RedisClient, Bool, RedisClient?) = current.withLock { cur in
            if let cur, cur.address == address { return (cur.client, false, nil) }
            let old = cur?.client
            let client = makeClient(for: address)
            cur = (address, client)
            return (client, true, old)
        }
        if created { logger.info("using Redis master", metadata: ["master": "\(address)", "name": "\(configuration.masterName)"]) }
        if let former { retiredContinuation.yield(former) }
        return client
    }

    /// Sends a command to the current master. During a failover (master unreachable, or it
    /// answers `READONLY` because it was demoted) the master is rediscovered and the command
    /// retried until ``RedisSentinelConfiguration/failoverTimeout``; commands that may already
    /// have run (``RedisConnectionError/commandMayHaveRun``) are retried only when they are
    /// read-only, otherwise that error is thrown and the caller decides (retry if idempotent).
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        if let op = RedisTracing.command(command, nil) { return try await op.run { try await self.send(command) } }
        let deadline = Deadline.after(configuration.failoverTimeout)
        var attempt = 0
        while true {
            let stale: RedisNodeAddress?
            let client: RedisClient
            do {
                client = try await masterClient(forceRediscover: nil)
            } catch {
                guard !deadline.hasExpired else { throw error }
                try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
                attempt += 1
                continue
            }
            let address = current.withLock { $0?.client === client ? $0?.address : nil }
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
                guard !deadline.hasExpired, !error.commandMayHaveRun || command.isReadOnly else {
                    forget(address)
                    throw error
                }
                stale = address
            }
            forget(stale)
            logger.info("Redis master unavailable, asking the sentinels", metadata: ["master": "\(stale.map { "\($0)" } ?? "?")"])
            try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
            attempt += 1
        }
    }

    /// Stops using `address` (if it is still the master in use) so the next command rediscovers.
    private func forget(_ address: RedisNodeAddress?) {
        guard let address else { return }
        let former: RedisClient? = current.withLock { cur in
            guard let c = cur, c.address == address else { return nil }
            cur = nil
            return c.client
        }
        if let former { retiredContinuation.yield(former) }
    }
}
