import ChatWire

/// A cache for public profiles, search results and connection lists (Redis distributed,
/// in-process LRU embedded).
///
/// A cache never fails its caller: an unreachable cache answers with misses and drops writes,
/// so the store behind it stays the source of truth.
public protocol UserCache: Sendable {
    /// The cached public profiles among `ids` (missing IDs are misses).
    func profiles(_ ids: [Int64]) async -> [Int64: ProfilePublic]
    /// Caches public profiles.
    func store(_ profiles: [ProfilePublic]) async
    /// The cached result of a (lower-case) search pattern.
    func search(_ pattern: String) async -> [ProfilePublic]?
    /// Caches a search result.
    func store(search pattern: String, _ profiles: [ProfilePublic]) async
    /// Drops a user's cached profile and every cached search result (after an edit).
    func invalidate(_ userID: Int64) async
    /// The cached connection rows of a user.
    func connections(of userID: Int64) async -> [ConnectionRecord]?
    /// Caches a user's connection rows.
    func store(connections: [ConnectionRecord], of userID: Int64) async
    /// The cached row of the connection between `userID` and `otherID` (nil: not cached).
    func connection(of userID: Int64, with otherID: Int64) async -> ConnectionRecord?
    /// Drops the cached connection rows of these users (after a connection changed).
    func invalidateConnections(of userIDs: [Int64]) async
}

extension UserCache {
    /// The cached profile of one user.
    public func profile(_ userID: Int64) async -> ProfilePublic? { await profiles([userID])[userID] }

    /// The row from the user's cached connection list (caches without per-connection entries).
    public func connection(of userID: Int64, with otherID: Int64) async -> ConnectionRecord? {
        await connections(of: userID)?.first { $0.user1 == min(userID, otherID) && $0.user2 == max(userID, otherID) }
    }
}
