import ChatServer
import ChatWire
import Foundation
import Logging
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// One chat-server instance running some roles, on loopback in this test process, with its own
/// HTTP port and (when the deployment sets one) internal gRPC port. Instances reach each other's
/// roles over GRPCWire exactly as separate `chat-server` processes do.
final class RoleInstance: Sendable {
    let port: Int
    let internalPort: Int?
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    private let stopped = Atomic(false)

    private init(port: Int, internalPort: Int?, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.internalPort = internalPort
        self.group = group
        self.task = task
    }

    var address: String { "http://127.0.0.1:\(port)" }
    var internalAddress: String { "127.0.0.1:\(internalPort ?? 0)" }

    static func start(_ deployment: ChatDeployment, dataDirectory: String, generatorID: Int) async throws -> RoleInstance {
        var logger = Logger(label: "chat-roles-\(deployment.roles.joined(separator: "+"))")
        logger.logLevel = ProcessInfo.processInfo.environment["CHAT_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        var configuration = ChatServerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = dataDirectory
        configuration.deployment = deployment
        configuration.generatorID = generatorID
        configuration.passwordRounds = 1000
        configuration.adminToken = TestServer.adminToken
        configuration.tokenSecret = TestServer.secret
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let (internalPorts, internalSink) = AsyncStream<Int>.makeStream()
        configuration.onInternalGRPCServerRunning = { internalSink.yield($0) }
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { portSink.yield($0) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else { throw ChatClientError.connectionClosed }
        var internalPort: Int?
        if deployment.internalGRPCPort != nil {
            var internalIterator = internalPorts.makeAsyncIterator()
            internalPort = await internalIterator.next()
        }
        return RoleInstance(port: bound, internalPort: internalPort, group: group, task: task)
    }

    /// Graceful shutdown, then waits until everything stopped (once; later calls return at once).
    func stop() async throws {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

extension Inbox {
    /// Takes the first notification matching `predicate`; a timeout fails naming `what`.
    func next(_ what: String, within seconds: Double = 20, where predicate: @Sendable (Chatwire_ListenNotification) -> Bool) async throws -> Chatwire_ListenNotification {
        do {
            return try await take(within: seconds, where: predicate)
        } catch {
            Issue.record("no notification within \(seconds) s: \(what)")
            throw error
        }
    }
}

/// A slot for an instance started inside a test body (stopped afterwards).
final class InstanceSlot: Sendable {
    private let slot = Mutex<RoleInstance?>(nil)
    var instance: RoleInstance? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}

/// Runs `body`, then stops `instances()` (in reverse order) whether or not it failed.
private func stopping(_ instances: @Sendable () -> [RoleInstance], _ body: () async throws -> Void) async throws {
    var failure: (any Error)?
    do { try await body() } catch { failure = error }
    for instance in instances().reversed() { try? await instance.stop() }
    if let failure { throw failure }
}

/// Issue 9, services as separate processes: one binary runs any subset of the roles; roles in
/// different instances call each other over GRPCWire with the internal contracts, deadlines,
/// retries and a circuit breaker. With `CHAT_TEST_DEPLOYMENT=distributed` the stores are the real
/// PostgreSQL, CQL node and Redis as in the rest of the suite.
@Suite(.serialized, .timeLimit(.minutes(4))) struct RolesTests {
    /// The deployment of an instance on `dataDirectory` running `roles`.
    private func deployment(_ roles: [ChatRole], dataDirectory: String) throws -> ChatDeployment {
        var deployment = try TestServer.deployment(for: dataDirectory)
        deployment.roles = roles.map(\.rawValue)
        deployment.breakerThreshold = 2
        deployment.breakerCoolDownMilliseconds = 300
        return deployment
    }

    /// bff+messaging in one instance, idgen+user+chats+config in another, the backplane on
    /// Kafka: registration, login, befriending, send/receive with acknowledgements, history
    /// paging and a dynamic config change, all across the internal gRPC contracts.
    @Test func splitDeploymentRunsTheWholeFlow() async throws {
        guard let bootstrap = ScalePeers.require("WIRESTACK_KAFKA_TANSU") else { return }
        let kafka = uniqueKafka(bootstrap, label: "roles")
        let (dirA, dirB) = (TestServer.temporaryDirectory(), TestServer.temporaryDirectory())
        var backend = try deployment([.idgen, .user, .chats, .config], dataDirectory: dirB)
        backend.kafka = kafka.kafka
        backend.kafkaPrefix = kafka.kafkaPrefix
        backend.kafkaSessionTimeoutMilliseconds = kafka.kafkaSessionTimeoutMilliseconds
        backend.internalGRPCPort = 0
        let b = try await RoleInstance.start(backend, dataDirectory: dirB, generatorID: 3)
        var front = try deployment([.bff, .messaging], dataDirectory: dirA)
        front.kafka = backend.kafka
        front.kafkaPrefix = backend.kafkaPrefix
        front.kafkaSessionTimeoutMilliseconds = backend.kafkaSessionTimeoutMilliseconds
        front.idgenAddress = b.internalAddress
        front.userAddress = b.internalAddress
        front.chatsAddress = b.internalAddress
        front.configAddress = b.internalAddress
        let started = try await RoleInstance.start(front, dataDirectory: dirA, generatorID: 7)
        let a = started
        try await stopping({ [b, started] }) {
            // The BFF has no HTTP API for the roles it does not run... and the backend no BFF.
            #expect(await status { try await ChatClient(host: "127.0.0.1", port: b.port).logIn(userName: "nobody", password: "password-123") } == 404)

            // Dynamic config through the BFF's admin API, stored by the config role.
            let admin = ConfigAdmin(port: a.port)
            #expect(try await admin.set(["partitioning.addresses": "0=\(a.address)"]) == 200)
            #expect(try await admin.elements().first { $0.name == "partitioning.addresses" }?.value == "0=\(a.address)")

            // Registration and login (user role), befriending (user role + backplane notifications).
            let alice = try await TestUser.make("alice", port: a.port)
            let bobby = try await TestUser.make("bobby", port: a.port)
            #expect(alice.session.messagingServerAddress == a.address)
            #expect(await status { try await alice.client.logIn(userName: "alice", password: "wrong-password") } == 401)
            let aRT = try await alice.client.connectRealtime()
            let aInbox = Inbox(aRT)
            let bRT = try await bobby.client.connectRealtime()
            let bInbox = Inbox(bRT)
            let invited = try await alice.client.invite(bobby.id)
            #expect(try await bInbox.next("bobby: pending connection") { $0.type == .connection }.connection.status == .pending)
            _ = try await bobby.client.approve(alice.id, version: invited)
            #expect(try await aInbox.next("alice: connected") { $0.type == .connection && $0.connection.status == .connected }.senderID == bobby.id)
            #expect(try await alice.client.connections().map(\.status) == [.connected])
            #expect(try await bobby.client.profile(of: alice.id).userName == "alice")

            // Send and receive with acknowledgements; the IDs come from the idgen role (generator 3).
            let first = try await aRT.sendPlainText(to: bobby.id, text: "hello across roles")
            #expect(Snowflake.generator(of: first) == 3)
            #expect(try await aInbox.next("alice: processed") { $0.type == .deliveryStatus && $0.messageID == first }.status == .processed)
            #expect(try await bInbox.next("bobby: first message") { $0.type == .plainText && $0.messageID == first }.plainText.text == "hello across roles")
            try await bRT.acknowledge(messageID: first, senderID: alice.id, status: .delivered)
            #expect(try await aInbox.next("alice: delivered receipt") { $0.type == .deliveryStatus && $0.status == .delivered }.messageID == first)

            // History paging (chats role, written from the backplane), then a page-size change.
            var ids = [first]
            for i in 1..<40 { ids.append(try await aRT.sendPlainText(to: bobby.id, text: "message \(i)")) }
            for id in ids.dropFirst() { _ = try await aInbox.next("alice: processed \(id)") { $0.type == .deliveryStatus && $0.messageID == id } }
            #expect(ids == ids.sorted())
            try await eventually(30) { try await alice.client.history(with: bobby.id).first?.messageId == ids.last }
            let page = try await alice.client.history(with: bobby.id)
            #expect(page.map(\.messageId) == Array(ids.reversed().prefix(32)))
            #expect(try await admin.set(["history.message-count": "16"]) == 200)
            let small = try await alice.client.history(with: bobby.id)
            #expect(small.map(\.messageId) == Array(ids.reversed().prefix(16)))
            let bound = ChatTimestamp(microseconds: Snowflake.unixMilliseconds(of: small.last!.messageId) * 1000)
            let next = try await alice.client.history(with: bobby.id, olderThan: bound)
            // Older than the bound's millisecond: exactly the next 16 of those, newest first.
            let older = ids.reversed().filter { Snowflake.unixMilliseconds(of: $0) < Snowflake.unixMilliseconds(of: small.last!.messageId) }
            #expect(next.map(\.messageId) == Array(older.prefix(16)))
            try await eventually(20) { try await bobby.client.userChats().map(\.newestMessage) == [ids.last!] }
            await aRT.close()
            await bRT.close()
        }
    }

    /// With the user role in its own instance: stopping it opens the BFF's circuit breaker, so
    /// calls fail fast with the typed error as 503 (and `/readyz` says not ready); once the role
    /// is back, the half-open probe closes the breaker and calls succeed again.
    @Test func circuitBreakerOpensWhileTheUserRoleIsDownAndClosesWhenItIsBack() async throws {
        let (dirA, dirU) = (TestServer.temporaryDirectory(), TestServer.temporaryDirectory())
        var userRole = try deployment([.user], dataDirectory: dirU)
        userRole.internalGRPCPort = 0
        let firstU = try await RoleInstance.start(userRole, dataDirectory: dirU, generatorID: 1)
        var u = firstU
        let internalPort = try #require(u.internalPort)
        var front = try deployment([.bff, .messaging, .idgen, .chats, .config], dataDirectory: dirA)
        front.userAddress = u.internalAddress
        let a = try await RoleInstance.start(front, dataDirectory: dirA, generatorID: 2)
        let restarted = InstanceSlot()
        try await stopping({ [firstU, a] + (restarted.instance.map { [$0] } ?? []) }) {
            let alice = try await TestUser.make("alice", port: a.port)
            let client = ChatClient(host: "127.0.0.1", port: a.port)
            #expect(try await client.logIn(userName: "alice", password: "password-123").profile.userId == alice.id)

            try await u.stop()
            // The first login after the stop retries, fails and opens the breaker; the next ones fail fast.
            var problems: [ProblemDetails] = []
            for _ in 0..<3 {
                do {
                    _ = try await client.logIn(userName: "alice", password: "password-123")
                    Issue.record("login succeeded while the user role was down")
                } catch let ChatClientError.http(code, problem) {
                    #expect(code == 503)
                    if let problem { problems.append(problem) }
                }
            }
            #expect(problems.count == 3)
            #expect(problems.allSatisfy { $0.title == "Service unavailable" && ($0.detail ?? "").contains("the user role at \(u.internalAddress)") })
            #expect(problems.last?.detail?.contains("circuit breaker is open") == true)
            let ready = try await client.send(.GET, "/readyz", headers: [:], body: nil, authorized: false)
            #expect(ready.status == 503)
            // The real-time path does not need the user role: it keeps working.
            let aRT = try await alice.client.connectRealtime()
            let aInbox = Inbox(aRT)
            let id = try await aRT.sendPlainText(to: alice.id + 1000, text: "still up")
            #expect(try await aInbox.take { $0.type == .deliveryStatus && $0.messageID == id }.status == .processed)
            await aRT.close()

            // The role comes back on the same port: the half-open probe succeeds and closes the breaker.
            userRole.internalGRPCPort = internalPort
            u = try await RoleInstance.start(userRole, dataDirectory: dirU, generatorID: 1)
            restarted.instance = u
            try await eventually(30) { await status { try await client.logIn(userName: "alice", password: "password-123") } == nil }
            #expect(try await client.logIn(userName: "alice", password: "password-123").profile.userId == alice.id)
            #expect(try await client.send(.GET, "/readyz", headers: [:], body: nil, authorized: false).status == 200)
            #expect(try await alice.client.connections().isEmpty)
        }
    }

    /// With the idgen role in its own instance: the messaging side's ID buffer keeps sending
    /// while idgen is stopped, and refills from it once it is back (fresh IDs, still increasing).
    @Test func idBufferSurvivesAnIdgenRestart() async throws {
        let (dirA, dirG) = (TestServer.temporaryDirectory(), TestServer.temporaryDirectory())
        var idgen = try deployment([.idgen], dataDirectory: dirG)
        idgen.internalGRPCPort = 0
        let firstG = try await RoleInstance.start(idgen, dataDirectory: dirG, generatorID: 5)
        var g = firstG
        let internalPort = try #require(g.internalPort)
        var front = try deployment([.bff, .messaging, .user, .chats, .config], dataDirectory: dirA)
        front.idgenAddress = g.internalAddress
        let a = try await RoleInstance.start(front, dataDirectory: dirA, generatorID: 9)
        let restarted = InstanceSlot()
        try await stopping({ [firstG, a] + (restarted.instance.map { [$0] } ?? []) }) {
            let alice = try await TestUser.make("alice", port: a.port)
            let bobby = try await TestUser.make("bobby", port: a.port)
            let aRT = try await alice.client.connectRealtime()
            let aInbox = Inbox(aRT)
            let bInbox = Inbox(try await bobby.client.connectRealtime())
            var ids: [Int64] = []
            func send(_ text: String) async throws -> Int64 {
                let id = try await aRT.sendPlainText(to: bobby.id, text: text)
                #expect(try await aInbox.take(within: 20) { $0.type == .deliveryStatus && $0.messageID == id }.status == .processed)
                #expect(try await bInbox.take(within: 20) { $0.type == .plainText && $0.messageID == id }.plainText.text == text)
                ids.append(id)
                return id
            }
            #expect(Snowflake.generator(of: try await send("before")) == 5)

            try await g.stop()
            let stoppedAt = ChatTimestamp.now().microseconds / 1000
            for i in 0..<10 { _ = try await send("while idgen is down \(i)") }
            // Those came from the buffer: generated before idgen stopped.
            #expect(ids.allSatisfy { Snowflake.unixMilliseconds(of: $0) <= stoppedAt })

            idgen.internalGRPCPort = internalPort
            let restartAt = ChatTimestamp.now().microseconds / 1000
            g = try await RoleInstance.start(idgen, dataDirectory: dirG, generatorID: 5)
            restarted.instance = g
            // The background refill reaches the restarted idgen: new IDs are fresh ones from it.
            try await eventually(30) {
                try await Task.sleep(for: .milliseconds(100)) // bounded: at most ~300 sends from the buffer
                let id = try await send("after the restart")
                return Snowflake.unixMilliseconds(of: id) >= restartAt && Snowflake.generator(of: id) == 5
            }
            #expect(ids == ids.sorted())
            #expect(Set(ids).count == ids.count)
            try await eventually(20) { try await alice.client.history(with: bobby.id).first?.messageId == ids.last }
            await aRT.close()
        }
    }
}
