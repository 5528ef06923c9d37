import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import WireCore

/// A Redis client: a pool of pipelined connections, a shared pub/sub connection and an
/// optional client-side cache. Run it as a ServiceLifecycle `Service` (or call ``run()`` in a
/// task) and use it from any number of tasks.
///
/// ```swift
/// let client = try RedisClient(url: "redis://127.0.0.1:6379", logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await client.run() }
///     try await client.set("greeting", to: "hello")
///     let value = try await client.get("greeting")
///     group.cancelAll()
/// }
/// ```
///
/// Ordinary commands go to shared connections where concurrent commands are pipelined
/// automatically. Transactions, blocking commands and ``withConnection(_:)`` get a connection of
/// their own.
public final class RedisClient: Service, RedisCommandExecutor, Sendable {
    /// The configuration the client was created with.
    public let configuration: RedisClientConfiguration
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let pool: ConnectionPool<RedisConnection>
    let exclusivePool: ConnectionPool<RedisConnection>
    let subscriptions: RedisSubscriptionManager
    let cache: ClientSideCache?

    /// Creates a client; no connection is opened until the first command.
    public init(configuration: RedisClientConfiguration, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        let cache = configuration.clientSideCache.map(ClientSideCache.init)
        if cache != nil && configuration.connection.protocolVersion != .resp3 {
            logger.warning("client-side caching needs RESP3; the cache is disabled")
        }
        let effectiveCache = configuration.connection.protocolVersion == .resp3 ? cache : nil
        self.cache = effectiveCache
        let connectionConfiguration = configuration.connection
        self.pool = ConnectionPool(configuration: configuration.pool, logger: logger, factory: {
            try await Self.makeConnection(connectionConfiguration, cache: effectiveCache, logger: logger, eventLoopGroup: eventLoopGroup)
        })
        var exclusive = configuration.pool
        exclusive.maxConnections = configuration.maxExclusiveConnections
        exclusive.leasesPerConnection = 1
        exclusive.minConnections = 0
        self.exclusivePool = ConnectionPool(configuration: exclusive, logger: logger, factory: {
            try await RedisConnection.connect(configuration: connectionConfiguration, logger: logger, eventLoopGroup: eventLoopGroup)
        })
        self.subscriptions = RedisSubscriptionManager(logger: logger, backoff: configuration.reconnectBackoff) { onPush in
            try await RedisConnection.connect(configuration: connectionConfiguration, logger: logger, eventLoopGroup: eventLoopGroup, onPush: onPush)
        }
    }

    /// Creates a client from a `redis://`, `rediss://` or `unix://` URL.
    public convenience init(url: String, logger: Logger) throws {
        self.init(configuration: try RedisClientConfiguration(url: url), logger: logger)
    }

    static func makeConnection(_ configuration: RedisConnectionConfiguration, cache: ClientSideCache?, logger: Logger,
                               eventLoopGroup: any EventLoopGroup) async throws -> RedisConnection {
        guard let cache else {
            return try await RedisConnection.connect(configuration: configuration, logger: logger, eventLoopGroup: eventLoopGroup)
        }
        let connection = try await RedisConnection.connect(configuration: configuration, logger: logger, eventLoopGroup: eventLoopGroup) { push in
            cache.handlePush(push)
        }
        guard connection.protocolVersion == .resp3 else {
            await connection.close()
            throw RedisConnectionError.handshakeFailed("client-side caching needs RESP3, the server only speaks RESP2")
        }
        _ = try await connection.send(RedisCommand("CLIENT", "TRACKING", "ON"))
        // Invalidations for keys read on this connection are lost with it.
        connection.closeFuture.whenComplete { _ in cache.clear() }
        return connection
    }

    /// Runs connection maintenance and pub/sub restoration until cancelled or until graceful
    /// shutdown; then closes every connection.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.pool.run() }
            group.addTask { await self.exclusivePool.run() }
            group.addTask { await self.subscriptions.run() }
            try? await gracefulShutdown()
            group.cancelAll()
            await self.subscriptions.shutdown()
        }
        await pool.shutdown()
        await exclusivePool.shutdown()
    }

    /// Sends a command on a shared connection (pipelined with concurrent commands); blocking
    /// commands get a connection of their own. Error replies are thrown as ``RedisServerError``.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        if let cache, command.isReadOnly, command.arguments.count == 2, command.name == "GET",
           case .string(let key) = command.arguments[1] {
            return try await cachedGet(key, command: command, cache: cache)
        }
        if Self.isBlocking(command) {
            return try await exclusivePool.withConnection { try await $0.send(command) }
        }
        let connection = try await pool.lease()
        defer { pool.release(connection) }
        return try await connection.send(command)
    }

    private func cachedGet(_ key: String, command: RedisCommand, cache: ClientSideCache) async throws -> RESPValue {
        if let hit = cache.lookup(key) { return hit }
        let ticket = cache.beginFill(key)
        do {
            let connection = try await pool.lease()
            defer { pool.release(connection) }
            let value = try await connection.send(command)
            cache.completeFill(ticket, value: value)
            return value
        } catch {
            cache.completeFill(ticket, value: nil)
            throw error
        }
    }

    /// Client-side cache statistics (nil when caching is off).
    public var cacheStatistics: (entries: Int, hits: Int, misses: Int, invalidations: Int)? {
        cache?.statistics
    }

    static func isBlocking(_ command: RedisCommand) -> Bool {
        guard case .string(let raw) = command.arguments[0], let first = raw.utf8.first else { return false }
        guard first == UInt8(ascii: "B") || first == UInt8(ascii: "b") || first == UInt8(ascii: "X") || first == UInt8(ascii: "x")
            || first == UInt8(ascii: "W") || first == UInt8(ascii: "w") else { return false }
        switch raw.uppercased() {
        case "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT":
            return true
        case "XREAD", "XREADGROUP":
            return command.arguments.contains { if case .string(let s) = $0 { return s.uppercased() == "BLOCK" } else { return false } }
        default:
            return false
        }
    }

    /// Sends all commands in one write on one shared connection and returns each result in
    /// order; a failing command does not stop the others.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RESPValue, RedisServerError>] {
        let connection = try await pool.lease()
        defer { pool.release(connection) }
        return try await connection.pipeline(commands).map(Self.result)
    }

    static func result(_ value: RESPValue) -> Result<RESPValue, RedisServerError> {
        value.isError ? .failure(RedisServerError(message: errorText(value))) : .success(value)
    }

    /// Runs `body` with a connection nobody else uses for the duration (for `WATCH`, `MULTI`,
    /// blocking reads, `CLIENT` settings).
    public func withConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        try await exclusivePool.withConnection(body)
    }

    /// Runs a `MULTI`/`EXEC` transaction on an exclusive connection.
    ///
    /// `WATCH`es `keys` first; `body` may read through the transaction (reads run immediately,
    /// before `MULTI`) and queues writes with ``RedisTransaction/queue(_:)``. If a watched key
    /// changed, ``RedisClientError/transactionAborted`` is thrown and nothing was written.
    /// - Returns: the result of each queued command.
    public func transaction(watching keys: [String] = [], _ body: (RedisTransaction) async throws -> Void) async throws
        -> [Result<RESPValue, RedisServerError>]
    {
        try await exclusivePool.withConnection { connection in
            try await RedisTransaction.run(on: connection, watching: keys, body)
        }
    }

    /// Subscribes to channels, patterns or shard channels for the duration of `body`.
    ///
    /// All subscriptions of a client share one connection; after that connection is lost they
    /// are restored automatically (messages published while it was down are lost, as with any
    /// Redis pub/sub). The subscription is active when `body` starts.
    public func subscribe<T>(to names: [String], kind: RedisSubscriptionKind = .channel,
                             _ body: (RedisSubscription) async throws -> T) async throws -> T {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: RedisPubSubMessage.self, throwing: (any Error).self)
        let keys = names.map { SubscriptionRouter.Key(kind: kind, name: $0) }
        let id = try await subscriptions.subscribe(keys, continuation: continuation)
        do {
            let result = try await body(RedisSubscription(stream: stream))
            await subscriptions.unsubscribe(id, keys: keys)
            continuation.finish()
            return result
        } catch {
            await subscriptions.unsubscribe(id, keys: keys)
            continuation.finish()
            throw error
        }
    }
}

extension RedisConnection: PooledConnection {}
