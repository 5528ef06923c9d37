import ChatWire
import PGWire

/// ``UserStore`` on PostgreSQL / YugabyteDB through PGWire, with the reference's schema
/// (``PostgresMigrations``): identity user IDs, `timestamptz` versions for optimistic
/// concurrency (a conditional `UPDATE ... WHERE version = $old RETURNING version`), and
/// SQLSTATEs mapped to the API's conflicts (23505 on `profiles_username_unique` → name taken,
/// on `connections_pkey` → already exists, on `files_pkey` → duplicate file; 23503 on a
/// connections foreign key → missing user).
public struct PostgresUserStore: UserStore {
    let client: PostgresStoreClient

    /// A store on `client` (migrations applied by ``PostgresAdapters``).
    public init(client: PostgresClient) { self.client = PostgresStoreClient(client) }

    static let profileColumns = "user_id, version, username, password, display_name, avatar_url, phone, email"

    static func storedUser(_ row: PostgresRow) throws -> StoredUser {
        let (id, version, name, password, display, avatar, phone, email) = try row.decode((Int64, PGInstant, String, String, String, String, String, String).self)
        return StoredUser(profile: ProfileFull(userId: id, version: version.timestamp, userName: name, displayName: display, avatarUrl: avatar, phone: phone, email: email),
                          passwordHash: password)
    }

    static func publicProfile(_ row: PostgresRow) throws -> ProfilePublic {
        let (id, name, display, avatar) = try row.decode((Int64, String, String, String).self)
        return ProfilePublic(userId: id, userName: name, displayName: display, avatarUrl: avatar)
    }

    public func register(userName: String, passwordHash: String, displayName: String, avatarURL: String, phone: String, email: String) async throws -> ProfileFull? {
        do {
            let result = try await client.query("""
                INSERT INTO profiles (version, username, password, display_name, avatar_url, phone, email)
                VALUES (clock_timestamp(), \(userName), \(passwordHash), \(displayName), \(avatarURL), \(phone), \(email))
                RETURNING user_id, version
                """)
            guard let row = result.rows.first else { return nil }
            let (id, version) = try row.decode((Int64, PGInstant).self)
            return ProfileFull(userId: id, version: version.timestamp, userName: userName, displayName: displayName, avatarUrl: avatarURL, phone: phone, email: email)
        } catch let error as PostgresError where error.violation?.state == .uniqueViolation {
            return nil
        }
    }

    public func user(named userName: String) async throws -> StoredUser? {
        try await client.query("SELECT \(unescaped: Self.profileColumns) FROM profiles WHERE username = \(userName)").rows.first.map(Self.storedUser)
    }

    public func user(id: Int64) async throws -> StoredUser? {
        try await client.query("SELECT \(unescaped: Self.profileColumns) FROM profiles WHERE user_id = \(id)").rows.first.map(Self.storedUser)
    }

    /// Optimistic update of one profile column: applied only while the stored version is `version`.
    private func updateProfileColumn(userID: Int64, column: String, value: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        let updated = try await client.query("""
            UPDATE profiles SET \(identifier: column) = \(value), version = \(unescaped: pgNextVersion)
            WHERE user_id = \(userID) AND version = \(PGInstant(version)) RETURNING version
            """)
        if let row = updated.rows.first { return .updated(try row.decode(column: 0, as: PGInstant.self).timestamp) }
        let exists = try await client.query("SELECT 1 FROM profiles WHERE user_id = \(userID)")
        return exists.rows.isEmpty ? .missing : .concurrentlyUpdated
    }

    public func changePassword(userID: Int64, newHash: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await updateProfileColumn(userID: userID, column: "password", value: newHash, version: version)
    }

    public func updateProfile(userID: Int64, displayName: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        try await updateProfileColumn(userID: userID, column: "display_name", value: displayName, version: version)
    }

    public func publicProfiles(ids: [Int64]) async throws -> [ProfilePublic] {
        guard !ids.isEmpty else { return [] }
        return try await client.query("""
            SELECT user_id, username, display_name, avatar_url FROM profiles WHERE user_id = ANY(\(ids)) ORDER BY user_id
            """).rows.map(Self.publicProfile)
    }

    public func searchProfiles(pattern: String, limit: Int) async throws -> [ProfilePublic] {
        // `LIKE '%p%'` as the reference; served by the pg_trgm GIN index where it exists.
        let escaped = pattern.lowercased().replacing("\\", with: "\\\\").replacing("%", with: "\\%").replacing("_", with: "\\_")
        return try await client.query("""
            SELECT user_id, username, display_name, avatar_url FROM profiles
            WHERE username LIKE \("%" + escaped + "%") ESCAPE '\\' ORDER BY user_id LIMIT \(Int64(limit))
            """).rows.map(Self.publicProfile)
    }

    static func connection(_ row: PostgresRow) throws -> ConnectionRecord {
        let (u1, u2, version, status, target) = try row.decode((Int64, Int64, PGInstant, String, Int64).self)
        return ConnectionRecord(user1: u1, user2: u2, status: ConnectionState(postgresText: status), version: version.timestamp, targetID: target)
    }

    public func connections(of userID: Int64) async throws -> [ConnectionRecord] {
        try await client.query("""
            SELECT user1_id, user2_id, version, status, target_id FROM connections WHERE user1_id = \(userID)
            UNION ALL
            SELECT user1_id, user2_id, version, status, target_id FROM connections WHERE user2_id = \(userID)
            """).rows.map(Self.connection)
    }

    public func connection(between a: Int64, and b: Int64) async throws -> ConnectionRecord? {
        try await client.query("""
            SELECT user1_id, user2_id, version, status, target_id FROM connections WHERE user1_id = \(min(a, b)) AND user2_id = \(max(a, b))
            """).rows.first.map(Self.connection)
    }

    public func invite(from userID: Int64, to otherID: Int64) async throws -> ConnectionCommandResult {
        let (u1, u2) = (min(userID, otherID), max(userID, otherID))
        let pending = ConnectionState.pending.postgresText
        // A row that went back to NotConnected is re-invited in place (its own version, as the reference).
        let reopened = try await client.query("""
            UPDATE connections SET status = \(pending), target_id = \(otherID), version = \(unescaped: pgNextVersion)
            WHERE user1_id = \(u1) AND user2_id = \(u2) AND status = \(ConnectionState.notConnected.postgresText)
            RETURNING version
            """)
        if let row = reopened.rows.first {
            return .success(ConnectionRecord(user1: u1, user2: u2, status: .pending, version: try row.decode(column: 0, as: PGInstant.self).timestamp, targetID: otherID))
        }
        do {
            let inserted = try await client.query("""
                INSERT INTO connections (user1_id, user2_id, version, status, target_id)
                VALUES (\(u1), \(u2), clock_timestamp(), \(pending), \(otherID)) RETURNING version
                """)
            guard let row = inserted.rows.first else { return .concurrentlyUpdated }
            return .success(ConnectionRecord(user1: u1, user2: u2, status: .pending, version: try row.decode(column: 0, as: PGInstant.self).timestamp, targetID: otherID))
        } catch let error as PostgresError {
            switch error.violation?.state {
            case .foreignKeyViolation?: return .missingUser
            case .uniqueViolation?: return .alreadyExists
            default: throw error
            }
        }
    }

    private func transition(by userID: Int64, other: Int64, version: ChatTimestamp, from expected: ConnectionState,
                            check: (ConnectionRecord) -> String?, to status: ConnectionState) async throws -> ConnectionCommandResult {
        let (u1, u2) = (min(userID, other), max(userID, other))
        guard let existing = try await connection(between: u1, and: u2) else { return .missingConnection }
        if let reason = check(existing) { return .invalid(reason) }
        guard existing.version == version else { return .concurrentlyUpdated }
        let updated = try await client.query("""
            UPDATE connections SET status = \(status.postgresText), target_id = 0, version = \(unescaped: pgNextVersion)
            WHERE user1_id = \(u1) AND user2_id = \(u2) AND version = \(PGInstant(version)) AND status = \(expected.postgresText)
            RETURNING version
            """)
        guard let row = updated.rows.first else { return .concurrentlyUpdated }
        return .success(ConnectionRecord(user1: u1, user2: u2, status: status, version: try row.decode(column: 0, as: PGInstant.self).timestamp, targetID: 0))
    }

    public func approve(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(by: userID, other: other, version: version, from: .pending,
                             check: { $0.status == .pending && $0.targetID == userID ? nil : "Invalid target ID or status" }, to: .connected)
    }

    public func cancel(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(by: userID, other: other, version: version, from: .pending,
                             check: { $0.status == .pending ? nil : "Invalid status" }, to: .notConnected)
    }

    public func remove(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(by: userID, other: other, version: version, from: .connected,
                             check: { $0.status == .connected ? nil : "Invalid status" }, to: .notConnected)
    }

    static func file(_ row: PostgresRow) throws -> FileRecord {
        let (bucket, path, owner, contentType, version, allowed) = try row.decode((String, String, Int64, String, PGInstant, [Int64]).self)
        return FileRecord(bucket: bucket, path: path, ownerID: owner, contentType: contentType, version: version.timestamp, allowedUsers: allowed)
    }

    static let fileColumns = "bucket, path, user_id, content_type, version, allowed_users"

    public func associateFile(bucket: String, path: String, ownerID: Int64, contentType: String, allowedUserID: Int64) async throws -> ChatTimestamp? {
        let allowed: [Int64] = allowedUserID > 0 ? [allowedUserID] : []
        do {
            let inserted = try await client.query("""
                INSERT INTO files (bucket, path, user_id, content_type, version, allowed_users)
                VALUES (\(bucket), \(path), \(ownerID), \(contentType), clock_timestamp(), \(allowed)) RETURNING version
                """)
            return try inserted.rows.first?.decode(column: 0, as: PGInstant.self).timestamp
        } catch let error as PostgresError where error.violation?.state == .uniqueViolation {
            return nil
        }
    }

    public func addFileAccess(bucket: String, path: String, ownerID: Int64, allowedUserID: Int64, version: ChatTimestamp) async throws -> VersionedUpdate {
        guard let file = try await file(bucket: bucket, path: path), file.ownerID == ownerID else { return .missing }
        guard file.version == version else { return .concurrentlyUpdated }
        // A prior read makes the grant idempotent when access already exists (as the reference).
        if file.allowedUsers.contains(allowedUserID) { return .updated(file.version) }
        let updated = try await client.query("""
            UPDATE files SET allowed_users = array_append(allowed_users, \(allowedUserID)), version = \(unescaped: pgNextVersion)
            WHERE bucket = \(bucket) AND path = \(path) AND version = \(PGInstant(version)) AND NOT (\(allowedUserID) = ANY(allowed_users))
            RETURNING version
            """)
        guard let row = updated.rows.first else { return .concurrentlyUpdated }
        return .updated(try row.decode(column: 0, as: PGInstant.self).timestamp)
    }

    public func files(of ownerID: Int64, newerThan: ChatTimestamp) async throws -> [FileRecord] {
        try await client.query("""
            SELECT \(unescaped: Self.fileColumns) FROM files WHERE user_id = \(ownerID) AND version > \(PGInstant(newerThan)) ORDER BY version
            """).rows.map(Self.file)
    }

    public func file(bucket: String, path: String) async throws -> FileRecord? {
        try await client.query("SELECT \(unescaped: Self.fileColumns) FROM files WHERE bucket = \(bucket) AND path = \(path)").rows.first.map(Self.file)
    }
}
