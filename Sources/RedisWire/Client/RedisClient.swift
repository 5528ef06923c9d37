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
    private let stopSignal: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    /// Creates a client; no connection is opened until the first command.
    public init(configuration: RedisClientConfiguration, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        (stopSignal, stopContinuation) = AsyncStream.makeStream(of: Void.self)
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
            await withTaskGroup(of: Void.self) { waiters in
                waiters.addTask { try? await gracefulShutdown() }
                waiters.addTask { for await _ in self.stopSignal {} }
                await waiters.next()
                waiters.cancelAll()
            }
            group.cancelAll()
            await self.subscriptions.shutdown()
        }
        await pool.shutdown()
        await exclusivePool.shutdown()
    }

    /// Makes ``run()`` close every connection and return (used when a sentinel client retires
    /// the client of a former master).
    func stop() {
        stopContinuation.finish()
    }

    /// Sends a command on a shared connection (pipelined with concurrent commands); blocking
    /// commands get a connection of their own. Error replies are thrown as ``RedisServerError``.
    ///
    /// With the client-side cache on, reads it covers (`GET`, `MGET`, `EXISTS`, `HGET`,
    /// `HGETALL`, `SMEMBERS`, `LRANGE`, `ZRANGE`, `STRLEN`, ... see
    /// ``RedisClientConfiguration/clientSideCache``) are answered from it when possible.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        if let op = RedisTracing.command(command, configuration.connection) { return try await op.run { try await self.send(command) } }
        guard let cache else { return try await sendUncached(command) }
        switch CachePlan(command) {
        case .singleKey(let key, let signature):
            return try await cachedRead(key, signature, command: command, cache: cache)
        case .mget(let keys):
            return try await cachedMGet(keys, command: command, cache: cache)
        case .exists(let keys):
            return try await cachedExists(keys, command: command, cache: cache)
        case .write(let keys):
            defer { cache.invalidate(keys) }
            return try await sendUncached(command)
        case .flush:
            defer { cache.clear() }
            return try await sendUncached(command)
        case .passThrough:
            return try await sendUncached(command)
        }
    }

    /// Commands that were never written (the leased connection had just closed) are sent again
    /// on another connection, twice at most.
    private func sendUncached(_ command: RedisCommand) async throws -> RESPValue {
        var attempt = 0
        while true {
            do {
                if command.isBlocking {
                    return try await exclusivePool.withConnection { try await $0.send(command) }
                }
                let connection = try await pool.lease()
                defer { pool.release(connection) }
                return try await connection.send(command)
            } catch RedisConnectionError.notSent(let reason) where attempt < 2 {
                attempt += 1
                logger.debug("command not sent on a closed connection, retrying", metadata: ["reason": "\(reason)"])
            }
        }
    }

    private func cachedRead(_ key: ClientSideCache.Key, _ signature: ClientSideCache.Signature, command: RedisCommand,
                            cache: ClientSideCache) async throws -> RESPValue {
        if let hit = cache.lookup(key, signature) { return hit }
        let ticket = cache.beginFill(key)
        do {
            let value = try await sendUncached(command)
            cache.completeFill(ticket, signature, value: value)
            return value
        } catch {
            cache.completeFill(ticket, signature, value: nil)
            throw error
        }
    }

    /// `MGET`: cached keys are answered locally, the others fetched with one `MGET` and cached
    /// one by one (a key's `MGET` value is cached apart from its `GET`, which fails on other types).
    private func cachedMGet(_ keys: [ClientSideCache.Key], command: RedisCommand, cache: ClientSideCache) async throws -> RESPValue {
        let signature = ClientSideCache.Signature(arguments: ["MGET"])
        var values = keys.map { cache.lookup($0, signature) }
        let missing = values.indices.filter { values[$0] == nil }
        guard !missing.isEmpty else { return .array(values.map { $0! }) }
        let tickets = missing.map { cache.beginFill(keys[$0]) }
        let fetch = RedisCommand("MGET", missing.map { command.arguments[$0 + 1] }, keyIndices: Array(missing.indices), isReadOnly: true)
        let reply: RESPValue
        do {
            reply = try await sendUncached(fetch)
        } catch {
            for t in tickets { cache.completeFill(t, signature, value: nil) }
            throw error
        }
        let fetched = reply.elements ?? []
        for (j, i) in missing.enumerated() {
            let value = j < fetched.count ? fetched[j] : nil
            cache.completeFill(tickets[j], signature, value: value)
            values[i] = value ?? .null
        }
        return .array(values.map { $0! })
    }

    /// `EXISTS`: each key's 0/1 is cached on its own; missing ones are asked in one pipeline.
    private func cachedExists(_ keys: [ClientSideCache.Key], command: RedisCommand, cache: ClientSideCache) async throws -> RESPValue {
        let signature = ClientSideCache.Signature(arguments: ["EXISTS"])
        var counts = keys.map { cache.lookup($0, signature) }
        let missing = counts.indices.filter { counts[$0] == nil }
        if !missing.isEmpty {
            let tickets = missing.map { cache.beginFill(keys[$0]) }
            let replies: [RESPValue]
            do {
                let connection = try await pool.lease()
                defer { pool.release(connection) }
                replies = try await connection.pipeline(missing.map {
                    RedisCommand("EXISTS", [command.arguments[$0 + 1]], keyIndices: [0], isReadOnly: true)
                })
            } catch {
                for t in tickets { cache.completeFill(t, signature, value: nil) }
                throw error
            }
            for (j, i) in missing.enumerated() {
                cache.completeFill(tickets[j], signature, value: replies[j])
                counts[i] = replies[j]
            }
            if let failed = replies.first(where: \.isError) { throw RedisServerError(message: errorText(failed)) }
        }
        var total: Int64 = 0
        for c in counts { if case .integer(let n) = c?.withoutAttributes { total += n } }
        return .integer(total)
    }

    /// Client-side cache statistics (nil when caching is off).
    public var cacheStatistics: (entries: Int, hits: Int, misses: Int, invalidations: Int)? {
        cache?.statistics
    }

    /// Sends all commands in one write on one shared connection and returns each result in
    /// order; a failing command does not stop the others.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RESPValue, RedisServerError>] {
        if let op = RedisTracing.pipeline(commands, configuration.connection) { return try await op.run { try await self.pipeline(commands) } }
        defer { invalidateWrittenKeys(commands) }
        let connection = try await pool.lease()
        defer { pool.release(connection) }
        return try await connection.pipeline(commands).map(Self.result)
    }

    /// Read-your-writes with the cache on: keys written by this client are dropped locally
    /// once the write's reply arrived (the server's invalidation push may come later, on
    /// another connection).
    func invalidateWrittenKeys(_ commands: [RedisCommand]) {
        guard let cache else { return }
        var keys: [ClientSideCache.Key] = []
        for command in commands {
            switch CachePlan(command) {
            case .write(let k): keys += k
            case .flush: cache.clear()
            default: break
            }
        }
        cache.invalidate(keys)
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
            try await RedisTransaction.run(on: connection, watching: keys, body, afterExec: invalidateWrittenKeys)
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
