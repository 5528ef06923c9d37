import ChatWire

/// A stored user with the password hash (never leaves the server).
public struct StoredUser: Sendable, Hashable {
    public var profile: ProfileFull
    public var passwordHash: String
}

/// Outcome of an optimistic-concurrency update.
public enum VersionedUpdate: Sendable, Hashable {
    /// Applied; the entity's new version.
    case updated(ChatTimestamp)
    /// The version sent by the client is not the current one.
    case concurrentlyUpdated
    /// The entity does not exist.
    case missing
}

/// A friendship row: the pair (smaller ID first), status, version, and who must approve.
public struct ConnectionRecord: Sendable, Hashable, Codable {
    public var user1: Int64
    public var user2: Int64
    public var status: ConnectionState
    public var version: ChatTimestamp
    /// The invitee while pending, else 0.
    public var targetID: Int64

    /// A row.
    public init(user1: Int64, user2: Int64, status: ConnectionState, version: ChatTimestamp, targetID: Int64) {
        self.user1 = user1
        self.user2 = user2
        self.status = status
        self.version = version
        self.targetID = targetID
    }

    /// The caller's view of this row.
    public func info(for userID: Int64) -> ConnectionInfo {
        ConnectionInfo(connectionId: userID == user1 ? user2 : user1, version: version, status: status, targetUserId: targetID)
    }
}

/// Result of a connection command.
public enum ConnectionCommandResult: Sendable, Hashable {
    case success(ConnectionRecord)
    case missingUser
    case alreadyExists
    case missingConnection
    case invalid(String)
    case concurrentlyUpdated
}

/// A stored file's metadata.
public struct FileRecord: Sendable, Hashable {
    public var bucket: String
    public var path: String
    public var ownerID: Int64
    public var contentType: String
    public var version: ChatTimestamp
    public var allowedUsers: [Int64]
}

/// Users, connections and file metadata (PostgreSQL in the distributed deployment, SQLite embedded).
public protocol UserStore: Sendable {
    /// Inserts a user; `nil` if the user name is taken.
    func register(userName: String, passwordHash: String, displayName: String, avatarURL: String, phone: String, email: String) async throws -> ProfileFull?
    /// The user with this (lower-case) name.
    func user(named userName: String) async throws -> StoredUser?
    /// The user with this ID.
    func user(id: Int64) async throws -> StoredUser?
    func changePassword(userID: Int64, newHash: String, version: ChatTimestamp) async throws -> VersionedUpdate
    func updateProfile(userID: Int64, displayName: String, version: ChatTimestamp) async throws -> VersionedUpdate
    func publicProfiles(ids: [Int64]) async throws -> [ProfilePublic]
    /// Users whose name contains `pattern`, at most `limit`.
    func searchProfiles(pattern: String, limit: Int) async throws -> [ProfilePublic]

    func connections(of userID: Int64) async throws -> [ConnectionRecord]
    func connection(between a: Int64, and b: Int64) async throws -> ConnectionRecord?
    func invite(from userID: Int64, to otherID: Int64) async throws -> ConnectionCommandResult
    func approve(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult
    func cancel(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult
    func remove(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult

    /// Registers an uploaded file; `nil` if (bucket, path) exists.
    func associateFile(bucket: String, path: String, ownerID: Int64, contentType: String, allowedUserID: Int64) async throws -> ChatTimestamp?
    /// Grants access; only the owner may. Idempotent when access exists.
    func addFileAccess(bucket: String, path: String, ownerID: Int64, allowedUserID: Int64, version: ChatTimestamp) async throws -> VersionedUpdate
    func files(of ownerID: Int64, newerThan: ChatTimestamp) async throws -> [FileRecord]
    func file(bucket: String, path: String) async throws -> FileRecord?
}
