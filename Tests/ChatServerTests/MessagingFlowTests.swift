import ChatServer
import ChatWire
import Testing

@Suite(.serialized) struct MessagingFlowTests {
    /// Flows 3–6, 11, 12 plus receipts and multi-device: send, Processed ack, delivery to every
    /// device of the receiver and to the sender's other devices, Delivered/Seen receipts end to end
    /// and in chat state, history and screens.
    @Test func sendDeliverAcknowledgeAndPersist() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let a2 = try await a.newDevice(port: port)
            let b = try await TestUser.make("bobby", port: port)
            let b2 = try await b.newDevice(port: port)
            #expect(a.session.clientId != a2.session.clientId)
            let aInbox = Inbox(try await a.client.connectRealtime())
            let a2Inbox = Inbox(try await a2.client.connectRealtime())
            let bInbox = Inbox(try await b.client.connectRealtime())
            let b2Inbox = Inbox(try await b2.client.connectRealtime())

            let id = try await checkSendDeliverAndReceipts(text: "hello \"bob\" \u{1F44B}", from: a, sendingDevice: aInbox, otherDevice: a2Inbox,
                                                           to: b, receiverDevices: [bInbox, b2Inbox])
            let chatID = ChatID(a.id, b.id).description
            let bChats = try await b.client.userChats()
            #expect(bChats.first?.newestMessage == id)

            // History for both participants.
            try await eventually { try await b.client.history(with: a.id).first?.messageId == id }
            let history = try await a.client.history(with: b.id)
            #expect(history.first?.text == "hello \"bob\" \u{1F44B}")
            #expect(history.first?.type == .plainText)

            // Screens.
            let screen = try await a.client.allChatsScreen()
            #expect(screen.chats.map(\.chatId) == [chatID])
            #expect(screen.profiles.map(\.userId) == [b.id])
            let one = try await b.client.oneChatScreen(with: a.id)
            #expect(one.messages.map(\.messageId) == [id])
            #expect(one.profile?.userId == a.id)
            #expect(one.connection == nil)
            let noProfile = try await b.client.oneChatScreen(with: a.id, includeProfile: false, includeConnection: false)
            #expect(noProfile.profile == nil)
        }
    }

    /// Flow 12: history pages of `history.message-count`, newest first, paged with olderThan.
    @Test func historyPaging() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let aRT = try await a.client.connectRealtime()
            let aInbox = Inbox(aRT)
            var ids: [Int64] = []
            for i in 0..<40 {
                ids.append(try await aRT.sendPlainText(to: b.id, text: "message \(i)"))
            }
            for id in ids { _ = try await aInbox.take { $0.type == .deliveryStatus && $0.messageID == id } }
            // History is written asynchronously (message by message on Cassandra): wait for the newest.
            try await eventually { try await a.client.history(with: b.id).first?.messageId == ids.last }
            let first = try await a.client.history(with: b.id)
            #expect(first.map(\.messageId) == Array(ids.reversed().prefix(32)))
            // Next page: older than the oldest shown (its millisecond).
            let oldest = first.last!.messageId
            let bound = ChatTimestamp(microseconds: Snowflake.unixMilliseconds(of: oldest) * 1000)
            let second = try await a.client.history(with: b.id, olderThan: bound)
            #expect(second.allSatisfy { $0.messageId < oldest })
            #expect(Set(first.map(\.messageId) + second.map(\.messageId)).count == first.count + second.count)
        }
    }

    /// Flow 7: react and unreact; only participants may react.
    @Test func reactions() async throws {
        try await TestServer.run { port in
            let a = try await TestUser.make("alice", port: port)
            let b = try await TestUser.make("bobby", port: port)
            let c = try await TestUser.make("carla", port: port)
            let aRT = try await a.client.connectRealtime()
            let aInbox = Inbox(aRT)
            let bRT = try await b.client.connectRealtime()
            let bInbox = Inbox(bRT)
            let cRT = try await c.client.connectRealtime()
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
                try await bRT.react(messageID: id, senderID: a.id, receiverID: b.id, reaction: "way-too-long")
                Issue.record("an invalid reaction was accepted")
            } catch let ChatClientError.rejected(code, _, _) {
                #expect(code == 400)
            }
        }
    }
}
