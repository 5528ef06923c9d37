import ChatWire
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import NIOCore
import ServiceLifecycle

/// Settings of one chat server process.
public struct ChatServerConfiguration: Sendable {
    /// Address to bind (loopback by default).
    public var host = "127.0.0.1"
    /// Port to bind; 0 picks a free port.
    public var port = 8080
    /// Where SQLite files, uploaded files and the token secret live.
    public var dataDirectory = "./chat-data"
    /// HMAC secret for tokens; by default a random secret persisted in the data directory.
    public var tokenSecret: [UInt8]?
    /// Token lifetime in seconds.
    public var tokenLifetimeSeconds: Int64 = 1800
    /// PBKDF2 rounds for new password hashes.
    public var passwordRounds = 210_000
    /// Bearer token for the admin API (`/api/config`); `nil` disables it.
    public var adminToken: String?
    /// `PRAGMA synchronous=FULL` (power-loss safe) instead of NORMAL (process-crash safe).
    public var synchronousFull = false
    /// Snowflake generator ID of this process (0...255).
    public var generatorID = 0
    /// Address clients are told to use for real-time (default `http://host:port`).
    public var publicAddress: String?
    /// Where the ports live (embedded by default, or cluster addresses), which roles this process
    /// runs and where the others are, the server ID and the Kafka backplane of a multi-instance
    /// deployment: see ``ChatDeployment``.
    public var deployment = ChatDeployment()
    /// Port of the gRPC real-time API (`chatwire.Messaging`) on `host`; 0 picks a free port; nil disables it.
    public var grpcPort: Int?
    /// Called with the bound gRPC port once the gRPC listener is up.
    public var onGRPCServerRunning: (@Sendable (Int) async -> Void)?
    /// Most client connections held at once (see ``ConnectionBudget``); nil: the process's
    /// descriptor limit (raised to the hard limit) minus a reserve.
    public var maxConnections: Int?
    /// Called with the bound internal gRPC port (``ChatDeployment/internalGRPCPort``) once it listens.
    public var onInternalGRPCServerRunning: (@Sendable (Int) async -> Void)?

    /// Defaults: 127.0.0.1:8080, `./chat-data`.
    public init() {}
}

/// The reference chat server. On its embedded default: SQLite (GRDB) for users, connections,
/// files metadata, history, chat state and config; an in-process partitioned backplane persisted
/// in SQLite; an in-process LRU user cache; files on local disk. The configuration's
/// ``ChatDeployment`` moves ports to PostgreSQL, Cassandra and Redis (see ``AdapterSet``).
public enum ChatServer {
    /// Builds the application (HTTP API, WebSocket, web page, metrics) and the services it runs.
    ///
    /// This is the composition root: the deployment's roles decide what this process runs
    /// (bff: the HTTP API; messaging: the real-time APIs and the backplane's live consumer; chats:
    /// the history/state materializer; idgen, user, chats, config: their internal gRPC services),
    /// and each port is the local adapter when its role runs here, or a remote client of the
    /// process that runs it (see ``RolePorts``).
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public static func makeApplication(
        configuration: ChatServerConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let metrics = PrometheusMetrics()
        let address = configuration.publicAddress ?? "http://\(configuration.host):\(configuration.port)"
        let deployment = configuration.deployment
        let adapters = try await AdapterSet.make(deployment: deployment, dataDirectory: data, synchronousFull: configuration.synchronousFull,
                                                 configDefaults: DynamicConfig.defaults(address: address), logger: logger)
        let ports = try RolePorts.make(deployment: deployment, adapters: adapters, generatorID: configuration.generatorID, logger: logger)
        let roles = ports.roles
        logger.info("chat server adapters", metadata: ["adapters": "\(adapters.summary)", "roles": "\(roles.sorted().map(\.rawValue).joined(separator: ","))",
                                                       "remote": "\(ports.remotes.map { "\($0.role)=\($0.address)" }.joined(separator: " "))"])
        // Remote clients connect on demand (start-up calls included); as services they close their
        // connections after the roles that use them stopped (services stop in reverse order).
        let remoteServices: [any Service] = ports.remotes

        let config = DynamicConfig(store: ports.configStore, logger: logger)
        let failures = try await config.reload()
        if !failures.isEmpty { logger.warning("stored dynamic config is invalid; using defaults", metadata: ["failures": "\(failures)"]) }
        adapters.configFeed?.onChange { sections in _ = try? await config.reload(changedSections: sections) }

        // Scale-out (backplane, partition ownership, config changes over Kafka): see ScaleOut.swift.
        let scaleOut = ScaleOutConfiguration(deployment: deployment)
        let backplane = try await ScaleOut.makeBackplane(scaleOut, databases: adapters.local, partitionCount: config.values.partitionCount, logger: logger)
        if roles.contains(.chats) {
            try await ChatsMaterializer(store: adapters.chats, backplane: backplane, logger: logger).start()
        }

        let registry = ClientRegistry()
        let runsMessaging = roles.contains(.messaging)
        let ownership = runsMessaging ? PartitionOwnership(serverID: scaleOut.serverID, backplane: backplane, registry: registry, logger: logger) : nil
        let messaging = MessagingService(registry: registry, backplane: runsMessaging ? backplane : PublishOnlyBackplane(base: backplane), ids: ports.ids,
                                         metrics: metrics, logger: logger, ownership: ownership)
        let membership = try await ScaleOut.join(scaleOut, config: config, configStore: ports.configStore, ownership: ownership, logger: logger)
        let budget = configuration.maxConnections.map { ConnectionBudget(limit: $0, logger: logger) } ?? .forProcess(logger: logger)
        let services = ChatServices(
            users: ports.users, chats: ports.chats, cache: adapters.cache, config: config, configStore: membership.configStore,
            backplane: backplane, tokens: TokenService(secret: try configuration.tokenSecret ?? loadSecret(directory: data), lifetimeSeconds: configuration.tokenLifetimeSeconds),
            passwords: PasswordHasher(rounds: configuration.passwordRounds), files: try FileStorage(root: data + "/files"),
            registry: registry, messaging: messaging, adminToken: configuration.adminToken, logger: logger, connectionBudget: budget)

        let router = Router(context: ChatRequestContext.self)
        ChatTracing.register(on: router)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        if roles.contains(.bff) { APIRoutes(services: services).register(on: router) }
        let readiness = adapters.readiness
        OperationalRoutes(services: services, metrics: metrics, readiness: { try await readiness(); try ports.checkRemotes() }).register(on: router)
        let wsRouter = Router(context: ChatRequestContext.self)
        wsRouter.add(middleware: ProblemMiddleware())
        // One task pings every WebSocket connection (the library's per-connection ping task is off).
        let keepalive = WebSocketKeepalive(logger: logger)
        if runsMessaging { WebSocketEndpoint(services: services, keepalive: keepalive).register(on: wsRouter) }

        var roleServices: [any Service] = []
        if let buffer = ports.idBuffer {
            // Fill the buffer before clients can send; if idgen is down, the background refill keeps trying.
            do {
                try await buffer.refill()
            } catch {
                logger.warning("message ID buffer: first refill failed; sends fail until the idgen role answers", metadata: ["error": "\(error)"])
            }
            roleServices.append(buffer)
        }
        if let internalPort = deployment.internalGRPCPort, !roles.isDisjoint(with: ChatRole.internalRoles) {
            var served = InternalPorts()
            served.ids = ports.generator
            if roles.contains(.user) { served.users = adapters.users }
            if roles.contains(.chats) { served.chats = adapters.chats }
            if roles.contains(.config) {
                served.configStore = membership.configStore
                served.onConfigUpdate = { sections in _ = try? await config.reload(changedSections: sections) }
            }
            let onRunning = configuration.onInternalGRPCServerRunning
            roleServices.append(InternalGRPCServer(ports: served, host: configuration.host, port: internalPort, logger: logger) { port in
                logger.info("internal gRPC server listening", metadata: ["address": "\(configuration.host):\(port)"])
                await onRunning?(port)
            })
        }
        if runsMessaging, let grpcPort = configuration.grpcPort {
            roleServices.append(ChatGRPCServer(services: services, host: configuration.host, port: grpcPort, logger: logger, onRunning: configuration.onGRPCServerRunning))
        }

        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: wsRouter, configuration: .init(ws: .init(maxFrameSize: WebSocketEndpoint.maxFrame, autoPing: .disabled))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "wirestack-chat",
                                 availableConnectionsDelegate: budget.acceptDelegate),
            services: adapters.services + remoteServices + [backplane as any Service] + membership.services + roleServices + (runsMessaging ? [keepalive] : []),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    /// The token secret stored in `directory/token.secret`, created on first start.
    static func loadSecret(directory: String) throws -> [UInt8] {
        let path = directory + "/token.secret"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return [UInt8](data) }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(secret), attributes: [.posixPermissions: 0o600])
        return secret
    }
}
