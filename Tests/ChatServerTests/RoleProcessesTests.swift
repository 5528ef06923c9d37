import ChatServer
import ChatWire
import Foundation
import Testing

/// Issue 9, roles as separate OS processes: `scripts/chat-roles.sh` starts the one chat-server
/// binary six times (config, idgen, user, chats, messaging, bff) on the Kafka backplane and the
/// peers' PostgreSQL, CQL node and Redis; a user flow then crosses every process boundary.
@Suite(.serialized, .timeLimit(.minutes(4))) struct RoleProcessesTests {
    @Test func oneProcessPerRoleRunsTheChatFlow() async throws {
        guard PeerEnvironment.requireAll(), ScalePeers.require("WIRESTACK_KAFKA_TANSU") != nil else { return }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/chat-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "chat-server is built with the tests (swift build --build-tests)")
        let base = try #require(Self.freePortBlock(), "no free block of 24 loopback ports below the ephemeral range")
        let environment = ["CHAT_ROLES_PORT": String(base), "CHAT_ROLES_DIR": TestServer.temporaryDirectory(), "CHAT_SERVER_BIN": binary,
                           "CHAT_ADMIN_TOKEN": TestServer.adminToken]
        let started = try await faultScript("chat-roles.sh", "start", environment: environment)
        var failure: (any Error)?
        do {
            let (bff, messagingHTTP, messagingGRPC) = (base, base + 1, base + 2)
            #expect(try await faultScript("chat-roles.sh", "status", environment: environment).components(separatedBy: ": up").count == 7, "\(started)")
            // Each backend process serves only its operational routes and internal contracts.
            #expect(await status { try await ChatClient(host: "127.0.0.1", port: base + 12).logIn(userName: "nobody", password: "password-123") } == 404)

            // Registration and login (bff -> user process); the session names the messaging process.
            let alice = try await TestUser.make("procalice", port: bff)
            let bobby = try await TestUser.make("procbobby", port: bff)
            #expect(alice.session.messagingServerAddress == "http://127.0.0.1:\(messagingHTTP)")
            let aRT = try await alice.client.connectRealtimeGRPC(port: messagingGRPC)
            let aInbox = Inbox(aRT)
            let bRT = try await bobby.client.connectRealtimeGRPC(port: messagingGRPC)
            let bInbox = Inbox(bRT)

            // Befriending (bff -> user process; notifications over the backplane to messaging).
            let invited = try await alice.client.invite(bobby.id)
            #expect(try await bInbox.next("bobby: pending connection") { $0.type == .connection }.connection.status == .pending)
            _ = try await bobby.client.approve(alice.id, version: invited)
            #expect(try await aInbox.next("alice: connected") { $0.type == .connection && $0.connection.status == .connected }.senderID == bobby.id)

            // A message: its ID from the idgen process (generator 1), delivered by messaging, written
            // to history by the chats process, read back through the bff.
            let id = try await aRT.sendPlainText(to: bobby.id, text: "hello across processes")
            #expect(Snowflake.generator(of: id) == 1)
            #expect(try await aInbox.next("alice: processed") { $0.type == .deliveryStatus && $0.messageID == id }.status == .processed)
            #expect(try await bInbox.next("bobby: message") { $0.type == .plainText && $0.messageID == id }.plainText.text == "hello across processes")
            try await eventually(30) { try await bobby.client.history(with: alice.id).first?.messageId == id }
            try await eventually(30) { try await alice.client.userChats().map(\.newestMessage) == [id] }
            await aRT.close()
            await bRT.close()
        } catch {
            failure = error
        }
        _ = try await faultScript("chat-roles.sh", "stop", environment: environment)
        #expect(try await faultScript("chat-roles.sh", "status", environment: environment).contains("not running"))
        if let failure { throw failure }
    }

    /// A base port P below Linux's ephemeral range (32768+) with P...P+23 all free on loopback
    /// (the script's ports are offsets of P).
    static func freePortBlock() -> Int? {
        for _ in 0..<50 {
            let base = 20_000 + Int.random(in: 0..<250) * 50
            if (base..<base + 24).allSatisfy(isFree) { return base }
        }
        return nil
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
