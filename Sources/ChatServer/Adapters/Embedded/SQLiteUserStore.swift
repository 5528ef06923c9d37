import ChatWire
import GRDB

/// ``UserStore`` on SQLite.
public struct SQLiteUserStore: UserStore {
    let db: DatabasePool

    /// A store on the `users` database.
    public init(db: DatabasePool) { self.db = db }

    /// A version strictly newer than `previous` (now, or previous + 1 µs when the clock has not moved).
    static func nextVersion(after previous: Int64 = 0) -> Int64 {
        max(ChatTimestamp.now().microseconds, previous + 1)
    }

    private static func profile(_ row: Row) -> ProfileFull {
        ProfileFull(userId: row["user_id"], version: ChatTimestamp(microseconds: row["version"]), userName: row["username"],
                    displayName: row["display_name"], avatarUrl: row["avatar_url"], phone: row["phone"], email: row["email"])
    }

    private static func publicProfile(_ row: Row) -> ProfilePublic {
        ProfilePublic(userId: row["user_id"], userName: row["username"], displayName: row["display_name"], avatarUrl: row["avatar_url"])
    }

    public func register(userName: String, passwordHash: String, displayName: String, avatarURL: String, phone: String, email: String) async throws -> ProfileFull? {
        try await db.write { db in
            if try Int64.fetchOne(db, sql: "SELECT user_id FROM profiles WHERE username = ?", arguments: [userName]) != nil { return nil }
            let version = Self.nextVersion()
            try db.execute(sql: "INSERT INTO profiles (version, username, password, display_name, avatar_url, phone, email) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [version, userName, passwordHash, displayName, avatarURL, phone, email])
            return ProfileFull(userId: db.lastInsertedRowID, version: ChatTimestamp(microseconds: version), userName: userName,
                               displayName: displayName, avatarUrl: avatarURL, phone: phone, email: email)
        }
    }

    public func user(named userName: String) async throws -> StoredUser? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM profiles WHERE username = ?", arguments: [userName]).map {
                StoredUser(profile: Self.profile($0), passwordHash: $0["password"])
            }
        }
    }

    public func user(id: Int64) async throws -> StoredUser? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM profiles WHERE user_id = ?", arguments: [id]).map {
                StoredUser(profile: Self.profile($0), passwordHash: $0["password"])
            }
        }
    }

    private func updateProfileColumn(userID: Int64, column: String, value: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await db.write { db in
            guard let current = try Int64.fetchOne(db, sql: "SELECT version FROM profiles WHERE user_id = ?", arguments: [userID]) else { return .missing }
            guard current == version.microseconds else { return .concurrentlyUpdated }
            let next = Self.nextVersion(after: current)
            try db.execute(sql: "UPDATE profiles SET \(column) = ?, version = ? WHERE user_id = ? AND version = ?", arguments: [value, next, userID, current])
            return db.changesCount == 1 ? .updated(ChatTimestamp(microseconds: next)) : .concurrentlyUpdated
        }
    }

    public func changePassword(userID: Int64, newHash: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await updateProfileColumn(userID: userID, column: "password", value: newHash, version: version)
    }

    public func updateProfile(userID: Int64, displayName: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await updateProfileColumn(userID: userID, column: "display_name", value: displayName, version: version)
    }

    public func publicProfiles(ids: [Int64]) async throws -> [ProfilePublic] {
        guard !ids.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
        return try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT user_id, username, display_name, avatar_url FROM profiles WHERE user_id IN (\(placeholders)) ORDER BY user_id",
                             arguments: StatementArguments(ids)).map(Self.publicProfile)
        }
    }

    public func searchProfiles(pattern: String, limit: Int) async throws -> [ProfilePublic] {
        let escaped = pattern.replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_")
        return try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT user_id, username, display_name, avatar_url FROM profiles WHERE username LIKE ? ESCAPE '\\' ORDER BY user_id LIMIT ?",
                             arguments: ["%" + escaped.lowercased() + "%", limit]).map(Self.publicProfile)
        }
    }

    private static func connection(_ row: Row) -> ConnectionRecord {
        ConnectionRecord(user1: row["user1_id"], user2: row["user2_id"], status: ConnectionState(rawValue: row["status"]) ?? .notConnected,
                         version: ChatTimestamp(microseconds: row["version"]), targetID: row["target_id"])
    }

    public func connections(of userID: Int64) async throws -> [ConnectionRecord] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM connections WHERE user1_id = ? UNION ALL SELECT * FROM connections WHERE user2_id = ?",
                             arguments: [userID, userID]).map(Self.connection)
        }
    }

    public func connection(between a: Int64, and b: Int64) async throws -> ConnectionRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE user1_id = ? AND user2_id = ?", arguments: [min(a, b), max(a, b)]).map(Self.connection)
        }
    }

    public func invite(from userID: Int64, to otherID: Int64) async throws -> ConnectionCommandResult {
        try await db.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM profiles WHERE user_id IN (?, ?)", arguments: [userID, otherID]) ?? 0
            guard count == 2 else { return .missingUser }
            let (u1, u2) = (min(userID, otherID), max(userID, otherID))
            let existing = try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE user1_id = ? AND user2_id = ?", arguments: [u1, u2]).map(Self.connection)
            if let existing {
                guard existing.status == .notConnected else { return .alreadyExists }
                let next = Self.nextVersion(after: existing.version.microseconds)
                try db.execute(sql: "UPDATE connections SET status = ?, target_id = ?, version = ? WHERE user1_id = ? AND user2_id = ? AND version = ?",
                               arguments: [ConnectionState.pending.rawValue, otherID, next, u1, u2, existing.version.microseconds])
                guard db.changesCount == 1 else { return .concurrentlyUpdated }
                return .success(ConnectionRecord(user1: u1, user2: u2, status: .pending, version: ChatTimestamp(microseconds: next), targetID: otherID))
            }
            let version = Self.nextVersion()
            try db.execute(sql: "INSERT INTO connections (user1_id, user2_id, version, status, target_id) VALUES (?, ?, ?, ?, ?)",
                           arguments: [u1, u2, version, ConnectionState.pending.rawValue, otherID])
            return .success(ConnectionRecord(user1: u1, user2: u2, status: .pending, version: ChatTimestamp(microseconds: version), targetID: otherID))
        }
    }

    private func transition(by userID: Int64, other: Int64, version: ChatTimestamp, check: @escaping @Sendable (ConnectionRecord) -> String?, to status: ConnectionState) async throws -> ConnectionCommandResult {
        try await db.write { db in
            let (u1, u2) = (min(userID, other), max(userID, other))
            guard let existing = try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE user1_id = ? AND user2_id = ?", arguments: [u1, u2]).map(Self.connection) else {
                return .missingConnection
            }
            if let reason = check(existing) { return .invalid(reason) }
            guard existing.version == version else { return .concurrentlyUpdated }
            let next = Self.nextVersion(after: existing.version.microseconds)
            try db.execute(sql: "UPDATE connections SET status = ?, target_id = 0, version = ? WHERE user1_id = ? AND user2_id = ? AND version = ?",
                           arguments: [status.rawValue, next, u1, u2, existing.version.microseconds])
            guard db.changesCount == 1 else { return .concurrentlyUpdated }
            return .success(ConnectionRecord(user1: u1, user2: u2, status: status, version: ChatTimestamp(microseconds: next), targetID: 0))
        }
    }

    public func approve(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(by: userID, other: other, version: version, check: { $0.status == .pending && $0.targetID == userID ? nil : "Invalid target ID or status" }, to: .connected)
    }

    public func cancel(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(by: userID, other: other, version: version, check: { $0.status == .pending ? nil : "Invalid status" }, to: .notConnected)
    }

    public func remove(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(by: userID, other: other, version: version, check: { $0.status == .connected ? nil : "Invalid status" }, to: .notConnected)
    }

    private static func file(_ row: Row) -> FileRecord {
        let allowed: String = row["allowed_users"]
        return FileRecord(bucket: row["bucket"], path: row["path"], ownerID: row["user_id"], contentType: row["content_type"],
                          version: ChatTimestamp(microseconds: row["version"]), allowedUsers: allowed.split(separator: ",").compactMap { Int64($0) })
    }

    public func associateFile(bucket: String, path: String, ownerID: Int64, contentType: String, allowedUserID: Int64) async throws -> ChatTimestamp? {
        try await db.write { db in
            if try Int.fetchOne(db, sql: "SELECT 1 FROM files WHERE bucket = ? AND path = ?", arguments: [bucket, path]) != nil { return nil }
            let version = Self.nextVersion()
            try db.execute(sql: "INSERT INTO files (bucket, path, user_id, content_type, version, allowed_users) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [bucket, path, ownerID, contentType, version, allowedUserID > 0 ? String(allowedUserID) : ""])
            return ChatTimestamp(microseconds: version)
        }
    }

    public func addFileAccess(bucket: String, path: String, ownerID: Int64, allowedUserID: Int64, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await db.write { db in
            guard let file = try Row.fetchOne(db, sql: "SELECT * FROM files WHERE bucket = ? AND path = ?", arguments: [bucket, path]).map(Self.file),
                  file.ownerID == ownerID else { return .missing }
            guard file.version == version else { return .concurrentlyUpdated }
            if file.allowedUsers.contains(allowedUserID) { return .updated(file.version) }
            let next = Self.nextVersion(after: file.version.microseconds)
            let allowed = (file.allowedUsers + [allowedUserID]).map(String.init).joined(separator: ",")
            try db.execute(sql: "UPDATE files SET allowed_users = ?, version = ? WHERE bucket = ? AND path = ? AND version = ?",
                           arguments: [allowed, next, bucket, path, file.version.microseconds])
            return db.changesCount == 1 ? .updated(ChatTimestamp(microseconds: next)) : .concurrentlyUpdated
        }
    }

    public func files(of ownerID: Int64, newerThan: ChatTimestamp) async throws -> [FileRecord] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM files WHERE user_id = ? AND version > ? ORDER BY version", arguments: [ownerID, newerThan.microseconds]).map(Self.file)
        }
    }

    public func file(bucket: String, path: String) async throws -> FileRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM files WHERE bucket = ? AND path = ?", arguments: [bucket, path]).map(Self.file)
        }
    }
}
