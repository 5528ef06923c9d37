import NIOCore
import Synchronization

/// A bounded LRU cache of `GET` replies kept correct by `CLIENT TRACKING` invalidations.
///
/// Correctness under concurrent writes by other clients: a read registers a *fill ticket*
/// before its `GET` is sent. The server tracks the key for the connection when it executes the
/// `GET`, so any later write produces an invalidation push on that connection *after* the
/// reply. Invalidations bump the key's generation, and a fill whose ticket is older than the
/// key's generation is discarded instead of stored, whichever of reply processing and
/// invalidation runs first. Losing a tracked connection clears the whole cache (its
/// invalidations would be lost).
final class ClientSideCache: Sendable {
    private final class Node {
        let key: String
        var value: RESPValue
        var prev: Node?
        var next: Node?
        init(key: String, value: RESPValue) {
            self.key = key
            self.value = value
        }
    }

    struct Ticket: Sendable {
        let key: String
        let generation: UInt64
    }

    private struct State {
        var entries: [String: Node] = [:]
        var head: Node?   // most recently used
        var tail: Node?   // least recently used
        /// In-flight fills per key: count and generation at the time of the last invalidation.
        var fills: [String: (count: Int, generation: UInt64)] = [:]
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
    }

    private let state: Mutex<State>
    let configuration: RedisClientSideCacheConfiguration

    init(configuration: RedisClientSideCacheConfiguration) {
        self.configuration = configuration
        self.state = Mutex(State())
    }

    /// The cached reply for `key`, marking it most recently used.
    func lookup(_ key: String) -> RESPValue? {
        state.withLock { s in
            guard let node = s.entries[key] else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.unlink(node)
            s.pushFront(node)
            return node.value
        }
    }

    /// Registers a read of `key` that is about to be sent.
    func beginFill(_ key: String) -> Ticket {
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

    /// Stores the reply of a read unless the key was invalidated since its ticket was issued.
    func completeFill(_ ticket: Ticket, value: RESPValue?) {
        state.withLock { s in
            guard var f = s.fills[ticket.key] else { return }
            let invalidatedAt = f.generation
            f.count -= 1
            if f.count == 0 { s.fills[ticket.key] = nil } else { s.fills[ticket.key] = f }
            guard let value, invalidatedAt < ticket.generation else { return }
            if case .bulkString(let b) = value, b.readableBytes > configuration.maxValueBytes { return }
            if let existing = s.entries[ticket.key] {
                existing.value = value
                s.unlink(existing)
                s.pushFront(existing)
            } else {
                let node = Node(key: ticket.key, value: value)
                s.entries[ticket.key] = node
                s.pushFront(node)
                while s.entries.count > configuration.maxEntries, let lru = s.tail {
                    s.unlink(lru)
                    s.entries[lru.key] = nil
                }
            }
        }
    }

    /// Drops `keys` and poisons in-flight fills for them.
    func invalidate(_ keys: [String]) {
        state.withLock { s in
            s.generation += 1
            for key in keys {
                s.invalidations += 1
                if let node = s.entries.removeValue(forKey: key) { s.unlink(node) }
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
        default: invalidate((elements[1].elements ?? []).compactMap(\.string))
        }
        return true
    }

    /// Number of cached entries, hits, misses and invalidated keys (for tests and metrics).
    var statistics: (entries: Int, hits: Int, misses: Int, invalidations: Int) {
        state.withLock { s in (s.entries.count, s.hits, s.misses, s.invalidations) }
    }
}

