import ChatWire

/// A ``UserStore`` whose connection lists are read through a ``UserCache``: reads fill the
/// cache, every connection command drops both users' entries (the reference never invalidates
/// and serves stale lists until the TTL runs out).
public struct CachedUserStore: UserStore {
    let base: any UserStore
    let cache: any UserCache

    /// Wraps `base` with `cache`.
    public init(base: any UserStore, cache: any UserCache) {
        self.base = base
        self.cache = cache
    }

    public func register(userName: String, passwordHash: String, displayName: String, avatarURL: String, phone: String, email: String) async throws -> ProfileFull? {
        try await base.register(userName: userName, passwordHash: passwordHash, displayName: displayName, avatarURL: avatarURL, phone: phone, email: email)
    }

    public func user(named userName: String) async throws -> StoredUser? { try await base.user(named: userName) }
    public func user(id: Int64) async throws -> StoredUser? { try await base.user(id: id) }

    public func changePassword(userID: Int64, newHash: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await base.changePassword(userID: userID, newHash: newHash, version: version)
    }

    public func updateProfile(userID: Int64, displayName: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        let result = try await base.updateProfile(userID: userID, displayName: displayName, version: version)
        await cache.invalidate(userID)
        return result
    }

    public func publicProfiles(ids: [Int64]) async throws -> [ProfilePublic] { try await base.publicProfiles(ids: ids) }
    public func searchProfiles(pattern: String, limit: Int) async throws -> [ProfilePublic] { try await base.searchProfiles(pattern: pattern, limit: limit) }

    public func connections(of userID: Int64) async throws -> [ConnectionRecord] {
        if let cached = await cache.connections(of: userID) { return cached }
        let rows = try await base.connections(of: userID)
        await cache.store(connections: rows, of: userID)
        return rows
    }

    public func connection(between a: Int64, and b: Int64) async throws -> ConnectionRecord? {
        // Served from the cached connection (or `a`'s cached list) when there is one (same invalidation as the list).
        if let cached = await cache.connection(of: a, with: b) { return cached }
        if let cached = await cache.connections(of: a) {
            return cached.first { $0.user1 == min(a, b) && $0.user2 == max(a, b) }
        }
        return try await base.connection(between: a, and: b)
    }

    private func invalidating(_ a: Int64, _ b: Int64, _ command: () async throws -> ConnectionCommandResult) async throws -> ConnectionCommandResult {
        let result = try await command()
        if case .success = result { await cache.invalidateConnections(of: [a, b]) }
        return result
    }

    public func invite(from userID: Int64, to otherID: Int64) async throws -> ConnectionCommandResult {
        try await invalidating(userID, otherID) { try await base.invite(from: userID, to: otherID) }
    }

    public func approve(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await invalidating(userID, other) { try await base.approve(by: userID, other: other, version: version) }
    }

    public func cancel(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await invalidating(userID, other) { try await base.cancel(by: userID, other: other, version: version) }
    }

    public func remove(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await invalidating(userID, other) { try await base.remove(by: userID, other: other, version: version) }
    }

    public func associateFile(bucket: String, path: String, ownerID: Int64, contentType: String, allowedUserID: Int64) async throws -> ChatTimestamp? {
        try await base.associateFile(bucket: bucket, path: path, ownerID: ownerID, contentType: contentType, allowedUserID: allowedUserID)
    }

    public func addFileAccess(bucket: String, path: String, ownerID: Int64, allowedUserID: Int64, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await base.addFileAccess(bucket: bucket, path: path, ownerID: ownerID, allowedUserID: allowedUserID, version: version)
    }

    public func files(of ownerID: Int64, newerThan: ChatTimestamp) async throws -> [FileRecord] { try await base.files(of: ownerID, newerThan: newerThan) }
    public func file(bucket: String, path: String) async throws -> FileRecord? { try await base.file(bucket: bucket, path: path) }
}
