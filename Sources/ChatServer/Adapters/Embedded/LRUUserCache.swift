import ChatWire
import Synchronization

/// ``UserCache`` in process: a bounded LRU of public profiles and of search results, each
/// entry valid for a time-to-live. Connection rows are not cached: the embedded store is local.
public final class LRUUserCache: UserCache {
    private struct Entry<Value> {
        var value: Value
        var expires: Int64
        var tick: UInt64
    }

    private struct State {
        var profiles: [Int64: Entry<ProfilePublic>] = [:]
        var searches: [String: Entry<[ProfilePublic]>] = [:]
        var tick: UInt64 = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let ttlMicroseconds: Int64

    /// A cache of at most `capacity` profiles and `capacity` searches, entries living `ttlSeconds`.
    public init(capacity: Int = 100_000, ttlSeconds: Int64 = 300) {
        self.capacity = capacity
        self.ttlMicroseconds = ttlSeconds * 1_000_000
    }

    public func profiles(_ ids: [Int64]) async -> [Int64: ProfilePublic] {
        let now = ChatTimestamp.now().microseconds
        return state.withLock { state in
            var found: [Int64: ProfilePublic] = [:]
            for userID in ids {
                guard var entry = state.profiles[userID], entry.expires > now else { continue }
                state.tick += 1
                entry.tick = state.tick
                state.profiles[userID] = entry
                found[userID] = entry.value
            }
            return found
        }
    }

    public func store(_ profiles: [ProfilePublic]) async {
        let expires = ChatTimestamp.now().microseconds + ttlMicroseconds
        state.withLock { state in
            for profile in profiles {
                state.tick += 1
                state.profiles[profile.userId] = Entry(value: profile, expires: expires, tick: state.tick)
            }
            if state.profiles.count > capacity { Self.evict(&state.profiles, keep: capacity * 3 / 4) }
        }
    }

    public func search(_ pattern: String) async -> [ProfilePublic]? {
        let now = ChatTimestamp.now().microseconds
        return state.withLock { state in
            guard var entry = state.searches[pattern], entry.expires > now else { return nil }
            state.tick += 1
            entry.tick = state.tick
            state.searches[pattern] = entry
            return entry.value
        }
    }

    public func store(search pattern: String, _ profiles: [ProfilePublic]) async {
        let expires = ChatTimestamp.now().microseconds + ttlMicroseconds
        state.withLock { state in
            state.tick += 1
            state.searches[pattern] = Entry(value: profiles, expires: expires, tick: state.tick)
            if state.searches.count > capacity { Self.evict(&state.searches, keep: capacity * 3 / 4) }
        }
    }

    public func connections(of userID: Int64) async -> [ConnectionRecord]? { nil }

    public func store(connections: [ConnectionRecord], of userID: Int64) async {}

    public func invalidateConnections(of userIDs: [Int64]) async {}

    public func invalidate(_ userID: Int64) async {
        state.withLock { state in
            state.profiles[userID] = nil
            // Search results may embed the old display name.
            state.searches.removeAll()
        }
    }

    /// Drops the least recently used entries down to `keep` (amortized: runs once per capacity/4 inserts).
    private static func evict<Key: Hashable, Value>(_ entries: inout [Key: Entry<Value>], keep: Int) {
        let cutoff = entries.values.map(\.tick).sorted(by: >)[keep - 1]
        entries = entries.filter { $0.value.tick >= cutoff }
    }
}
