import ChatWire

/// Broadcasts dynamic-config changes to every instance of a deployment (Redis pub/sub
/// distributed; not needed embedded, where the one process reloads its own config).
public protocol ConfigChangeFeed: Sendable {
    /// Tells every other instance that `sections` changed.
    func announce(_ sections: Set<String>) async throws
    /// Calls `handler` with the sections another instance changed, until the feed stops.
    /// Replaces an earlier handler.
    func onChange(_ handler: @escaping @Sendable (Set<String>) async -> Void)
}

/// A ``ConfigStore`` that announces every applied update on a ``ConfigChangeFeed``.
public struct AnnouncingConfigStore: ConfigStore {
    let base: any ConfigStore
    let feed: any ConfigChangeFeed

    /// Wraps `base`, announcing its updates on `feed`.
    public init(base: any ConfigStore, feed: any ConfigChangeFeed) {
        self.base = base
        self.feed = feed
    }

    public func elements() async throws -> [ConfigElement] { try await base.elements() }

    public func update(_ request: ConfigUpdateRequest) async throws -> Set<String> {
        let sections = try await base.update(request)
        // The update is committed; a lost announcement only delays other instances until their next reload.
        try? await feed.announce(sections)
        return sections
    }
}
