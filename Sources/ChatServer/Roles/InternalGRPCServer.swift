import ChatWire
import GRPCWire
import Logging
import ServiceLifecycle

/// The ports a process serves to other processes over its internal gRPC port: one per role it
/// runs among idgen, user, chats and config (nil: not run here).
public struct InternalPorts: Sendable {
    /// The idgen role's generator.
    public var ids: SnowflakeGenerator?
    /// The user role's store.
    public var users: (any UserStore)?
    /// The chats role's store (queries only; its materializer writes it).
    public var chats: (any ChatStore)?
    /// The config role's store.
    public var configStore: (any ConfigStore)?
    /// Called after a config update served to another process was applied (reloads this
    /// process's dynamic config).
    public var onConfigUpdate: (@Sendable (Set<String>) async -> Void)?

    /// No ports.
    public init() {}
}

/// The internal gRPC server of a process: the internal contracts of the roles it runs (see
/// ``InternalPorts``), plus `grpc.health.v1.Health`. A ServiceLifecycle service.
public final class InternalGRPCServer: Service, Sendable {
    let server: GRPCServer
    let onRunning: (@Sendable (Int) async -> Void)?

    /// A server for `ports` on `host:port` (0 picks a free port); `onRunning` gets the bound port.
    public init(ports: InternalPorts, host: String, port: Int, logger: Logger, onRunning: (@Sendable (Int) async -> Void)? = nil) {
        var services: [any GRPCService] = [HealthService()]
        if let ids = ports.ids { services.append(IdGenGRPCService(ids: ids)) }
        if let users = ports.users { services.append(UserGRPCService(users: users)) }
        if let chats = ports.chats { services.append(ChatsGRPCService(chats: chats)) }
        if let configStore = ports.configStore { services.append(ConfigGRPCService(store: configStore, onUpdate: ports.onConfigUpdate)) }
        var configuration = GRPCServer.Configuration(host: host, port: port)
        configuration.maxReceiveMessageSize = 4 << 20
        configuration.maxGraceTime = .seconds(5)
        self.server = GRPCServer(configuration: configuration, services: services, interceptors: [TracingServerInterceptor()], logger: logger)
        self.onRunning = onRunning
    }

    /// The bound port, once listening.
    public func listeningPort() async throws -> Int { try await server.listeningPort() }

    /// Serves until graceful shutdown.
    public func run() async throws {
        let (server, onRunning) = (self.server, self.onRunning)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            if let onRunning {
                group.addTask { await onRunning(try await server.listeningPort()) }
            }
            try await group.waitForAll()
        }
    }
}

extension ServiceRouter {
    /// Registers a unary handler over a role's store: store failures become INTERNAL naming the
    /// method (the calling process's circuit breaker counts them); an `RPCError` the handler
    /// throws (e.g. INVALID_ARGUMENT) passes through unchanged.
    mutating func store<Request, Response>(_ method: MethodDescriptor<Request, Response>,
                                           _ body: @escaping @Sendable (Request) async throws -> Response) {
        unary(method) { request, _ in
            do {
                return try await body(request)
            } catch let error as RPCError {
                throw error
            } catch {
                throw RPCError(code: .internal, message: "\(method.method) failed: \(error)")
            }
        }
    }
}

/// `chatwire.internal.IdGen` over the idgen role's generator.
struct IdGenGRPCService: GRPCService {
    let ids: SnowflakeGenerator

    func register(with router: inout ServiceRouter) {
        let ids = self.ids
        router.unary(InternalMethods.IdGen.generateOne) { _, _ in
            var response = Chatwire_Internal_GenerateOneResponse()
            response.id = ids.next()
            return response
        }
        router.unary(InternalMethods.IdGen.generateMany) { request, _ in
            // The reference validates the count as 2...16384.
            guard (2...16384).contains(request.count) else {
                throw RPCError(code: .invalidArgument, message: "count must be 2...16384, got \(request.count)")
            }
            var response = Chatwire_Internal_GenerateManyResponse()
            response.ids = (0..<Int(request.count)).map { _ in ids.next() }
            return response
        }
    }
}

/// The user role's contracts over its ``UserStore``.
struct UserGRPCService: GRPCService {
    let users: any UserStore

    func register(with router: inout ServiceRouter) {
        let users = self.users
        typealias M = InternalMethods.User
        router.store(M.register) { request in
            let r = request.registration
            let profile = try await users.register(userName: r.userName, passwordHash: r.passwordHash, displayName: r.displayName, avatarURL: r.avatarURL, phone: r.phone, email: r.email)
            var response = Chatwire_Internal_RegisterResponse()
            if let profile {
                response.success = true
                response.profile = .init(profile)
            } else {
                response.duplicateUserName = true
            }
            return response
        }
        router.store(M.userByName) { request in
            Chatwire_Internal_GetUserResponse(try await users.user(named: request.userName))
        }
        router.store(M.userByID) { request in
            Chatwire_Internal_GetUserResponse(try await users.user(id: request.userID))
        }
        router.store(M.changePassword) { request in
            Chatwire_Internal_VersionedUpdateResponse(try await users.changePassword(userID: request.userID, newHash: request.newPasswordHash, version: request.version.chatTimestamp))
        }
        router.store(M.updateProfile) { request in
            Chatwire_Internal_VersionedUpdateResponse(try await users.updateProfile(userID: request.userID, displayName: request.displayName, version: request.version.chatTimestamp))
        }
        router.store(M.profilesByID) { request in
            var response = Chatwire_Internal_GetPublicProfilesResponse()
            response.profiles = try await users.publicProfiles(ids: request.userIds).map(Chatwire_ProfilePublic.init)
            return response
        }
        router.store(M.profilesByPattern) { request in
            var response = Chatwire_Internal_GetPublicProfilesResponse()
            response.profiles = try await users.searchProfiles(pattern: request.searchPattern, limit: Int(request.limit)).map(Chatwire_ProfilePublic.init)
            return response
        }
        router.store(M.invite) { request in
            Chatwire_Internal_ConnectionCommandResponse(try await users.invite(from: request.userID, to: request.connectionID))
        }
        router.store(M.approve) { request in
            Chatwire_Internal_ConnectionCommandResponse(try await users.approve(by: request.userID, other: request.connectionID, version: request.version.chatTimestamp))
        }
        router.store(M.cancel) { request in
            Chatwire_Internal_ConnectionCommandResponse(try await users.cancel(by: request.userID, other: request.connectionID, version: request.version.chatTimestamp))
        }
        router.store(M.remove) { request in
            Chatwire_Internal_ConnectionCommandResponse(try await users.remove(by: request.userID, other: request.connectionID, version: request.version.chatTimestamp))
        }
        router.store(M.connection) { request in
            var response = Chatwire_Internal_GetConnectionResponse()
            if let record = try await users.connection(between: request.userID, and: request.connectionID) {
                response.connection = .init(record)
            } else {
                response.missing = true
            }
            return response
        }
        router.store(M.connections) { request in
            var response = Chatwire_Internal_GetConnectionsResponse()
            response.connections = try await users.connections(of: request.userID).map(Chatwire_Internal_ConnectionRow.init)
            return response
        }
        router.store(M.associateFile) { request in
            var response = Chatwire_Internal_AssociateFileResponse()
            if let version = try await users.associateFile(bucket: request.bucket, path: request.path, ownerID: request.ownerID, contentType: request.contentType, allowedUserID: request.allowedUserID) {
                response.success = true
                response.version = .init(version)
            } else {
                response.duplicate = true
            }
            return response
        }
        router.store(M.addFileAccess) { request in
            Chatwire_Internal_VersionedUpdateResponse(try await users.addFileAccess(bucket: request.bucket, path: request.path, ownerID: request.ownerID, allowedUserID: request.allowedUserID,
                                                                                    version: request.version.chatTimestamp))
        }
        router.store(M.userFiles) { request in
            var response = Chatwire_Internal_GetUserFilesResponse()
            response.files = try await users.files(of: request.ownerID, newerThan: request.newerThan.chatTimestamp).map(Chatwire_Internal_FileRecord.init)
            return response
        }
        router.store(M.file) { request in
            var response = Chatwire_Internal_GetFileResponse()
            if let record = try await users.file(bucket: request.bucket, path: request.path) {
                response.file = .init(record)
            } else {
                response.missing = true
            }
            return response
        }
    }
}

/// `chatwire.internal.Chats` over the chats role's store.
struct ChatsGRPCService: GRPCService {
    let chats: any ChatStore

    func register(with router: inout ServiceRouter) {
        let chats = self.chats
        router.store(InternalMethods.Chats.userChats) { request in
            var response = Chatwire_Internal_GetUserChatsResponse()
            response.chats = try await chats.userChats(userID: request.userID, newerThan: request.newerThan)
                .map { Chatwire_ChatState($0, userID: request.userID) }
            return response
        }
        router.store(InternalMethods.Chats.history) { request in
            guard request.limit > 0 else { throw RPCError(code: .invalidArgument, message: "limit must be greater than 0") }
            var response = Chatwire_Internal_GetChatHistoryResponse()
            response.messages = try await chats.history(chatID: request.chatID, olderThan: request.olderThan, limit: Int(request.limit)).map(Chatwire_HistoryMessage.init)
            return response
        }
        router.store(InternalMethods.Chats.message) { request in
            var response = Chatwire_Internal_GetChatMessageResponse()
            if let message = try await chats.message(chatID: request.chatID, messageID: request.messageID) {
                response.found = true
                response.message = .init(message)
            }
            return response
        }
    }
}

/// `chatwire.internal.Config` over the config role's store.
struct ConfigGRPCService: GRPCService {
    let store: any ConfigStore
    let onUpdate: (@Sendable (Set<String>) async -> Void)?

    func register(with router: inout ServiceRouter) {
        let (store, onUpdate) = (self.store, self.onUpdate)
        router.store(InternalMethods.Config.elements) { request in
            var response = Chatwire_Internal_GetConfigElementsResponse()
            response.elements = try await store.elements()
                .filter { request.configSection.isEmpty || $0.name.hasPrefix(request.configSection) }
                .map(Chatwire_Internal_ConfigElement.init)
            return response
        }
        router.unary(InternalMethods.Config.update) { request, _ in
            let update = ConfigUpdateRequest(existingElements: request.existingElements.map(\.model), newElements: request.newElements.map(\.model),
                                             deletedElements: request.deletedElements.map(\.model))
            var response = Chatwire_Internal_UpdateConfigElementsResponse()
            do {
                let sections = try await store.update(update)
                response.success = true
                response.changedSections = sections.sorted()
                await onUpdate?(sections)
            } catch ConfigUpdateError.newElementsExist {
                response.newElementsExist = true
            } catch ConfigUpdateError.concurrentlyUpdated {
                response.concurrentlyUpdated = true
            } catch ConfigUpdateError.invalid(let failures) {
                response.invalid = failures.map { failure in
                    var f = Chatwire_Internal_ConfigValidationFailure()
                    f.property = failure.property
                    f.message = failure.message
                    return f
                }
            } catch {
                throw RPCError(code: .internal, message: "UpdateConfigElements failed: \(error)")
            }
            return response
        }
    }
}
