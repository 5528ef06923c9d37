import ChatWire
import GRPCWire

/// The ``UserStore`` port of a user role run by another process (`chatwire.internal.Auth`,
/// `ProfileCommand`, `ProfileQuery`, `ConnectionCommand`, `ConnectionQuery`, `FileCommand`,
/// `FileQuery`). Queries are idempotent (retried on UNAVAILABLE); commands are retried only when
/// they never left this process.
public struct RemoteUserStore: UserStore {
    let remote: RemoteRole

    /// The user role behind `remote`.
    public init(remote: RemoteRole) { self.remote = remote }

    private typealias M = InternalMethods.User

    public func register(userName: String, passwordHash: String, displayName: String, avatarURL: String, phone: String, email: String) async throws -> ProfileFull? {
        var request = Chatwire_Internal_RegisterRequest()
        request.registration.userName = userName
        request.registration.passwordHash = passwordHash
        request.registration.displayName = displayName
        request.registration.avatarURL = avatarURL
        request.registration.phone = phone
        request.registration.email = email
        let response = try await remote.call(M.register, request, idempotent: false)
        if response.duplicateUserName { return nil }
        guard response.success, response.hasProfile else { throw RemoteRoleError(role: .user, address: remote.address, kind: .badResponse("Register without a profile")) }
        return response.profile.model
    }

    public func user(named userName: String) async throws -> StoredUser? {
        var request = Chatwire_Internal_GetUserByNameRequest()
        request.userName = userName
        return try await remote.call(M.userByName, request, idempotent: true).model
    }

    public func user(id: Int64) async throws -> StoredUser? {
        var request = Chatwire_Internal_GetUserByIdRequest()
        request.userID = id
        return try await remote.call(M.userByID, request, idempotent: true).model
    }

    public func changePassword(userID: Int64, newHash: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        var request = Chatwire_Internal_ChangePasswordRequest()
        request.userID = userID
        request.newPasswordHash = newHash
        request.version = .init(version)
        // Guarded by the version: a repeat finds the version changed and reports a conflict.
        return try await remote.call(M.changePassword, request, idempotent: false).model
    }

    public func updateProfile(userID: Int64, displayName: String, version: ChatTimestamp) async throws -> VersionedUpdate {
        var request = Chatwire_Internal_UpdateProfileRequest()
        request.userID = userID
        request.displayName = displayName
        request.version = .init(version)
        return try await remote.call(M.updateProfile, request, idempotent: false).model
    }

    public func publicProfiles(ids: [Int64]) async throws -> [ProfilePublic] {
        var request = Chatwire_Internal_GetPublicProfilesByIdListRequest()
        request.userIds = ids
        return try await remote.call(M.profilesByID, request, idempotent: true).profiles.map(\.model)
    }

    public func searchProfiles(pattern: String, limit: Int) async throws -> [ProfilePublic] {
        var request = Chatwire_Internal_GetPublicProfilesByPatternRequest()
        request.searchPattern = pattern
        request.limit = Int32(clamping: limit)
        return try await remote.call(M.profilesByPattern, request, idempotent: true).profiles.map(\.model)
    }

    public func connections(of userID: Int64) async throws -> [ConnectionRecord] {
        var request = Chatwire_Internal_GetConnectionsRequest()
        request.userID = userID
        return try await remote.call(M.connections, request, idempotent: true).connections.map(\.model)
    }

    public func connection(between a: Int64, and b: Int64) async throws -> ConnectionRecord? {
        var request = Chatwire_Internal_GetConnectionRequest()
        request.userID = a
        request.connectionID = b
        let response = try await remote.call(M.connection, request, idempotent: true)
        return response.missing || !response.hasConnection ? nil : response.connection.model
    }

    public func invite(from userID: Int64, to otherID: Int64) async throws -> ConnectionCommandResult {
        var request = Chatwire_Internal_InviteRequest()
        request.userID = userID
        request.connectionID = otherID
        return try await remote.call(M.invite, request, idempotent: false).model
    }

    private func transition(_ method: MethodDescriptor<Chatwire_Internal_ConnectionTransitionRequest, Chatwire_Internal_ConnectionCommandResponse>,
                            _ userID: Int64, _ other: Int64, _ version: ChatTimestamp) async throws -> ConnectionCommandResult {
        var request = Chatwire_Internal_ConnectionTransitionRequest()
        request.userID = userID
        request.connectionID = other
        request.version = .init(version)
        return try await remote.call(method, request, idempotent: false).model
    }

    public func approve(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(M.approve, userID, other, version)
    }

    public func cancel(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(M.cancel, userID, other, version)
    }

    public func remove(by userID: Int64, other: Int64, version: ChatTimestamp) async throws -> ConnectionCommandResult {
        try await transition(M.remove, userID, other, version)
    }

    public func associateFile(bucket: String, path: String, ownerID: Int64, contentType: String, allowedUserID: Int64) async throws -> ChatTimestamp? {
        var request = Chatwire_Internal_AssociateFileRequest()
        request.bucket = bucket
        request.path = path
        request.ownerID = ownerID
        request.contentType = contentType
        request.allowedUserID = allowedUserID
        let response = try await remote.call(M.associateFile, request, idempotent: false)
        return response.success ? response.version.chatTimestamp : nil
    }

    public func addFileAccess(bucket: String, path: String, ownerID: Int64, allowedUserID: Int64, version: ChatTimestamp) async throws -> VersionedUpdate {
        var request = Chatwire_Internal_AddFileAccessRequest()
        request.bucket = bucket
        request.path = path
        request.ownerID = ownerID
        request.allowedUserID = allowedUserID
        request.version = .init(version)
        // Idempotent when access exists (see the port).
        return try await remote.call(M.addFileAccess, request, idempotent: true).model
    }

    public func files(of ownerID: Int64, newerThan: ChatTimestamp) async throws -> [FileRecord] {
        var request = Chatwire_Internal_GetUserFilesRequest()
        request.ownerID = ownerID
        request.newerThan = .init(newerThan)
        return try await remote.call(M.userFiles, request, idempotent: true).files.map(\.model)
    }

    public func file(bucket: String, path: String) async throws -> FileRecord? {
        var request = Chatwire_Internal_GetFileRequest()
        request.bucket = bucket
        request.path = path
        let response = try await remote.call(M.file, request, idempotent: true)
        return response.missing || !response.hasFile ? nil : response.file.model
    }
}
