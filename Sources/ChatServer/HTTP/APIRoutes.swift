import ChatWire
import Foundation
import HTTPTypes
import Hummingbird

/// The HTTP/JSON API (the reference's BFF), registered on a router.
struct APIRoutes {
    let services: ChatServices

    func register(on router: Router<ChatRequestContext>) {
        let api = router.group("api")
        api.post("registration", use: registration)
        api.post("session", use: session)
        api.get("config", use: getConfig)
        api.put("config", use: putConfig)

        let user = api.group().add(middleware: AuthMiddleware(tokens: services.tokens))
        user.put("profile/password", use: changePassword)
        user.put("profile", use: updateProfile)
        user.get("profiles/:id", use: profile)
        user.get("profiles", use: profiles)
        user.get("connections", use: connections)
        user.post("connections/:id/invite", use: invite)
        user.put("connections/:id/invite", use: approve)
        user.delete("connections/:id/invite", use: cancel)
        user.delete("connections/:id", use: remove)
        user.get("chats/user", use: userChats)
        user.get("chats/history", use: history)
        user.get("screens/allChats", use: allChats)
        user.get("screens/oneChat", use: oneChat)
        user.get("files/list", use: fileList)
        user.post("files", use: upload)
        user.get("files/:bucket/**", use: download)
        user.put("files/:bucket/**", use: share)
    }

    // MARK: auth

    @Sendable func registration(_ request: Request, context: ChatRequestContext) async throws -> Response {
        var body = try await decodeJSON(RegistrationRequest.self, from: request)
        let failures = ChatValidation.registration(userName: body.userName, password: body.password ?? "", displayName: body.displayName, phone: body.phone, email: body.email)
        guard failures.isEmpty else { throw APIError.validation(failures) }
        let hash = try services.passwords.hash(body.password ?? "")
        let avatar = "https://cdn.cecochat.com/avatars/\(body.userName).jpg"
        guard let profile = try await services.users.register(userName: body.userName, passwordHash: hash, displayName: body.displayName, avatarURL: avatar, phone: body.phone, email: body.email) else {
            throw APIError(.conflict, "Duplicate user name")
        }
        context.logger.info("user registered", metadata: ["userId": "\(profile.userId)"])
        body.password = nil
        return try json(body, status: .created)
    }

    @Sendable func session(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let body = try await decodeJSON(SessionRequest.self, from: request)
        guard !body.userName.isEmpty, body.userName.count <= 32, !body.password.isEmpty, body.password.count <= 128 else {
            throw APIError(.unauthorized, "Unauthorized", detail: "Unknown user or wrong password.")
        }
        guard let user = try await services.users.user(named: body.userName.lowercased()),
              services.passwords.verify(body.password, against: user.passwordHash) else {
            throw APIError(.unauthorized, "Unauthorized", detail: "Unknown user or wrong password.")
        }
        let clientID = UUID().uuidString.lowercased()
        let token = try services.tokens.issue(Identity(userID: user.profile.userId, userName: user.profile.userName, clientID: clientID))
        let response = SessionResponse(clientId: clientID, accessToken: token, profile: user.profile,
                                       messagingServerAddress: services.config.messagingAddress(for: user.profile.userId),
                                       messagingGrpcAddress: services.messagingGRPCAddress(for: user.profile.userId))
        return try json(response)
    }

    // MARK: profile

    @Sendable func changePassword(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await decodeJSON(ChangePasswordRequest.self, from: request)
        let failures = ChatValidation.password(body.newPassword, property: "newPassword")
        guard failures.isEmpty else { throw APIError.validation(failures) }
        let hash = try services.passwords.hash(body.newPassword)
        return try versioned(await services.users.changePassword(userID: identity.userID, newHash: hash, version: body.version))
    }

    @Sendable func updateProfile(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await decodeJSON(UpdateProfileRequest.self, from: request)
        let failures = ChatValidation.displayName(body.displayName)
        guard failures.isEmpty else { throw APIError.validation(failures) }
        let result = try await services.users.updateProfile(userID: identity.userID, displayName: body.displayName, version: body.version)
        await services.cache.invalidate(identity.userID)
        return try versioned(result)
    }

    private func versioned(_ result: VersionedUpdate) throws -> Response {
        switch result {
        case .updated(let version): return try json(NewVersionResponse(newVersion: version))
        case .concurrentlyUpdated: throw APIError(.conflict, "Concurrently updated")
        case .missing: throw APIError(.notFound, "Not found")
        }
    }

    @Sendable func profile(_ request: Request, context: ChatRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let id = try pathID(context)
        guard let profile = try await services.publicProfiles([id]).first else { throw APIError(.notFound, "Profile not found") }
        return try json(ProfileResponse(profile: profile))
    }

    @Sendable func profiles(_ request: Request, context: ChatRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        let query = request.uri.queryParameters
        let ids = query.get("userIds")
        let pattern = query.get("searchPattern")
        switch (ids, pattern) {
        case (let ids?, nil):
            var parsed: [Int64] = []
            for part in ids.split(separator: ",", omittingEmptySubsequences: false) {
                guard let id = Int64(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
                    throw APIError.validation([.init("userIds", "must be a comma-separated list of IDs greater than 0")])
                }
                parsed.append(id)
            }
            let limit = services.config.values.profileCount
            guard parsed.count <= limit else { throw APIError.validation([.init("userIds", "must contain at most \(limit) IDs")]) }
            return try json(ProfilesResponse(profiles: try await services.publicProfiles(parsed)))
        case (nil, let pattern?):
            let failures = ChatValidation.searchPattern(pattern)
            guard failures.isEmpty else { throw APIError.validation(failures) }
            return try json(ProfilesResponse(profiles: try await services.search(pattern)))
        default:
            throw APIError.validation([.init("userIds", "exactly one of userIds and searchPattern is required")])
        }
    }

    // MARK: connections

    @Sendable func connections(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let list = try await services.users.connections(of: identity.userID).map { $0.info(for: identity.userID) }
        return try json(ConnectionsResponse(connections: list))
    }

    @Sendable func invite(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let other = try pathID(context, property: "connectionId")
        guard other != identity.userID else { throw APIError.validation([.init("connectionId", "must not be the caller")]) }
        switch try await services.users.invite(from: identity.userID, to: other) {
        case .success(let record):
            await services.messaging.publishConnectionChange(record, actor: identity.userID)
            return try json(InviteResponse(version: record.version))
        case .missingUser: throw APIError(.conflict, "Missing user")
        case .alreadyExists: throw APIError(.conflict, "Already exists")
        case .concurrentlyUpdated: throw APIError(.conflict, "Concurrently updated")
        case .missingConnection: throw APIError(.notFound, "Connection not found")
        case .invalid(let reason): throw APIError(.conflict, reason)
        }
    }

    private func transition(_ request: Request, _ context: ChatRequestContext,
                            _ command: (Int64, Int64, ChatTimestamp) async throws -> ConnectionCommandResult) async throws -> Response {
        let identity = try context.requireIdentity()
        let other = try pathID(context, property: "connectionId")
        guard other != identity.userID else { throw APIError.validation([.init("connectionId", "must not be the caller")]) }
        let body = try await decodeJSON(VersionRequest.self, from: request)
        switch try await command(identity.userID, other, body.version) {
        case .success(let record):
            await services.messaging.publishConnectionChange(record, actor: identity.userID)
            return try json(NewVersionResponse(newVersion: record.version))
        case .missingConnection, .missingUser: throw APIError(.notFound, "Connection not found")
        case .invalid(let reason): throw APIError(.conflict, reason)
        case .concurrentlyUpdated: throw APIError(.conflict, "Concurrently updated")
        case .alreadyExists: throw APIError(.conflict, "Already exists")
        }
    }

    @Sendable func approve(_ request: Request, context: ChatRequestContext) async throws -> Response {
        try await transition(request, context) { try await services.users.approve(by: $0, other: $1, version: $2) }
    }

    @Sendable func cancel(_ request: Request, context: ChatRequestContext) async throws -> Response {
        try await transition(request, context) { try await services.users.cancel(by: $0, other: $1, version: $2) }
    }

    @Sendable func remove(_ request: Request, context: ChatRequestContext) async throws -> Response {
        try await transition(request, context) { try await services.users.remove(by: $0, other: $1, version: $2) }
    }

    // MARK: chats

    @Sendable func userChats(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let newerThan = try timeQuery(request, "newerThan", allowEpoch: true)
        let chats = try await services.chats.userChats(userID: identity.userID, newerThan: Snowflake.floor(unixMicroseconds: newerThan.microseconds))
        return try json(UserChatsResponse(chats: chats))
    }

    @Sendable func history(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let other = try idQuery(request, "otherUserId")
        let olderThan = try timeQuery(request, "olderThan", allowEpoch: false)
        return try json(HistoryResponse(messages: try await historyPage(identity.userID, other, olderThan)))
    }

    private func historyPage(_ me: Int64, _ other: Int64, _ olderThan: ChatTimestamp) async throws -> [HistoryMessageInfo] {
        try await services.chats.history(chatID: ChatID(me, other).description, olderThan: Snowflake.ceiling(unixMicroseconds: olderThan.microseconds),
                                         limit: services.config.values.historyPageSize)
    }

    @Sendable func allChats(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let chatsNewerThan = try timeQuery(request, "chatsNewerThan", allowEpoch: true)
        let filesNewerThan = try timeQuery(request, "filesNewerThan", allowEpoch: true)
        let includeProfiles = try boolQuery(request, "includeProfiles")
        let me = identity.userID
        async let chats = services.chats.userChats(userID: me, newerThan: Snowflake.floor(unixMicroseconds: chatsNewerThan.microseconds))
        async let connections = services.users.connections(of: me)
        async let files = services.users.files(of: me, newerThan: filesNewerThan)
        let (c, n, f) = try await (chats, connections, files)
        var profiles: [ProfilePublic] = []
        if includeProfiles {
            let ids = c.compactMap { ChatID(parsing: $0.chatId)?.otherUser(than: me) } + n.map { $0.info(for: me).connectionId }
            profiles = try await services.publicProfiles(ids)
        }
        return try json(AllChatsScreen(chats: c, connections: n.map { $0.info(for: me) },
                                       files: f.map { FileRefInfo(bucket: $0.bucket, path: $0.path, version: $0.version) }, profiles: profiles))
    }

    @Sendable func oneChat(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let other = try idQuery(request, "otherUserId")
        let olderThan = try timeQuery(request, "messagesOlderThan", allowEpoch: false)
        let includeProfile = try boolQuery(request, "includeProfile")
        let includeConnection = try boolQuery(request, "includeConnection")
        async let messages = historyPage(identity.userID, other, olderThan)
        // Fixed from the reference (quirk 5): the connection depends on includeConnection.
        let profile = includeProfile ? try await services.publicProfiles([other]).first : nil
        let connection = includeConnection ? try await services.users.connection(between: identity.userID, and: other)?.info(for: identity.userID) : nil
        return try json(OneChatScreen(messages: try await messages, profile: profile, connection: connection))
    }

    // MARK: files

    @Sendable func fileList(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let newerThan = try timeQuery(request, "newerThan", allowEpoch: true)
        let files = try await services.users.files(of: identity.userID, newerThan: newerThan)
        return try json(FilesResponse(files: files.map { FileRefInfo(bucket: $0.bucket, path: $0.path, version: $0.version) }))
    }

    @Sendable func upload(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let sizeText = request.headers[HTTPField.Name("Uploaded-File-Size")!], let size = Int(sizeText),
              (1...ChatValidation.maxFileSize).contains(size) else {
            throw APIError.validation([.init("Uploaded-File-Size", "header must be 1 to \(ChatValidation.maxFileSize)")])
        }
        guard let allowedText = request.headers[HTTPField.Name("Uploaded-File-Allowed-UserId")!], let allowed = Int64(allowedText), allowed >= 0 else {
            throw APIError.validation([.init("Uploaded-File-Allowed-UserId", "header must be a user ID, or 0 for nobody")])
        }
        guard let contentType = request.headers[.contentType], contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundaryRange = contentType.range(of: "boundary=") else {
            throw APIError(.badRequest, "Bad multipart request", detail: "Content-Type must be multipart/form-data with a boundary.")
        }
        let boundary = contentType[boundaryRange.upperBound...].split(separator: ";").first.map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) } ?? ""
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 540_672)
        } catch {
            throw APIError(.contentTooLarge, "Request body too large", detail: "At most 540672 bytes are accepted.")
        }
        let part: MultipartFile
        do {
            part = try MultipartFile.parse(body: Array(body.readableBytesView), boundary: boundary)
        } catch {
            throw APIError(.badRequest, "Bad multipart request", detail: "\(error)")
        }
        guard let (ext, expectedType) = ChatValidation.contentType(forFileName: part.fileName) else {
            throw APIError.validation([.init("file", "extension must be one of \(ChatValidation.fileContentTypes.keys.sorted().joined(separator: ", "))")])
        }
        guard part.contentType == expectedType else {
            throw APIError.validation([.init("file", "content type must be \(expectedType) for .\(ext)")])
        }
        guard part.bytes.count == size, !part.bytes.isEmpty else {
            throw APIError.validation([.init("Uploaded-File-Size", "does not match the uploaded file (\(part.bytes.count) bytes)")])
        }
        let bucket = FileStorage.bucket()
        let path = "\(identity.userID)/\(UUID().uuidString.lowercased()).\(ext)"
        try services.files.write(bucket: bucket, path: path, bytes: part.bytes)
        guard let version = try await services.users.associateFile(bucket: bucket, path: path, ownerID: identity.userID, contentType: expectedType, allowedUserID: allowed) else {
            services.files.delete(bucket: bucket, path: path)
            throw APIError(.conflict, "Duplicate file")
        }
        return try json(UploadFileResponse(file: FileRefInfo(bucket: bucket, path: path, version: version)))
    }

    /// `(bucket, path)` from `files/:bucket/**`, segments percent-decoded (a path may come as one `%2F`-encoded segment or as two).
    private func fileAddress(_ context: ChatRequestContext, dropLast: String? = nil) throws -> (String, String) {
        let bucket = context.parameters.get("bucket")?.removingPercentEncoding ?? ""
        var segments = context.parameters.getCatchAll().map { String($0).removingPercentEncoding ?? String($0) }
        if let dropLast {
            guard segments.last == dropLast else { throw APIError(.notFound, "Not found") }
            segments.removeLast()
        }
        let path = segments.joined(separator: "/")
        let failures = ChatValidation.bucket(bucket) + ChatValidation.path(path)
        guard failures.isEmpty else { throw APIError.validation(failures) }
        return (bucket, path)
    }

    @Sendable func download(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let (bucket, path) = try fileAddress(context)
        guard let record = try await services.users.file(bucket: bucket, path: path) else { throw APIError(.notFound, "File not found") }
        guard record.ownerID == identity.userID || record.allowedUsers.contains(identity.userID) else {
            throw APIError(.forbidden, "Forbidden", detail: "The file is not shared with you.")
        }
        guard let bytes = services.files.read(bucket: bucket, path: path) else { throw APIError(.notFound, "File not found") }
        return Response(status: .ok, headers: [.contentType: record.contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func share(_ request: Request, context: ChatRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let (bucket, path) = try fileAddress(context, dropLast: "access")
        let body = try await decodeJSON(FileAccessRequest.self, from: request)
        let failures = ChatValidation.userID(body.allowedUserId, property: "allowedUserId")
        guard failures.isEmpty else { throw APIError.validation(failures) }
        guard let record = try await services.users.file(bucket: bucket, path: path) else { throw APIError(.notFound, "File not found") }
        // Fixed from the reference (quirk 7): only the owner may share a file.
        guard record.ownerID == identity.userID else { throw APIError(.forbidden, "Forbidden", detail: "Only the owner may share a file.") }
        return try versioned(await services.users.addFileAccess(bucket: bucket, path: path, ownerID: identity.userID, allowedUserID: body.allowedUserId, version: body.version))
    }

    // MARK: admin config

    private func requireAdmin(_ request: Request) throws {
        guard let expected = services.adminToken else { throw APIError(.notFound, "The admin API is disabled") }
        let header = request.headers[.authorization] ?? ""
        guard PasswordHasher.constantTimeEqual(Array(header.utf8), Array("Bearer \(expected)".utf8)) else {
            throw APIError(.unauthorized, "Unauthorized", detail: "The admin token is required.")
        }
    }

    @Sendable func getConfig(_ request: Request, context: ChatRequestContext) async throws -> Response {
        try requireAdmin(request)
        return try json(ConfigResponse(elements: try await services.configStore.elements()))
    }

    @Sendable func putConfig(_ request: Request, context: ChatRequestContext) async throws -> Response {
        try requireAdmin(request)
        let body = try await decodeJSON(ConfigUpdateRequest.self, from: request)
        guard !(body.existingElements.isEmpty && body.newElements.isEmpty && body.deletedElements.isEmpty) else {
            throw APIError.validation([.init("elements", "at least one element is required")])
        }
        // Validate the config as it would be after the update; refuse invalid values up front.
        var after = Dictionary(try await services.configStore.elements().map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for e in body.newElements + body.existingElements { after[e.name] = e }
        for e in body.deletedElements { after[e.name] = nil }
        let (_, failures) = DynamicConfig.validate(Array(after.values))
        guard failures.isEmpty else { throw APIError.validation(failures) }
        let sections: Set<String>
        do {
            sections = try await services.configStore.update(body)
        } catch ConfigUpdateError.newElementsExist {
            throw APIError(.conflict, "New elements keys are already present")
        } catch ConfigUpdateError.concurrentlyUpdated {
            throw APIError(.conflict, "Existing elements have been concurrently updated")
        }
        try await services.config.reload(changedSections: sections)
        return try json(ConfigResponse(elements: try await services.configStore.elements()))
    }

    // MARK: parameters

    private func pathID(_ context: ChatRequestContext, property: String = "id") throws -> Int64 {
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
            throw APIError.validation([.init(property, "must be an ID greater than 0")])
        }
        return id
    }

    private func idQuery(_ request: Request, _ name: String) throws -> Int64 {
        guard let text = request.uri.queryParameters.get(name), let id = Int64(text), id > 0 else {
            throw APIError.validation([.init(name, "must be an ID greater than 0")])
        }
        return id
    }

    private func boolQuery(_ request: Request, _ name: String) throws -> Bool {
        guard let text = request.uri.queryParameters.get(name) else { return false }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0", "": return false
        default: throw APIError.validation([.init(name, "must be true or false")])
        }
    }

    /// A time bound: `newerThan`-style bounds must be at or after the snowflake epoch, `olderThan`-style strictly after.
    private func timeQuery(_ request: Request, _ name: String, allowEpoch: Bool) throws -> ChatTimestamp {
        guard let text = request.uri.queryParameters.get(name), let time = ChatTimestamp(parsing: text) else {
            throw APIError.validation([.init(name, "must be a timestamp like 2024-01-31T12:00:00Z")])
        }
        let ok = allowEpoch ? time >= .snowflakeEpoch : time > .snowflakeEpoch
        // The snowflake timestamp has 41 bits of milliseconds: reject times beyond its range.
        guard ok, time.microseconds < (Snowflake.epochMilliseconds + (1 << 41)) * 1000 else {
            throw APIError.validation([.init(name, allowEpoch ? "must be at or after 2021-01-01T00:00:00Z" : "must be after 2021-01-01T00:00:00Z")])
        }
        return time
    }
}
