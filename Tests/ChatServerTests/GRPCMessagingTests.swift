import ChatServer
import ChatWire
import Foundation
import GRPCWire
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Runs a real chat server with its gRPC listener on free loopback ports (on the embedded default
/// unless a `deployment` is given).
enum GRPCTestServer {
    static func run(maxConnections: Int? = nil, deployment: ChatDeployment? = nil, dataDirectory: String? = nil,
                    _ body: @Sendable (_ port: Int, _ grpcPort: Int) async throws -> Void) async throws {
        var logger = Logger(label: "chat-grpc-test")
        logger.logLevel = .warning
        var configuration = ChatServerConfiguration()
        configuration.port = 0
        configuration.grpcPort = 0
        configuration.dataDirectory = dataDirectory ?? TestServer.temporaryDirectory()
        if let deployment { configuration.deployment = deployment }
        configuration.passwordRounds = 1000
        configuration.adminToken = TestServer.adminToken
        configuration.tokenSecret = TestServer.secret
        configuration.maxConnections = maxConnections
        let (grpcPorts, grpcSink) = AsyncStream<Int>.makeStream()
        configuration.onGRPCServerRunning = { port in grpcSink.yield(port) }
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { port in portSink.yield(port) }
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var portIterator = ports.makeAsyncIterator()
            var grpcIterator = grpcPorts.makeAsyncIterator()
            guard let port = await portIterator.next(), let grpcPort = await grpcIterator.next() else { throw ChatClientError.connectionClosed }
            var failure: (any Error)?
            do { try await body(port, grpcPort) } catch { failure = error }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            if let failure { throw failure }
        }
    }
}

/// The real-time flows over gRPC (`chatwire.Messaging` on GRPCWire), mixed with WebSocket devices:
/// both front ends share one registry, so fan-out, acks and receipts cross between them.
@Suite(.serialized, .timeLimit(.minutes(3))) struct GRPCMessagingTests {
    /// Flows 3–5 and receipts, multi-device: send over gRPC, Processed ack to every sender device,
    /// delivery to every receiver device (gRPC and WebSocket), the sending stream skipped,
    /// Delivered/Seen receipts end to end and in chat state, history.
    @Test func sendDeliverAcknowledgeOverGRPC() async throws {
        try await GRPCTestServer.run { port, grpcPort in
            let a = try await TestUser.make("alice", port: port)
            let a2 = try await a.newDevice(port: port)
            let b = try await TestUser.make("bobby", port: port)
            let b2 = try await b.newDevice(port: port)
            let aRT = try await a.client.connectRealtimeGRPC(port: grpcPort)
            #expect(aRT.connectionID.hasPrefix("grpc-"))
            let aInbox = Inbox(aRT)
            let a2Inbox = Inbox(try await a2.client.connectRealtime(over: .webSocket))
            let bRT = try await b.client.connectRealtime(over: .grpc(port: grpcPort))
            let bInbox = Inbox(bRT)
            let b2Inbox = Inbox(try await b2.client.connectRealtimeGRPC(port: grpcPort))

            #expect(a.session.messagingGrpcAddress == "127.0.0.1:\(grpcPort)")
            let text = "hello \"bob\" over gRPC \u{1F44B}"
            try await checkSendDeliverAndReceipts(text: text, from: a, sendingDevice: aInbox, otherDevice: a2Inbox, to: b, receiverDevices: [bInbox, b2Inbox])
            try await eventually { try await b.client.history(with: a.id).first?.text == text }

            // A WebSocket sender reaches the gRPC receivers and the sender's gRPC device, and its
            // Processed ack reaches the sender's gRPC device.
            let wsID = try await a2Inbox.realtime.sendPlainText(to: b.id, text: "from the browser")
            _ = try await bInbox.take { $0.type == .plainText && $0.messageID == wsID }
            _ = try await b2Inbox.take { $0.type == .plainText && $0.messageID == wsID }
            #expect(try await aInbox.take { $0.type == .plainText && $0.messageID == wsID }.plainText.text == "from the browser")
            _ = try await aInbox.take { $0.type == .deliveryStatus && $0.messageID == wsID && $0.status == .processed }
            for realtime in [aInbox.realtime, a2Inbox.realtime, bInbox.realtime, b2Inbox.realtime] { await realtime.close() }
        }
    }

    /// Flows 7 and 9 over gRPC: reactions (participants only, validated) and a file message.
    @Test func reactionsAndFilesOverGRPC() async throws {
        try await GRPCTestServer.run { port, grpcPort in
            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let c = try await TestUser.make("carla", port: port)
            let aRT = try await a.client.connectRealtimeGRPC(port: grpcPort)
            let aInbox = Inbox(aRT)
            let bRT = try await b.client.connectRealtimeGRPC(port: grpcPort)
            let bInbox = Inbox(bRT)
            let cRT = try await c.client.connectRealtimeGRPC(port: grpcPort)
            let id = try await aRT.sendPlainText(to: b.id, text: "react to me")
            _ = try await bInbox.take { $0.messageID == id && $0.type == .plainText }

            try await bRT.react(messageID: id, senderID: a.id, receiverID: b.id, reaction: "👍")
            let reaction = try await aInbox.take { $0.type == .reaction }
            #expect(reaction.reaction.reactorID == b.id && reaction.reaction.reaction == "👍")
            _ = try await bInbox.take { $0.type == .deliveryStatus && $0.status == .processed && $0.messageID == id }
            try await eventually { try await a.client.history(with: b.id).first?.reactions == [String(b.id): "👍"] }
            try await bRT.unreact(messageID: id, senderID: a.id, receiverID: b.id)
            #expect(try await aInbox.take { $0.type == .reaction }.reaction.reaction == "")
            try await eventually { try await a.client.history(with: b.id).first?.reactions.isEmpty == true }

            do {
                try await cRT.react(messageID: id, senderID: a.id, receiverID: b.id, reaction: "👎")
                Issue.record("a non-participant reacted")
            } catch let ChatClientError.rejected(code, _, _) {
                #expect(code == 403)
            }
            do {
                _ = try await aRT.sendPlainText(to: b.id, text: String(repeating: "x", count: 129))
                Issue.record("an oversized message was accepted")
            } catch let ChatClientError.rejected(code, message, errors) {
                #expect(code == 400)
                #expect(message.contains("validation"))
                #expect(!errors.isEmpty)
            }

            let file = try await a.client.uploadFile(named: "note.txt", bytes: Array("file body".utf8), allowedUserID: b.id)
            let fileID = try await aRT.sendFile(to: b.id, text: "see attached", bucket: file.bucket, path: file.path)
            let n = try await bInbox.take { $0.type == .file }
            #expect(n.messageID == fileID && n.file.bucket == file.bucket && n.file.path == file.path && n.file.text == "see attached")
            try await eventually { try await b.client.history(with: a.id).first?.file == FileData(bucket: file.bucket, path: file.path) }
            for realtime in [aRT, bRT, cRT] as [any ChatRealtime] { await realtime.close() }
        }
    }

    /// Flow 13's notifications reach gRPC listeners; bad and missing tokens are refused with
    /// UNAUTHENTICATED; a closed listen stream leaves the registry.
    @Test func connectionNotificationsAndAuth() async throws {
        try await GRPCTestServer.run { port, grpcPort in
            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let aInbox = Inbox(try await a.client.connectRealtimeGRPC(port: grpcPort))
            let bInbox = Inbox(try await b.client.connectRealtimeGRPC(port: grpcPort))
            let pending = try await a.client.invite(b.id)
            for inbox in [aInbox, bInbox] {
                #expect(try await inbox.take { $0.type == .connection }.connection.status == .pending)
            }
            _ = try await b.client.approve(a.id, version: pending)
            for inbox in [aInbox, bInbox] {
                _ = try await inbox.take { $0.type == .connection && $0.connection.status == .connected }
            }

            // Forged token: listen and send are refused.
            let forged = ChatClient(host: "127.0.0.1", port: port)
            var session = a.session
            session.accessToken = String(session.accessToken.dropLast(3)) + "AAA"
            forged.adopt(session: session)
            do {
                _ = try await forged.connectRealtimeGRPC(port: grpcPort)
                Issue.record("a forged token listened")
            } catch let ChatClientError.rejected(code, _, _) {
                #expect(code == 401)
            }
            // No token at all, on a raw GRPCWire client.
            let raw = GRPCClient(configuration: .init(host: "127.0.0.1", port: grpcPort), logger: Logger(label: "raw"))
            var request = Chatwire_SendPlainTextRequest()
            request.receiverID = b.id
            request.text = "anonymous"
            do {
                _ = try await raw.unary(MessagingMethods.sendPlainText, request)
                Issue.record("an anonymous send was accepted")
            } catch let error as RPCError {
                #expect(error.code == .unauthenticated)
            }
            await raw.close()

            // Closing the stream unregisters it.
            let health = try await healthOnline(port: port)
            #expect(health == 2)
            await aInbox.realtime.close()
            try await eventually { try await healthOnline(port: port) == 1 }
            await bInbox.realtime.close()
            await forged.close()
        }
    }

    /// The gRPC front end refuses users of partitions another instance owns, as the WebSocket
    /// one does: after a reassignment the user's open listen stream is told to reconnect
    /// (DISCONNECT), a new listen call and unary calls are refused with 421 (FAILED_PRECONDITION +
    /// `chat-misdirected`), and a new session names the new owner and no gRPC address here.
    @Test func refusesUsersServedElsewhere() async throws {
        try await GRPCTestServer.run { port, grpcPort in
            let admin = ConfigAdmin(port: port)
            let elsewhere = "http://127.0.0.1:1"
            let mine = PartitionAssignment(partitionCount: 12, owned: Set(0...5))
            let moving = PartitionAssignment(partitionCount: 12, owned: Set(6...11))
            let users = try await registerOnePerOwner([mine, moving], entryPort: port, prefix: "grpcmove")
            let (a, b) = (users[0], users[1])
            #expect(try await admin.set(["partitioning.addresses": "0=http://127.0.0.1:\(port);1=\(elsewhere)"]) == 200)
            // The session names this instance's gRPC listener while it serves the user.
            let bSession = try await b.session()
            #expect(bSession.messagingGrpcAddress == "127.0.0.1:\(grpcPort)")
            let bClient = ChatClient(host: "127.0.0.1", port: port)
            bClient.adopt(session: bSession)
            let bInbox = Inbox(try await bClient.connectRealtimeGRPC(port: grpcPort))

            #expect(try await admin.set(["partitioning.partitions": "0=0-5;1=6-11"]) == 200)
            _ = try await bInbox.take { $0.type == .disconnect }
            let moved = try await b.session()
            #expect(moved.messagingServerAddress == elsewhere)
            #expect(moved.messagingGrpcAddress == nil)
            #expect(try await a.session().messagingGrpcAddress == "127.0.0.1:\(grpcPort)")
            let refused = ChatClient(host: "127.0.0.1", port: port)
            refused.adopt(session: moved)
            do {
                _ = try await refused.connectRealtimeGRPC(port: grpcPort)
                Issue.record("a user served elsewhere listened over gRPC")
            } catch let ChatClientError.rejected(code, message, _) {
                #expect(code == 421)
                #expect(message.contains("new session"))
            }
            do {
                _ = try await bInbox.realtime.sendPlainText(to: a.id, text: "from the wrong instance")
                Issue.record("a user served elsewhere sent over gRPC")
            } catch let ChatClientError.rejected(code, _, _) {
                #expect(code == 421)
            }
            await bInbox.realtime.close()
            await refused.close()
            await bClient.close()
        }
    }

    /// Out of connections the server refuses instead of dying: once the connection budget is spent
    /// (at the descriptor limit the budget stands for, libdispatch would abort the process), the
    /// HTTP listener stops accepting (so does the gRPC listener: GRPCConnectionLimitTests);
    /// the connections it holds keep working, and closing one lets a waiting client in.
    @Test func refusesConnectionsBeyondTheBudget() async throws {
        try await GRPCTestServer.run(maxConnections: 4) { port, grpcPort in
            let a = try await TestUser.make("alice", port: port)
            let aInbox = Inbox(try await a.client.connectRealtimeGRPC(port: grpcPort))
            // a's HTTP and gRPC connections hold two; two more HTTP clients fill the budget.
            var holders: [ChatClient] = []
            for _ in 0..<2 {
                let holder = ChatClient(host: "127.0.0.1", port: port)
                _ = try await holder.send(.GET, "/healthz", headers: [:], body: nil, authorized: false)
                holders.append(holder)
            }
            // A new HTTP client waits: the listener does not accept it while the budget is spent.
            let waiting = ChatClient(host: "127.0.0.1", port: port)
            let wasAnswered = Atomic<Bool>(false)
            let answered = Task {
                let status = try await waiting.send(.GET, "/healthz", headers: [:], body: nil, authorized: false).status
                wasAnswered.store(true, ordering: .relaxed)
                return status
            }
            try await Task.sleep(for: .milliseconds(500))
            let answeredWhileFull = wasAnswered.load(ordering: .relaxed)
            #expect(!answeredWhileFull)
            // What the server holds keeps working: a's connections send and receive.
            _ = try await a.client.userChats()
            let id = try await aInbox.realtime.sendPlainText(to: a.id + 1, text: "still serving")
            _ = try await aInbox.take { $0.type == .deliveryStatus && $0.messageID == id }
            // Closing one connection lets the waiting client in.
            await holders.removeFirst().close()
            #expect(try await answered.value == 200)
            for holder in holders { await holder.close() }
            await waiting.close()
            await aInbox.realtime.close()
        }
    }

    func healthOnline(port: Int) async throws -> Int {
        let probe = ChatClient(host: "127.0.0.1", port: port)
        let response = try await probe.send(.GET, "/healthz", headers: [:], body: nil, authorized: false)
        await probe.close()
        let health = try JSONDecoder().decode([String: String].self, from: Data(response.body.readableBytesView))
        return health["onlineClients"].flatMap { Int($0) } ?? -1
    }
}
