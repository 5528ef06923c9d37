import ChatWire
import Testing

/// The code of ChatWire.docc/GettingStarted.md, run against a real server.
@Suite struct GettingStartedTests {
    @Test func gettingStartedArticle() async throws {
        try await TestServer.run { port in
            let alice = ChatClient(host: "127.0.0.1", port: port)
            try await alice.register(RegistrationRequest(
                userName: "alice", password: "correct-horse", displayName: "Alice",
                phone: "0888123456", email: "alice@example.com"))
            let aliceSession = try await alice.logIn(userName: "alice", password: "correct-horse")

            let bob = ChatClient(host: "127.0.0.1", port: port)
            try await bob.register(RegistrationRequest(
                userName: "bobby", password: "battery-staple", displayName: "Bobby",
                phone: "0888654321", email: "bob@example.com"))
            let bobSession = try await bob.logIn(userName: "bobby", password: "battery-staple")

            // Befriend: Alice invites, Bob approves with the version he was given.
            let invitation = try await alice.invite(bobSession.profile.userId)
            _ = try await bob.approve(aliceSession.profile.userId, version: invitation)

            // Chat.
            let aliceLive = try await alice.connectRealtime()
            let bobLive = try await bob.connectRealtime()
            let messageID = try await aliceLive.sendPlainText(to: bobSession.profile.userId, text: "Hi Bob!")
            var received = ""
            for await notification in bobLive.notifications where notification.type == .plainText {
                received = notification.plainText.text
                try await bobLive.acknowledge(messageID: notification.messageID,
                                              senderID: notification.senderID, status: .seen)
                break
            }
            #expect(received == "Hi Bob!")

            // Later: history, newest first.
            try await eventually { try await alice.history(with: bobSession.profile.userId).first?.messageId == messageID }
        }
    }
}
