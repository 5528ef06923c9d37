import ChatWire
import Logging
import ServiceLifecycle

/// The ports a process's roles call, each either the local adapter (the role runs here) or a
/// remote client of the process that runs it: chosen in the composition root from the
/// deployment's roles and addresses.
public struct RolePorts: Sendable {
    /// The roles this process runs.
    public var roles: Set<ChatRole>
    /// Users, connections and files: local, or ``RemoteUserStore`` behind this process's cache.
    public var users: any UserStore
    /// History and chat state: local, or ``RemoteChatStore``.
    public var chats: any ChatStore
    /// Dynamic config elements: local, or ``RemoteConfigStore``.
    public var configStore: any ConfigStore
    /// Message IDs: the local generator, an ``IDBuffer`` over a remote idgen, or none (fails).
    public var ids: any MessageIDSource
    /// The local generator when the idgen role runs here.
    public var generator: SnowflakeGenerator?
    /// The buffer over a remote idgen role, if any (fill it once before serving).
    public var idBuffer: IDBuffer?
    /// Clients of the roles other processes run (services: run them before what uses them).
    public var remotes: [RemoteRole]

    /// The ports for `deployment`, given this process's local adapters.
    ///
    /// A role that is not run here is called at its address; if it has none, the process fails to
    /// start when one of its roles needs it (bff needs user, chats and config; messaging needs
    /// idgen and config), and otherwise the local adapter stands in unused.
    public static func make(deployment: ChatDeployment, adapters: AdapterSet, generatorID: Int, logger: Logger) throws -> RolePorts {
        let roles = try ChatRole.parse(deployment.roles)
        try checkBackplane(roles: roles, deployment: deployment)
        let settings = RemoteCallSettings(deployment: deployment)
        var needed = Set<ChatRole>()
        if roles.contains(.bff) { needed.formUnion([.user, .chats, .config]) }
        if roles.contains(.messaging) { needed.formUnion([.idgen, .config]) }

        var remotes: [ChatRole: RemoteRole] = [:]
        for role in ChatRole.internalRoles.sorted() where !roles.contains(role) {
            if let address = deployment.address(of: role) {
                remotes[role] = try RemoteRole(role: role, address: address, settings: settings, logger: logger)
            } else if needed.contains(role) {
                let needers = roles.filter { ($0 == .bff && role != .idgen) || ($0 == .messaging && [.idgen, .config].contains(role)) }
                throw ChatDeployment.SettingError(description: "the \(needers.sorted().map(\.rawValue).joined(separator: " and ")) role needs the \(role) role: "
                    + "run it in this process (--roles) or give its internal gRPC address (--\(role)-address host:port)")
            }
        }

        let users: any UserStore = remotes[.user].map { CachedUserStore(base: RemoteUserStore(remote: $0), cache: adapters.cache) } ?? adapters.users
        let chats: any ChatStore = remotes[.chats].map { RemoteChatStore(remote: $0) } ?? adapters.chats
        let configStore: any ConfigStore = remotes[.config].map { RemoteConfigStore(remote: $0) } ?? adapters.configStore
        let generator = roles.contains(.idgen) ? SnowflakeGenerator(generatorID: generatorID) : nil
        let buffer = remotes[.idgen].map { IDBuffer(remote: $0, batchSize: deployment.idBufferSize, logger: logger) }
        let ids: any MessageIDSource
        if let generator { ids = generator } else if let buffer { ids = buffer } else { ids = NoMessageIDs() }
        return RolePorts(roles: roles, users: users, chats: chats, configStore: configStore, ids: ids, generator: generator, idBuffer: buffer,
                         remotes: remotes.values.sorted { $0.role < $1.role })
    }

    /// Roles that meet on the backplane in different processes need a shared one (Kafka): the
    /// embedded backplane lives inside one process.
    static func checkBackplane(roles: Set<ChatRole>, deployment: ChatDeployment) throws {
        guard deployment.kafka == nil else { return }
        let publishes = roles.contains(.bff) || roles.contains(.messaging)
        if publishes && !roles.contains(.chats) {
            throw ChatDeployment.SettingError(description: "the chats role runs in another process, so the backplane must be shared: give --kafka (the embedded backplane is in-process)")
        }
        if roles.contains(.chats) && !publishes {
            throw ChatDeployment.SettingError(description: "the bff and messaging roles run in another process, so the backplane must be shared: give --kafka (the embedded backplane is in-process)")
        }
    }

    /// Throws the first remote role whose circuit breaker is open (for `/readyz`).
    public func checkRemotes() throws {
        for remote in remotes where remote.breaker.isOpen {
            throw RemoteRoleError(role: remote.role, address: remote.address, kind: .unavailable(.init(code: .unavailable, message: "circuit breaker open")))
        }
    }
}

/// The ID source of a process that runs neither messaging nor idgen and has no idgen address
/// (the bff publishes connection changes only, which carry no message ID).
struct NoMessageIDs: MessageIDSource {
    func nextID() throws(MessagingError) -> Int64 {
        throw MessagingError(code: 503, message: "Failed to obtain a message ID.", errors: ["no idgen role in this process and no idgen address"])
    }
}

/// The backplane as seen by a process that does not run the messaging role: it publishes
/// (connection changes from the bff) but has no live consumer.
struct PublishOnlyBackplane: Backplane {
    let base: any Backplane

    func publish(_ message: Chatwire_BackplaneMessage, completion: @escaping @Sendable ((any Error)?) -> Void) {
        base.publish(message, completion: completion)
    }

    func subscribeLive(_ name: String, handler: @escaping @Sendable ([Chatwire_BackplaneMessage]) -> Void) {}

    func subscribeDurable(_ name: String, fromOffset: Int64, handler: @escaping @Sendable ([Chatwire_BackplaneMessage], Int64) async -> Void) async throws {
        try await base.subscribeDurable(name, fromOffset: fromOffset, handler: handler)
    }

    func assign(_ assignment: PartitionAssignment) async {}

    var partitionCount: Int { base.partitionCount }
}
