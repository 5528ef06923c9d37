import Logging
import NIOCore
import Synchronization
import WireCore

/// The kind of a pub/sub subscription.
public enum RedisSubscriptionKind: Sendable, Hashable {
    /// `SUBSCRIBE channel`.
    case channel
    /// `PSUBSCRIBE pattern` (glob-style).
    case pattern
    /// `SSUBSCRIBE shardchannel` (sharded pub/sub, Redis 7).
    case shardChannel

    var subscribeCommand: String {
        switch self {
        case .channel: return "SUBSCRIBE"
        case .pattern: return "PSUBSCRIBE"
        case .shardChannel: return "SSUBSCRIBE"
        }
    }

    var unsubscribeCommand: String {
        switch self {
        case .channel: return "UNSUBSCRIBE"
        case .pattern: return "PUNSUBSCRIBE"
        case .shardChannel: return "SUNSUBSCRIBE"
        }
    }
}

/// A message received on a subscription.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel the message was published to.
    public var channel: String
    /// The pattern that matched, for pattern subscriptions.
    public var pattern: String?
    /// The message bytes.
    public var payload: ByteBuffer
    /// Which kind of subscription received it.
    public var kind: RedisSubscriptionKind

    /// The payload as UTF-8 text.
    public var string: String { String(buffer: payload) }
}

/// The messages of one subscription, as an `AsyncSequence`. Ends when the scope of
/// ``RedisClient/subscribe(to:kind:_:)`` ends or the client shuts down.
public struct RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisPubSubMessage
    let stream: AsyncThrowingStream<RedisPubSubMessage, any Error>

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<RedisPubSubMessage, any Error>.AsyncIterator
        /// The next message, or nil when the subscription ended.
        public mutating func next() async throws -> RedisPubSubMessage? { try await base.next() }
    }

    /// Makes an iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator()) }
}

/// Routes pushes to subscribers; called on the connection's event loop, so it is lock-based.
final class SubscriptionRouter: Sendable {
    struct Key: Hashable, Sendable {
        var kind: RedisSubscriptionKind
        var name: String
    }
    typealias Continuation = AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation

    private struct State {
        var subscribers: [Key: [UInt64: Continuation]] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Adds a subscriber; returns its id and the keys that had no subscriber before.
    func add(_ keys: [Key], continuation: Continuation) -> (UInt64, [Key]) {
        state.withLock { s in
            s.nextID += 1
            var fresh: [Key] = []
            for key in keys {
                if s.subscribers[key] == nil { fresh.append(key); s.subscribers[key] = [:] }
                s.subscribers[key]![s.nextID] = continuation
            }
            return (s.nextID, fresh)
        }
    }

    /// Removes a subscriber; returns the keys that no longer have any subscriber.
    func remove(_ id: UInt64, keys: [Key]) -> [Key] {
        state.withLock { s in
            var gone: [Key] = []
            for key in keys {
                s.subscribers[key]?[id] = nil
                if s.subscribers[key]?.isEmpty == true {
                    s.subscribers[key] = nil
                    gone.append(key)
                }
            }
            return gone
        }
    }

    var activeKeys: [Key] { state.withLock { Array($0.subscribers.keys) } }

    func finishAll(error: (any Error)?) {
        let all = state.withLock { s in
            let conts = s.subscribers.values.flatMap(\.values)
            s.subscribers = [:]
            return conts
        }
        for c in all { c.finish(throwing: error) }
    }

    /// Delivers a `message`/`pmessage`/`smessage` push; returns false for other pushes.
    @discardableResult
    func route(_ push: RESPValue) -> Bool {
        guard let e = push.elements, let kind = e.first?.string else { return false }
        let message: RedisPubSubMessage
        let key: Key
        switch kind {
        case "message" where e.count == 3:
            guard let ch = e[1].string, let payload = try? ByteBuffer(fromRESP: e[2]) else { return false }
            message = RedisPubSubMessage(channel: ch, pattern: nil, payload: payload, kind: .channel)
            key = Key(kind: .channel, name: ch)
        case "pmessage" where e.count == 4:
            guard let pattern = e[1].string, let ch = e[2].string, let payload = try? ByteBuffer(fromRESP: e[3]) else { return false }
            message = RedisPubSubMessage(channel: ch, pattern: pattern, payload: payload, kind: .pattern)
            key = Key(kind: .pattern, name: pattern)
        case "smessage" where e.count == 3:
            guard let ch = e[1].string, let payload = try? ByteBuffer(fromRESP: e[2]) else { return false }
            message = RedisPubSubMessage(channel: ch, pattern: nil, payload: payload, kind: .shardChannel)
            key = Key(kind: .shardChannel, name: ch)
        default:
            return false
        }
        let targets = state.withLock { s in s.subscribers[key].map { Array($0.values) } ?? [] }
        for t in targets { t.yield(message) }
        return true
    }
}

/// Owns the one connection all subscriptions of a client share, and restores every
/// subscription after the connection is lost.
actor RedisSubscriptionManager {
    let router = SubscriptionRouter()
    private let connect: @Sendable (_ onPush: @escaping @Sendable (RESPValue) -> Void) async throws -> RedisConnection
    private let logger: Logger
    private let backoff: Backoff
    private var connection: RedisConnection?
    private var connecting: Task<RedisConnection, any Error>?
    private let lost: AsyncStream<Void>
    private let lostContinuation: AsyncStream<Void>.Continuation
    private var isShutDown = false

    init(logger: Logger, backoff: Backoff,
         connect: @escaping @Sendable (_ onPush: @escaping @Sendable (RESPValue) -> Void) async throws -> RedisConnection) {
        self.connect = connect
        self.logger = logger
        self.backoff = backoff
        (lost, lostContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    private func currentConnection() async throws -> RedisConnection {
        if isShutDown { throw RedisClientError.clientShutDown }
        if let connection, connection.isUsable { return connection }
        if let connecting { return try await connecting.value }
        let router = self.router
        let connect = self.connect
        let task = Task { try await connect { push in router.route(push) } }
        connecting = task
        defer { connecting = nil }
        let conn = try await task.value
        connection = conn
        let lostContinuation = self.lostContinuation
        conn.closeFuture.whenComplete { _ in lostContinuation.yield() }
        return conn
    }

    /// Subscribes; the returned id is used to unsubscribe.
    func subscribe(_ keys: [SubscriptionRouter.Key], continuation: SubscriptionRouter.Continuation) async throws -> UInt64 {
        let (id, fresh) = router.add(keys, continuation: continuation)
        do {
            let conn = try await currentConnection()
            try await Self.send(fresh, subscribe: true, on: conn)
        } catch {
            let gone = router.remove(id, keys: keys)
            if let connection, connection.isUsable { try? await Self.send(gone, subscribe: false, on: connection) }
            throw error
        }
        return id
    }

    func unsubscribe(_ id: UInt64, keys: [SubscriptionRouter.Key]) async {
        let gone = router.remove(id, keys: keys)
        guard let connection, connection.isUsable, !gone.isEmpty else { return }
        do {
            try await Self.send(gone, subscribe: false, on: connection)
        } catch {
            logger.debug("unsubscribe failed", metadata: ["error": "\(error)"])
        }
    }

    private static func send(_ keys: [SubscriptionRouter.Key], subscribe: Bool, on connection: RedisConnection) async throws {
        let byKind = Dictionary(grouping: keys, by: \.kind)
        for (kind, group) in byKind {
            try await connection.sendSubscription(subscribe ? kind.subscribeCommand : kind.unsubscribeCommand, channels: group.map(\.name))
        }
    }

    /// Restores subscriptions whenever the connection is lost, until cancelled.
    func run() async {
        for await _ in lost {
            if Task.isCancelled || isShutDown { break }
            var attempt = 0
            while !Task.isCancelled && !isShutDown {
                let keys = router.activeKeys
                if keys.isEmpty { break }
                if let c = connection, c.isUsable { break }
                connection = nil
                do {
                    let conn = try await currentConnection()
                    try await Self.send(router.activeKeys, subscribe: true, on: conn)
                    logger.info("pub/sub connection restored", metadata: ["subscriptions": "\(keys.count)"])
                    break
                } catch {
                    logger.warning("restoring pub/sub connection failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                    try? await Task.sleep(for: backoff.delay(forAttempt: attempt))
                    attempt += 1
                }
            }
        }
    }

    func shutdown() async {
        isShutDown = true
        lostContinuation.finish()
        router.finishAll(error: nil)
        await connection?.close()
        connection = nil
    }
}
