import ChatServer
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// Kafka peers for the scale-out tests (from `.peers/peers.env`). Missing locally: the test
/// prints why and returns; in CI (`CI=true`) a missing peer fails the test.
enum ScalePeers {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func kafka(_ variable: String) -> String? {
        if let value = environment[variable], !value.isEmpty { return value }
        if environment["CI"] == "true" {
            Issue.record("\(variable) is not set; CI must run the scale-out tests against the real broker (source .peers/peers.env)")
        } else {
            print("skipping: \(variable) is not set (start the peers with scripts/peers.sh and source .peers/peers.env)")
        }
        return nil
    }
}

/// One in-process chat-server instance (its own HTTP port, server ID and snowflake generator)
/// that can be stopped and started again.
final class ChatInstance: Sendable {
    let serverID: String
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(serverID: String, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.serverID = serverID
        self.port = port
        self.group = group
        self.task = task
    }

    var address: String { "http://127.0.0.1:\(port)" }

    /// Starts instance `serverID` on `kafka` (a deployment naming the Kafka backplane, see
    /// ``uniqueKafka(_:label:)``; nil: the embedded backplane).
    static func start(serverID: String, port: Int = 0, dataDirectory: String, kafka: ChatDeployment?) async throws -> ChatInstance {
        var logger = Logger(label: "chat-scale-\(serverID)")
        logger.logLevel = ProcessInfo.processInfo.environment["CHAT_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        var configuration = ChatServerConfiguration()
        configuration.port = port
        configuration.dataDirectory = dataDirectory
        configuration.passwordRounds = 1000
        configuration.adminToken = TestServer.adminToken
        configuration.tokenSecret = TestServer.secret
        configuration.generatorID = Int(serverID) ?? 0
        configuration.deployment = kafka ?? ChatDeployment()
        configuration.deployment.serverID = Int(serverID) ?? 0
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { port in portSink.yield(port) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else { throw ChatClientError.connectionClosed }
        return ChatInstance(serverID: serverID, port: bound, group: group, task: task)
    }

    /// Graceful shutdown (drains the backplane), then waits until everything stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

/// A deployment on the Kafka backplane at `bootstrap` with per-test topic and group names, so
/// tests never share state on a broker.
func uniqueKafka(_ bootstrap: String, label: String) -> ChatDeployment {
    var deployment = ChatDeployment()
    deployment.kafka = bootstrap
    deployment.kafkaPrefix = "scale-\(label)-\(UUID().uuidString.prefix(8).lowercased())-"
    deployment.kafkaSessionTimeoutMilliseconds = 6000
    return deployment
}

/// The admin config API of one instance.
struct ConfigAdmin {
    let client: ChatClient

    init(port: Int) { client = ChatClient(host: "127.0.0.1", port: port) }

    private var headers: HTTPHeaders { HTTPHeaders([("Authorization", "Bearer \(TestServer.adminToken)"), ("Content-Type", "application/json")]) }

    func elements() async throws -> [ConfigElement] {
        let response = try await client.send(.GET, "/api/config", headers: headers, body: nil, authorized: false)
        return try JSONDecoder().decode(ConfigResponse.self, from: Data(response.body.readableBytesView)).elements
    }

    /// Sets `values` (name → value) on existing elements; returns the HTTP status.
    @discardableResult
    func set(_ values: [String: String]) async throws -> Int {
        let current = try await elements()
        let changed = current.filter { values[$0.name] != nil }.map { e -> ConfigElement in
            var e = e
            e.value = values[e.name]!
            return e
        }
        let body = ByteBuffer(bytes: try JSONEncoder().encode(ConfigUpdateRequest(existingElements: changed)))
        return try await client.send(.PUT, "/api/config", headers: headers, body: body, authorized: false).status
    }
}

/// A user of the cluster: logs in anywhere, connects to the instance the session names, and
/// keeps every notification it ever received (across reconnects).
final class ClusterUser: Sendable {
    let name: String
    let id: Int64
    private let password = "password-123"
    private let entry: Int
    private let state = Mutex<(realtime: ChatRealtimeConnection?, client: ChatClient?, notifications: [Chatwire_ListenNotification], connects: Int)>((nil, nil, [], 0))

    private init(name: String, id: Int64, entry: Int) {
        self.name = name
        self.id = id
        self.entry = entry
    }

    static func register(_ name: String, entryPort: Int) async throws -> ClusterUser {
        let client = ChatClient(host: "127.0.0.1", port: entryPort)
        let request = RegistrationRequest(userName: name, password: "password-123", displayName: "User \(name)", phone: "0888123456", email: "\(name)@example.com")
        _ = try await client.register(request)
        let session = try await client.logIn(userName: name, password: "password-123")
        return ClusterUser(name: name, id: session.profile.userId, entry: entryPort)
    }

    var notifications: [Chatwire_ListenNotification] { state.withLock { $0.notifications } }
    var connects: Int { state.withLock { $0.connects } }
    var client: ChatClient? { state.withLock { $0.client } }
    var realtime: ChatRealtimeConnection? { state.withLock { $0.realtime } }

    /// The messaging address a new session names for this user (logging in through `entryPort`).
    func session(entryPort: Int? = nil) async throws -> SessionResponse {
        try await ChatClient(host: "127.0.0.1", port: entryPort ?? entry).logIn(userName: name, password: password)
    }

    /// Creates a session through `entryPorts` (the first that answers) and connects to the
    /// instance it names, retrying (bounded) while instances are restarting or still switching.
    @discardableResult
    func connect(entryPorts: [Int], attempts: Int = 100) async throws -> Int {
        var lastError: (any Error)?
        for attempt in 0..<attempts {
            for entryPort in entryPorts {
                do {
                    let session = try await ChatClient(host: "127.0.0.1", port: entryPort).logIn(userName: name, password: password)
                    guard let url = URL(string: session.messagingServerAddress), let port = url.port else { throw ChatClientError.connectionClosed }
                    let client = ChatClient(host: "127.0.0.1", port: port)
                    client.adopt(session: session)
                    let realtime = try await client.connectRealtime()
                    let old = state.withLock { s -> ChatRealtimeConnection? in
                        defer { s.realtime = realtime; s.client = client; s.connects += 1 }
                        return s.realtime
                    }
                    await old?.close()
                    Task { [self] in
                        for await n in realtime.notifications { state.withLock { $0.notifications.append(n) } }
                    }
                    return port
                } catch {
                    lastError = error
                }
            }
            try await Task.sleep(for: .milliseconds(min(500, 50 * (attempt + 1))))
        }
        throw lastError ?? ChatClientError.connectionClosed
    }

    func received(where predicate: (Chatwire_ListenNotification) -> Bool) -> [Chatwire_ListenNotification] {
        notifications.filter(predicate)
    }

    func close() async {
        await realtime?.close()
    }
}

/// Polls until `condition` holds; throws after `seconds`.
func within(_ seconds: Double, _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("timed out after \(seconds) s waiting for: \(what)")
    throw TimeoutError()
}

/// Registers users `<prefix>1`, `<prefix>2`, ... until each assignment owns one of them; returns
/// one user per assignment (user IDs come from the store, so which partition a user lands on is
/// not known in advance).
func registerOnePerOwner(_ owners: [PartitionAssignment], entryPort: Int, prefix: String) async throws -> [ClusterUser] {
    var found: [ClusterUser?] = Array(repeating: nil, count: owners.count)
    var i = 0
    while found.contains(where: { $0 == nil }) && i < 64 {
        i += 1
        let user = try await ClusterUser.register("\(prefix)\(i)", entryPort: entryPort)
        if let k = owners.indices.first(where: { found[$0] == nil && owners[$0].owns(user: user.id) }) { found[k] = user }
    }
    return try found.map { try #require($0) }
}

/// Every message ID of the chat between `a` and `b` in the shared data directory's history
/// (read from the store directly: no page limit).
func storedHistory(dir: String, _ a: Int64, _ b: Int64) async throws -> Set<Int64> {
    let store = SQLiteChatStore(db: try SQLiteDatabases(directory: dir).chats)
    return Set(try await store.history(chatID: ChatID(a, b).description, olderThan: .max, limit: 100_000).map(\.messageId))
}
