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
///
/// It also records which node holds each subscription on the server (always nil for a
/// single server): a cluster client moves shard channels between nodes when their slot moves.
final class SubscriptionRouter: Sendable {
    struct Key: Hashable, Sendable {
        var kind: RedisSubscriptionKind
        var name: String
    }
    typealias Continuation = AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation

    private struct Entry {
        var subscribers: [UInt64: Continuation] = [:]
        var node: RedisNodeAddress?
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Adds a subscriber; returns its id and the keys that had no subscriber before, which are
    /// assigned to `node(key)`.
    func add(_ keys: [Key], continuation: Continuation, node: (Key) -> RedisNodeAddress? = { _ in nil }) -> (UInt64, [Key]) {
        state.withLock { s in
            s.nextID += 1
            var fresh: [Key] = []
            for key in keys {
                if s.entries[key] == nil {
                    fresh.append(key)
                    s.entries[key] = Entry(node: node(key))
                }
                s.entries[key]!.subscribers[s.nextID] = continuation
            }
            return (s.nextID, fresh)
        }
    }

    /// Removes a subscriber; returns the keys that no longer have any subscriber, with the
    /// node that held them.
    func remove(_ id: UInt64, keys: [Key]) -> [(key: Key, node: RedisNodeAddress?)] {
        state.withLock { s in
            var gone: [(key: Key, node: RedisNodeAddress?)] = []
            for key in keys {
                s.entries[key]?.subscribers[id] = nil
                if let entry = s.entries[key], entry.subscribers.isEmpty {
                    s.entries[key] = nil
                    gone.append((key, entry.node))
                }
            }
            return gone
        }
    }

    /// Every key with at least one subscriber.
    var activeKeys: [Key] { state.withLock { Array($0.entries.keys) } }

    /// The keys held on `node`.
    func keys(on node: RedisNodeAddress?) -> [Key] {
        state.withLock { s in s.entries.filter { $0.value.node == node }.map(\.key) }
    }

    /// Whether `key` still has subscribers.
    func contains(_ key: Key) -> Bool { state.withLock { $0.entries[key] != nil } }

    /// The node holding `key` (nil when it has no subscriber, or on a single server).
    func node(of key: Key) -> RedisNodeAddress? { state.withLock { $0.entries[key]?.node } }

    /// Records that `key` is (to be) held on `node`; false if it has no subscriber any more.
    @discardableResult
    func assign(_ key: Key, to node: RedisNodeAddress?) -> Bool {
        state.withLock { s in
            guard s.entries[key] != nil else { return false }
            s.entries[key]!.node = node
            return true
        }
    }

    func finishAll(error: (any Error)?) {
        let all = state.withLock { s in
            let conts = s.entries.values.flatMap(\.subscribers.values)
            s.entries = [:]
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
        let targets = state.withLock { s in s.entries[key].map { Array($0.subscribers.values) } ?? [] }
        for t in targets { t.yield(message) }
        return true
    }

    /// The shard channel of a `sunsubscribe` push, which outside of our own `SUNSUBSCRIBE`
    /// means the server dropped the subscription (its slot moved to another node).
    static func serverUnsubscribedShardChannel(_ push: RESPValue) -> Key? {
        guard let e = push.elements, e.count >= 2, e[0].string == "sunsubscribe", let name = e[1].string else { return nil }
        return Key(kind: .shardChannel, name: name)
    }
}

/// Owns the one connection that the subscriptions held on one server share.
///
/// On a single server (``RedisClient``) it restores every subscription itself after the
/// connection is lost. In a cluster (``RedisClusterClient``) there is one manager per node
/// sharing one ``SubscriptionRouter``; a lost connection, or a shard channel the server
/// unsubscribed (its slot moved), is reported through `displaced`, and the cluster client
/// places those subscriptions again on whichever node owns them now.
actor RedisSubscriptionManager {
    let router: SubscriptionRouter
    /// The node this manager's connection goes to (nil on a single server).
    let node: RedisNodeAddress?
    private let connect: @Sendable (_ onPush: @escaping @Sendable (RESPValue) -> Void) async throws -> RedisConnection
    private let displaced: (@Sendable ([SubscriptionRouter.Key]) -> Void)?
    private let logger: Logger
    private let backoff: Backoff
    private var connection: RedisConnection?
    private var connecting: Task<RedisConnection, any Error>?
    private let lost: AsyncStream<Void>
    private let lostContinuation: AsyncStream<Void>.Continuation
    private var isShutDown = false

    init(router: SubscriptionRouter = SubscriptionRouter(), node: RedisNodeAddress? = nil, logger: Logger, backoff: Backoff,
         displaced: (@Sendable ([SubscriptionRouter.Key]) -> Void)? = nil,
         connect: @escaping @Sendable (_ onPush: @escaping @Sendable (RESPValue) -> Void) async throws -> RedisConnection) {
        self.router = router
        self.node = node
        self.connect = connect
        self.displaced = displaced
        self.logger = logger
        self.backoff = backoff
        (lost, lostContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    private func currentConnection() async throws -> RedisConnection {
        if isShutDown { throw RedisClientError.clientShutDown }
        if let connection, connection.isUsable { return connection }
        if let connecting { return try await connecting.value }
        let router = self.router
        let node = self.node
        let displaced = self.displaced
        let connect = self.connect
        let task = Task {
            try await connect { push in
                if router.route(push) { return }
                if let displaced, let key = SubscriptionRouter.serverUnsubscribedShardChannel(push), node != nil, router.node(of: key) == node {
                    displaced([key])
                }
            }
        }
        connecting = task
        defer { connecting = nil }
        let conn = try await task.value
        connection = conn
        let lostContinuation = self.lostContinuation
        conn.closeFuture.whenComplete { _ in
            if let displaced {
                let keys = router.keys(on: node)
                if !keys.isEmpty { displaced(keys) }
            } else {
                lostContinuation.yield()
            }
        }
        return conn
    }

    /// Subscribes; the returned id is used to unsubscribe.
    func subscribe(_ keys: [SubscriptionRouter.Key], continuation: SubscriptionRouter.Continuation) async throws -> UInt64 {
        let node = self.node
        let (id, fresh) = router.add(keys, continuation: continuation) { _ in node }
        do {
            try await send(fresh, subscribe: true)
        } catch {
            let gone = router.remove(id, keys: keys).map(\.key)
            if let connection, connection.isUsable { try? await Self.send(gone, subscribe: false, on: connection) }
            throw error
        }
        return id
    }

    func unsubscribe(_ id: UInt64, keys: [SubscriptionRouter.Key]) async {
        let gone = router.remove(id, keys: keys).map(\.key)
        await unsubscribeOnServer(gone)
    }

    /// Sends the `(S/P)UNSUBSCRIBE` for keys that lost their last subscriber, if connected.
    func unsubscribeOnServer(_ keys: [SubscriptionRouter.Key]) async {
        guard let connection, connection.isUsable, !keys.isEmpty else { return }
        do {
            try await Self.send(keys, subscribe: false, on: connection)
        } catch {
            logger.debug("unsubscribe failed", metadata: ["error": "\(error)"])
        }
    }

    /// Subscribes `keys` on this manager's connection (connecting if needed); completes when
    /// the server confirmed them.
    func send(_ keys: [SubscriptionRouter.Key], subscribe: Bool) async throws {
        guard !keys.isEmpty else { return }
        let conn = try await currentConnection()
        try await Self.send(keys, subscribe: subscribe, on: conn)
    }

    /// Shard channels are sent one slot at a time (a cluster rejects cross-slot `SSUBSCRIBE`).
    private static func send(_ keys: [SubscriptionRouter.Key], subscribe: Bool, on connection: RedisConnection) async throws {
        let byKind = Dictionary(grouping: keys, by: \.kind)
        for (kind, group) in byKind {
            let command = subscribe ? kind.subscribeCommand : kind.unsubscribeCommand
            if kind == .shardChannel {
                for (_, slotGroup) in Dictionary(grouping: group, by: { RedisHashSlot.slot(for: $0.name) }) {
                    try await connection.sendSubscription(command, channels: slotGroup.map(\.name))
                }
            } else {
                try await connection.sendSubscription(command, channels: group.map(\.name))
            }
        }
    }

    /// Restores subscriptions whenever the connection is lost, until cancelled (single
    /// server; in a cluster the client re-places them).
    func run() async {
        for await _ in lost {
            if Task.isCancelled || isShutDown { break }
            var attempt = 0
            while !Task.isCancelled && !isShutDown {
                let keys = router.keys(on: node)
                if keys.isEmpty { break }
                if let c = connection, c.isUsable { break }
                connection = nil
                do {
                    let conn = try await currentConnection()
                    try await Self.send(router.keys(on: node), subscribe: true, on: conn)
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

    /// Closes the connection; with `finishSubscribers` every subscription stream ends too.
    func shutdown(finishSubscribers: Bool = true) async {
        isShutDown = true
        lostContinuation.finish()
        if finishSubscribers { router.finishAll(error: nil) }
        await connection?.close()
        connection = nil
    }
}
