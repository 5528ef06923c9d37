import ChatServer
import ChatWire
import Testing

/// The send → Processed → delivery → Delivered/Seen receipt sequence (flows 3–5 with receipts and
/// multi-device), over whatever transports the devices use: both front ends implement
/// ``ChatRealtime`` and share one registry, so one sequence serves the WebSocket and the gRPC
/// suites alike.
///
/// `sender` sends `text` to `receiver`; then: the Processed acknowledgement reaches the sending
/// device and the sender's other device, which also sees the message itself (the sending device
/// does not); every receiver device gets the message; the first receiver device acknowledges
/// Delivered, then Seen, and the sender's devices hear both; the sender's chat state reflects
/// them. Returns the message ID.
@discardableResult
func checkSendDeliverAndReceipts(text: String, from sender: TestUser, sendingDevice: Inbox, otherDevice: Inbox,
                                 to receiver: TestUser, receiverDevices: [Inbox]) async throws -> Int64 {
    let id = try await sendingDevice.realtime.sendPlainText(to: receiver.id, text: text)
    #expect(Snowflake.unixMilliseconds(of: id) <= ChatTimestamp.now().microseconds / 1000)
    #expect(try await sendingDevice.take { $0.type == .deliveryStatus && $0.messageID == id }.status == .processed)
    _ = try await otherDevice.take { $0.type == .deliveryStatus && $0.messageID == id && $0.status == .processed }
    // The sender's other device sees the message itself; the sending device does not.
    #expect(try await otherDevice.take { $0.type == .plainText && $0.messageID == id }.plainText.text == text)
    for inbox in receiverDevices {
        let n = try await inbox.take { $0.type == .plainText && $0.messageID == id }
        #expect(n.senderID == sender.id && n.receiverID == receiver.id && n.plainText.text == text)
    }
    #expect(sendingDevice.count { $0.type == .plainText && $0.messageID == id } == 0)

    // Receipts: a receiver device acknowledges Delivered, then Seen; the sender's devices hear it.
    let acknowledging = try #require(receiverDevices.first).realtime
    try await acknowledging.acknowledge(messageID: id, senderID: sender.id, status: .delivered)
    #expect(try await sendingDevice.take { $0.type == .deliveryStatus && $0.status == .delivered }.messageID == id)
    _ = try await otherDevice.take { $0.type == .deliveryStatus && $0.status == .delivered && $0.messageID == id }
    try await acknowledging.acknowledge(messageID: id, senderID: sender.id, status: .seen)
    #expect(try await sendingDevice.take { $0.type == .deliveryStatus && $0.status == .seen }.messageID == id)

    // Chat state reflects the receipts on the sender's side.
    let chatID = ChatID(sender.id, receiver.id).description
    try await eventually {
        let chats = try await sender.client.userChats()
        return chats.first { $0.chatId == chatID }.map { $0.newestMessage == id && $0.otherUserDelivered == id && $0.otherUserSeen == id } ?? false
    }
    return id
}
