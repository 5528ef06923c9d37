import ChatServer
import ChatWire
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs a real chat server on a free loopback port with a fresh (or given) data directory.
///
/// With `CHAT_TEST_DEPLOYMENT=distributed` every server runs on the distributed adapters
/// (PostgreSQL, the CQL node, Redis; a database, keyspace and key prefix unique to the data
/// directory), so the whole end-to-end suite runs again against the real peers.
enum TestServer {
    /// Which adapters the suite's servers use.
    static var isDistributed: Bool { PeerEnvironment.environment["CHAT_TEST_DEPLOYMENT"] == "distributed" }

    struct MissingPeers: Error, CustomStringConvertible {
        var description: String { "CHAT_TEST_DEPLOYMENT=distributed needs WIRESTACK_PG_HOST, WIRESTACK_CQL_NODE and WIRESTACK_REDIS_URL" }
    }

    /// The deployment of a server using `dataDirectory`.
    static func deployment(for dataDirectory: String) throws -> ChatDeployment {
        guard isDistributed else { return ChatDeployment() }
        guard let deployment = PeerEnvironment.deployment(for: dataDirectory) else { throw MissingPeers() }
        return deployment
    }

    /// Opens the chat store a server on `dataDirectory` wrote to (SQLite or Cassandra).
    static func withChatStore<T: Sendable>(dataDirectory: String, _ body: (any ChatStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "chat-test")
        logger.logLevel = .warning
        let adapters = try await AdapterSet.make(deployment: try deployment(for: dataDirectory), dataDirectory: dataDirectory, synchronousFull: false,
                                                 configDefaults: [:], logger: logger)
        let group = ServiceGroup(services: adapters.services, gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            let result = try await body(adapters.chats)
            await group.triggerGracefulShutdown()
            return result
        }
    }

    static let adminToken = "test-admin-token"
    static let secret = Array("test-secret-test-secret-test-secret!".utf8)

    static func temporaryDirectory() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chat-test-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func run(dataDirectory: String? = nil, tokenLifetime: Int64 = 1800, deployment: ChatDeployment? = nil,
                    _ body: @Sendable (Int) async throws -> Void) async throws {
        var logger = Logger(label: "chat-test")
        logger.logLevel = .warning
        var configuration = ChatServerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = dataDirectory ?? temporaryDirectory()
        configuration.deployment = try deployment ?? Self.deployment(for: configuration.dataDirectory)
        configuration.generatorID = configuration.deployment.serverID & 0xFF
        configuration.passwordRounds = 1000
        configuration.adminToken = adminToken
        configuration.tokenSecret = secret
        configuration.tokenLifetimeSeconds = tokenLifetime
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { port in portSink.yield(port) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw ChatClientError.connectionClosed }
            var failure: (any Error)?
            do { try await body(port) } catch { failure = error }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            if let failure { throw failure }
        }
    }
}

/// A registered, logged-in test user.
struct TestUser {
    let client: ChatClient
    let session: SessionResponse
    var id: Int64 { session.profile.userId }

    static func make(_ name: String, port: Int, password: String = "password-123") async throws -> TestUser {
        let client = ChatClient(host: "127.0.0.1", port: port)
        try await client.register(RegistrationRequest(userName: name, password: password, displayName: "User \(name)", phone: "0888123456", email: "\(name)@example.com"))
        let session = try await client.logIn(userName: name, password: password)
        return TestUser(client: client, session: session)
    }

    /// Another device of the same user (a new session).
    func newDevice(port: Int, password: String = "password-123") async throws -> TestUser {
        let client = ChatClient(host: "127.0.0.1", port: port)
        let session = try await client.logIn(userName: session.profile.userName, password: password)
        return TestUser(client: client, session: session)
    }
}

/// Collects a real-time connection's notifications so tests can wait for specific ones.
final class Inbox: Sendable {
    let realtime: any ChatRealtime
    private let items = Mutex<[Chatwire_ListenNotification]>([])

    init(_ realtime: any ChatRealtime) {
        self.realtime = realtime
        Task { [self] in
            for await n in realtime.notifications { self.items.withLock { $0.append(n) } }
        }
    }

    /// Takes the first notification matching `predicate`, waiting up to `seconds`.
    func take(within seconds: Double = 10, where predicate: @Sendable (Chatwire_ListenNotification) -> Bool) async throws -> Chatwire_ListenNotification {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            let found = items.withLock { items -> Chatwire_ListenNotification? in
                guard let i = items.firstIndex(where: predicate) else { return nil }
                return items.remove(at: i)
            }
            if let found { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TimeoutError()
    }

    /// Notifications received so far matching `predicate` (not consumed).
    func count(where predicate: (Chatwire_ListenNotification) -> Bool) -> Int {
        items.withLock { $0.filter(predicate).count }
    }
}

struct TimeoutError: Error {}

/// Polls until `condition` holds (fails after `seconds`).
func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimeoutError()
}

/// The HTTP status of a failed call, or nil if it succeeded.
func status<T>(_ call: () async throws -> T) async -> Int? {
    do {
        _ = try await call()
        return nil
    } catch let ChatClientError.http(status, _) {
        return status
    } catch {
        return -1
    }
}
