import NIOCore
import Synchronization

/// A bounded LRU cache of read replies kept correct by `CLIENT TRACKING` invalidations.
///
/// Entries are grouped by Redis key: one key holds the replies of every cached read of it
/// (`GET k`, `HGET k f1`, `HGET k f2`, `SMEMBERS k`, ...), and an invalidation of the key drops
/// them all at once.
///
/// Correctness under concurrent writes by other clients: a read registers a *fill ticket*
/// per key before its command is sent. The server tracks the key for the connection when it
/// executes the read, so any later write produces an invalidation push on that connection
/// *after* the reply. Invalidations bump the key's generation, and a fill whose ticket is older
/// than the key's last invalidation is discarded instead of stored, whichever of reply
/// processing and invalidation runs first. Losing a tracked connection clears the whole cache
/// (its invalidations would be lost). The client's own writes invalidate their keys locally
/// when their reply arrives, so a read that follows a write always sees it.
final class ClientSideCache: Sendable {
    /// A Redis key as raw bytes (invalidation pushes name keys as bytes).
    typealias Key = [UInt8]

    /// Identifies one cached read of a key: the command with the key argument removed.
    struct Signature: Hashable, Sendable {
        var arguments: [RedisArgument]
    }

    private final class Node {
        let key: Key
        var replies: [Signature: RESPValue] = [:]
        var prev: Node?
        var next: Node?
        init(key: Key) { self.key = key }
    }

    struct Ticket: Sendable {
        let key: Key
        let generation: UInt64
    }

    private struct State {
        var entries: [Key: Node] = [:]
        var replyCount = 0
        var head: Node?   // most recently used
        var tail: Node?   // least recently used
        /// In-flight fills per key: count and generation at the time of the last invalidation.
        var fills: [Key: (count: Int, generation: UInt64)] = [:]
        var generation: UInt64 = 1
        var hits = 0
        var misses = 0
        var invalidations = 0

        mutating func unlink(_ node: Node) {
            if let p = node.prev { p.next = node.next } else { head = node.next }
            if let n = node.next { n.prev = node.prev } else { tail = node.prev }
            node.prev = nil
            node.next = nil
        }

        mutating func pushFront(_ node: Node) {
            node.next = head
            head?.prev = node
            head = node
            if tail == nil { tail = node }
        }

        mutating func drop(_ key: Key) {
            if let node = entries.removeValue(forKey: key) {
                unlink(node)
                replyCount -= node.replies.count
            }
        }
    }

    private let state: Mutex<State>
    let configuration: RedisClientSideCacheConfiguration

    init(configuration: RedisClientSideCacheConfiguration) {
        self.configuration = configuration
        self.state = Mutex(State())
    }

    /// The cached reply of the read `signature` of `key`, marking the key most recently used.
    func lookup(_ key: Key, _ signature: Signature) -> RESPValue? {
        state.withLock { s in
            guard let node = s.entries[key], let value = node.replies[signature] else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.unlink(node)
            s.pushFront(node)
            return value
        }
    }

    /// Registers a read of `key` that is about to be sent.
    func beginFill(_ key: Key) -> Ticket {
        state.withLock { s in
            let g = s.generation
            if var f = s.fills[key] {
                f.count += 1
                s.fills[key] = f
            } else {
                s.fills[key] = (1, 0)
            }
            return Ticket(key: key, generation: g)
        }
    }

    /// Stores the reply of a read unless the key was invalidated since its ticket was issued;
    /// `value` nil (the read failed) or an error reply only ends the fill.
    func completeFill(_ ticket: Ticket, _ signature: Signature, value: RESPValue?) {
        state.withLock { s in
            guard var f = s.fills[ticket.key] else { return }
            let invalidatedAt = f.generation
            f.count -= 1
            if f.count == 0 { s.fills[ticket.key] = nil } else { s.fills[ticket.key] = f }
            guard let value, !value.isError, invalidatedAt < ticket.generation else { return }
            if value.approximateByteCount > configuration.maxValueBytes { return }
            let node: Node
            if let existing = s.entries[ticket.key] {
                node = existing
                s.unlink(existing)
            } else {
                node = Node(key: ticket.key)
                s.entries[ticket.key] = node
            }
            if node.replies.updateValue(value, forKey: signature) == nil { s.replyCount += 1 }
            s.pushFront(node)
            while s.replyCount > configuration.maxEntries, let lru = s.tail, lru !== node {
                s.drop(lru.key)
            }
        }
    }

    /// Drops `keys` and poisons in-flight fills for them.
    func invalidate(_ keys: [Key]) {
        guard !keys.isEmpty else { return }
        state.withLock { s in
            s.generation += 1
            for key in keys {
                s.invalidations += 1
                s.drop(key)
                if var f = s.fills[key] {
                    f.generation = s.generation
                    s.fills[key] = f
                }
            }
            s.generation += 1
        }
    }

    /// Drops everything and poisons every in-flight fill.
    func clear() {
        state.withLock { s in
            s.generation += 1
            s.entries.removeAll()
            s.replyCount = 0
            s.head = nil
            s.tail = nil
            for key in s.fills.keys { s.fills[key]!.generation = s.generation }
            s.generation += 1
        }
    }

    /// Handles a push from a tracked connection; returns true if it was an invalidation.
    @discardableResult
    func handlePush(_ push: RESPValue) -> Bool {
        guard let elements = push.elements, elements.first?.string == "invalidate", elements.count >= 2 else { return false }
        switch elements[1] {
        case .null: clear()   // FLUSHALL / FLUSHDB
        default: invalidate((elements[1].elements ?? []).compactMap(Self.keyBytes))
        }
        return true
    }

    static func keyBytes(_ value: RESPValue) -> Key? {
        switch value.withoutAttributes {
        case .bulkString(let b): return Array(b.readableBytesView)
        case .simpleString(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// Number of cached replies, hits, misses and invalidated keys (for tests and metrics).
    var statistics: (entries: Int, hits: Int, misses: Int, invalidations: Int) {
        state.withLock { s in (s.replyCount, s.hits, s.misses, s.invalidations) }
    }
}

/// How ``RedisClient`` serves a command when the client-side cache is on.
enum CachePlan {
    /// A read of one key (the first argument); the reply is cached under `signature`.
    case singleKey(ClientSideCache.Key, ClientSideCache.Signature)
    /// `MGET k1 k2 ...`: each key's value is cached on its own and missing ones fetched in one `MGET`.
    case mget([ClientSideCache.Key])
    /// `EXISTS k1 k2 ...`: each key's 0/1 is cached on its own.
    case exists([ClientSideCache.Key])
    /// A command that may write: its keys are invalidated locally once its reply arrived.
    case write([ClientSideCache.Key])
    /// `FLUSHDB`, `FLUSHALL`, `SWAPDB`: the whole cache is dropped once the reply arrived.
    case flush
    /// Anything else (no keys, or `FLUSHDB`/`FLUSHALL`-like commands handled by pushes).
    case passThrough

    /// Read commands whose reply depends only on the value of their single key (the first
    /// argument): no time (`TTL`), randomness (`SRANDMEMBER`) or server state (`OBJECT`).
    static let singleKeyReads: Set<String> = [
        "GET", "GETRANGE", "SUBSTR", "STRLEN", "GETBIT", "BITCOUNT", "BITPOS", "TYPE",
        "HGET", "HMGET", "HGETALL", "HEXISTS", "HLEN", "HKEYS", "HVALS", "HSTRLEN",
        "LRANGE", "LINDEX", "LLEN", "LPOS",
        "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD",
        "ZSCORE", "ZMSCORE", "ZRANGE", "ZRANGEBYSCORE", "ZRANGEBYLEX", "ZREVRANGE", "ZREVRANGEBYSCORE",
        "ZREVRANGEBYLEX", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZRANK", "ZREVRANK",
        "XLEN", "XRANGE", "XREVRANGE", "GEOPOS", "GEODIST", "GEOHASH",
    ]

    init(_ command: RedisCommand) {
        let name = command.name
        let args = command.arguments
        if name == "MGET" || name == "EXISTS" {
            guard args.count >= 2 else { self = .passThrough; return }
            let keys = args.dropFirst().map(\.bytes)
            self = name == "MGET" ? .mget(keys) : .exists(keys)
            return
        }
        if Self.singleKeyReads.contains(name), args.count >= 2, command.keyIndices.isEmpty || command.keyIndices == [1] {
            var rest = args
            rest.remove(at: 1)
            self = .singleKey(args[1].bytes, ClientSideCache.Signature(arguments: [.string(name)] + rest.dropFirst()))
            return
        }
        if name == "FLUSHDB" || name == "FLUSHALL" || name == "SWAPDB" {
            self = .flush
            return
        }
        let keys = command.keys
        self = keys.isEmpty ? .passThrough : .write(keys.map(\.bytes))
    }
}

extension RESPValue {
    /// Bytes held by the value's strings (for the cache's size limit).
    var approximateByteCount: Int {
        switch self {
        case .bulkString(let b): return b.readableBytes
        case .simpleString(let s), .simpleError(let s), .bigNumber(let s), .bulkError(let s): return s.utf8.count
        case .verbatimString(_, let t): return t.utf8.count + 4
        case .array(let a), .set(let a), .push(let a): return a.reduce(8) { $0 + $1.approximateByteCount }
        case .map(let m): return m.reduce(8) { $0 + $1.key.approximateByteCount + $1.value.approximateByteCount }
        case .attributed(let attrs, let v):
            return attrs.reduce(v.approximateByteCount) { $0 + $1.key.approximateByteCount + $1.value.approximateByteCount }
        case .integer, .double, .boolean, .null: return 8
        }
    }
}
