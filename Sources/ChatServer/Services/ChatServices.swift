import ChatWire
import Logging
import Synchronization

/// Everything the front ends (HTTP, WebSocket, gRPC) call: the services wired to their ports.
public final class ChatServices: Sendable {
    public let users: any UserStore
    public let chats: any ChatStore
    public let cache: any UserCache
    public let config: DynamicConfig
    public let configStore: any ConfigStore
    public let backplane: any Backplane
    public let tokens: TokenService
    public let passwords: PasswordHasher
    public let files: FileStorage
    public let registry: ClientRegistry
    public let messaging: MessagingService
    public let logger: Logger
    /// The bearer token of the admin API (`/api/config`); `nil` disables the admin API.
    public let adminToken: String?
    /// The client connections this process may hold (the listeners stop accepting beyond it).
    public let connectionBudget: ConnectionBudget
    /// `host:port` of this instance's gRPC listener once it is bound (nil without one).
    private let grpcAddress = Mutex<String?>(nil)

    /// Wires the services.
    public init(users: any UserStore, chats: any ChatStore, cache: any UserCache, config: DynamicConfig, configStore: any ConfigStore,
                backplane: any Backplane, tokens: TokenService, passwords: PasswordHasher, files: FileStorage,
                registry: ClientRegistry, messaging: MessagingService, adminToken: String?, logger: Logger,
                connectionBudget: ConnectionBudget? = nil) {
        self.users = users
        self.chats = chats
        self.cache = cache
        self.config = config
        self.configStore = configStore
        self.backplane = backplane
        self.tokens = tokens
        self.passwords = passwords
        self.files = files
        self.registry = registry
        self.messaging = messaging
        self.adminToken = adminToken
        self.logger = logger
        self.connectionBudget = connectionBudget ?? .forProcess(logger: logger)
    }

    /// Records the bound address of this instance's gRPC listener.
    func setGRPCAddress(_ address: String) { grpcAddress.withLock { $0 = address } }

    /// The gRPC real-time address to tell `userID` at login: this instance's listener when this
    /// instance serves the user (another owner's is learned by logging in there).
    public func messagingGRPCAddress(for userID: Int64) -> String? {
        guard messaging.serves(userID) else { return nil }
        return grpcAddress.withLock { $0 }
    }

    /// Public profiles by ID through the cache (misses read from the store, then cached).
    func publicProfiles(_ ids: [Int64]) async throws -> [ProfilePublic] {
        let unique = Set(ids).sorted()
        let cached = await cache.profiles(unique)
        var found = Array(cached.values)
        let missing = unique.filter { cached[$0] == nil }
        if !missing.isEmpty {
            let loaded = try await users.publicProfiles(ids: missing)
            await cache.store(loaded)
            found += loaded
        }
        return found.sorted { $0.userId < $1.userId }
    }

    /// Profile search through the cache.
    func search(_ pattern: String) async throws -> [ProfilePublic] {
        let key = pattern.lowercased()
        if let cached = await cache.search(key) { return cached }
        let result = try await users.searchProfiles(pattern: key, limit: config.values.profileCount)
        await cache.store(search: key, result)
        return result
    }
}
