import ChatWire

/// A cache for public profiles and search results (Redis distributed, in-process LRU embedded).
public protocol UserCache: Sendable {
    func profile(_ userID: Int64) -> ProfilePublic?
    func store(_ profile: ProfilePublic)
    func search(_ pattern: String) -> [ProfilePublic]?
    func store(search pattern: String, _ profiles: [ProfilePublic])
    /// Drops a user's cached profile (after an edit).
    func invalidate(_ userID: Int64)
}
