import ChatServer
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// Peers of the scale-out tests (from `.peers/peers.env`). Missing locally: the test prints why
/// and returns; in CI (`CI=true`) a missing peer fails the test.
enum ScalePeers {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The variable's value, or nil after recording a failure (CI) or printing a skip (locally).
    static func require(_ variable: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        if let value = environment[variable], !value.isEmpty { return value }
        if environment["CI"] == "true" {
            Issue.record("\(variable) is not set but CI=true: scripts/peers.sh must start the peers and .peers/peers.env must be sourced",
                         sourceLocation: sourceLocation)
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
    /// ``uniqueKafka(_:label:)``; nil: the embedded backplane) with the stores of `deployment`
    /// (embedded SQLite in `dataDirectory` for every store it leaves unset).
    static func start(serverID: String, port: Int = 0, dataDirectory: String, kafka: ChatDeployment?,
                      deployment: ChatDeployment = ChatDeployment()) async throws -> ChatInstance {
        var logger = Logger(label: "chat-scale-\(serverID)")
        logger.logLevel = ProcessInfo.processInfo.environment["CHAT_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        var configuration = ChatServerConfiguration()
        configuration.port = port
        configuration.dataDirectory = dataDirectory
        configuration.passwordRounds = 1000
        configuration.adminToken = TestServer.adminToken
        configuration.tokenSecret = TestServer.secret
        configuration.generatorID = Int(serverID) ?? 0
        configuration.deployment = deployment
        if let kafka {
            configuration.deployment.kafka = kafka.kafka
            configuration.deployment.kafkaPrefix = kafka.kafkaPrefix
            configuration.deployment.kafkaSessionTimeoutMilliseconds = kafka.kafkaSessionTimeoutMilliseconds
        }
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

    /// The HTTP status of `GET path` on this instance (-1 when it does not answer).
    func status(_ path: String) async -> Int {
        let client = ChatClient(host: "127.0.0.1", port: port)
        defer { Task { await client.close() } }
        do { return try await client.send(.GET, path, headers: HTTPHeaders(), body: nil, authorized: false).status } catch { return -1 }
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

/// Two chat-server instances on one Kafka backplane, sharing one data directory (SQLite in WAL
/// mode serves several processes' connections) and the stores of one deployment. Server 0 owns
/// partitions 0-5 and server 1 owns 6-11 of the messages topic; history pages hold 128 messages.
/// The setup of every scale-out and fault test.
final class TwoInstances: Sendable {
    /// Each server's half of the 12 partitions.
    static let halves = [PartitionAssignment(partitionCount: 12, owned: Set(0...5)), PartitionAssignment(partitionCount: 12, owned: Set(6...11))]

    let dataDirectory: String
    let kafka: ChatDeployment
    let deployment: ChatDeployment
    private let state: Mutex<(instances: [ChatInstance], users: [ClusterUser])>

    private init(dataDirectory: String, kafka: ChatDeployment, deployment: ChatDeployment, instances: [ChatInstance]) {
        self.dataDirectory = dataDirectory
        self.kafka = kafka
        self.deployment = deployment
        self.state = Mutex((instances, []))
    }

    var instances: [ChatInstance] { state.withLock { $0.instances } }
    var i0: ChatInstance { instances[0] }
    var i1: ChatInstance { instances[1] }
    /// The ports clients log in through.
    var entryPorts: [Int] { instances.map(\.port) }
    /// The admin config API (through instance 0).
    var admin: ConfigAdmin { ConfigAdmin(port: i0.port) }
    /// Every user registered through ``registerPairs(_:prefix:)``.
    var users: [ClusterUser] { state.withLock { $0.users } }

    /// Starts both instances, splits the partitions between them, runs `body`, then closes every
    /// user's connection and stops both instances (also when `body` throws).
    static func run<T>(kafka: ChatDeployment, deployment: ChatDeployment = ChatDeployment(),
                       _ body: (TwoInstances) async throws -> T) async throws -> T {
        let dir = TestServer.temporaryDirectory()
        let i0 = try await ChatInstance.start(serverID: "0", dataDirectory: dir, kafka: kafka, deployment: deployment)
        let i1: ChatInstance
        do { i1 = try await ChatInstance.start(serverID: "1", dataDirectory: dir, kafka: kafka, deployment: deployment) } catch {
            try? await i0.stop()
            throw error
        }
        let cluster = TwoInstances(dataDirectory: dir, kafka: kafka, deployment: deployment, instances: [i0, i1])
        let result: T
        do {
            // The change reaches instance 1 over the config-changes topic.
            let status = try await cluster.admin.set([
                "partitioning.partitions": "0=0-5;1=6-11",
                "partitioning.addresses": "0=\(i0.address);1=\(i1.address)",
                "history.message-count": "128",
            ])
            #expect(status == 200)
            result = try await body(cluster)
        } catch {
            await cluster.shutDown()
            throw error
        }
        for user in cluster.users { await user.close() }
        for instance in cluster.instances.reversed() { try await instance.stop() }
        return result
    }

    private func shutDown() async {
        for user in users { await user.close() }
        for instance in instances.reversed() { try? await instance.stop() }
    }

    /// Registers `count` pairs, each one user owned by server 0 and one by server 1, and waits
    /// until instance 1 applied the partitioning (it names itself for its user).
    func registerPairs(_ count: Int, prefix: String) async throws -> [(ClusterUser, ClusterUser)] {
        var pairs: [(ClusterUser, ClusterUser)] = []
        for k in 0..<count {
            let pair = try await registerOnePerOwner(Self.halves, entryPort: i0.port, prefix: "\(prefix)\(k)x")
            pairs.append((pair[0], pair[1]))
            state.withLock { $0.users += pair }
        }
        let (i1, user) = (self.i1, pairs[0].1)
        try await within(20, "instance 1 applies the partitioning") {
            try await user.session(entryPort: i1.port).messagingServerAddress == i1.address
        }
        return pairs
    }

    /// Stops instance `index` (its clients are cut off), waits `downtime`, and starts it again
    /// on the same port and data.
    func restart(_ index: Int, downtime: Duration = .seconds(1)) async throws {
        let old = instances[index]
        try await old.stop()
        try await Task.sleep(for: downtime)
        let fresh = try await ChatInstance.start(serverID: old.serverID, port: old.port, dataDirectory: dataDirectory, kafka: kafka, deployment: deployment)
        state.withLock { $0.instances[index] = fresh }
    }
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
