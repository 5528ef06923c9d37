import ChatWire
import Logging
import Metrics

/// A request refused by the messaging service; `code` follows HTTP (400, 403, 503).
public struct MessagingError: Error, Sendable {
    public var code: Int
    public var message: String
    public var errors: [String]

    var frame: Chatwire_ErrorResponse {
        var e = Chatwire_ErrorResponse()
        e.code = Int32(code)
        e.message = message
        e.errors = errors
        return e
    }

    static func validation(_ failures: [ValidationFailure]) -> MessagingError {
        MessagingError(code: 400, message: "Input validation failed.", errors: failures.map(\.description))
    }
}

/// The real-time core shared by the WebSocket and gRPC front ends: validates client actions,
/// assigns snowflake IDs, fans out to the sender's other devices, publishes to the backplane
/// (Processed/Lost back to the sender), and delivers what the backplane carries to the target
/// users' connections.
public final class MessagingService: Sendable {
    let registry: ClientRegistry
    let backplane: any Backplane
    let ids: any MessageIDSource
    let logger: Logger
    /// Which users this instance serves (nil: every user, one instance).
    public let ownership: PartitionOwnership?
    private let received: [Chatwire_MessageType: Counter]
    private let delivered: [Chatwire_MessageType: Counter]
    private let lost: Counter

    /// A service over `backplane`, pushing to the connections in `registry`.
    public init(registry: ClientRegistry, backplane: any Backplane, ids: any MessageIDSource, metrics: any MetricsFactory, logger: Logger,
                ownership: PartitionOwnership? = nil) {
        self.ownership = ownership
        self.registry = registry
        self.backplane = backplane
        self.ids = ids
        self.logger = logger
        let types: [(Chatwire_MessageType, String)] = [(.plainText, "plain_text"), (.file, "file"), (.reaction, "reaction"), (.delivery, "delivery"), (.connection, "connection")]
        received = Dictionary(uniqueKeysWithValues: types.map { ($0.0, Counter(label: "chat_messages_received_total", dimensions: [("type", $0.1)], factory: metrics)) })
        delivered = Dictionary(uniqueKeysWithValues: types.map { ($0.0, Counter(label: "chat_messages_delivered_total", dimensions: [("type", $0.1)], factory: metrics)) })
        lost = Counter(label: "chat_messages_lost_total", factory: metrics)
        backplane.subscribeLive("messaging") { [self] messages in
            deliver(messages)
        }
    }

    /// `true` if `userID`'s real-time connections belong on this instance (it owns the user's partition).
    public func serves(_ userID: Int64) -> Bool { ownership?.owns(user: userID) ?? true }

    // MARK: client actions

    /// Sends a plain-text message from `session`; returns its ID at once (the backplane ack follows as a notification).
    public func sendPlainText(_ request: Chatwire_SendPlainTextRequest, from session: ClientSession) throws(MessagingError) -> Int64 {
        let failures = ChatValidation.userID(request.receiverID, property: "receiverId") + ChatValidation.messageText(request.text)
        guard failures.isEmpty else { throw .validation(failures) }
        var payload = Chatwire_BackplanePlainText()
        payload.text = request.text
        return try send(receiver: request.receiverID, data: .plainText(payload), type: .plainText, from: session)
    }

    /// Sends a file message (the file must be shared with the receiver beforehand).
    public func sendFile(_ request: Chatwire_SendFileRequest, from session: ClientSession) throws(MessagingError) -> Int64 {
        let failures = ChatValidation.userID(request.receiverID, property: "receiverId") + ChatValidation.fileText(request.text)
            + ChatValidation.bucket(request.bucket) + ChatValidation.path(request.path)
        guard failures.isEmpty else { throw .validation(failures) }
        var payload = Chatwire_BackplaneFile()
        payload.text = request.text
        payload.bucket = request.bucket
        payload.path = request.path
        return try send(receiver: request.receiverID, data: .file(payload), type: .file, from: session)
    }

    private func send(receiver: Int64, data: Chatwire_BackplaneMessage.OneOf_MessageData, type: Chatwire_MessageType, from session: ClientSession) throws(MessagingError) -> Int64 {
        let id = try ids.nextID()
        var message = Chatwire_BackplaneMessage()
        message.messageID = id
        message.senderID = session.userID
        message.receiverID = receiver
        message.targetUserID = receiver
        message.initiatorConnection = session.connectionID
        message.type = type
        message.messageData = data
        message.sentAtMs = ChatTimestamp.now().microseconds / 1000
        received[type]?.increment()
        // The sender's other devices see the message at once, before the backplane.
        registry.push(to: session.userID, excluding: session.connectionID) { Self.notification(for: message) }
        publish(message, ackTo: session.userID)
        return id
    }

    /// Sets the caller's reaction on a message of a chat they take part in.
    public func react(_ request: Chatwire_ReactRequest, from session: ClientSession) throws(MessagingError) {
        let failures = ChatValidation.userID(request.messageID, property: "messageId") + ChatValidation.userID(request.senderID, property: "senderId")
            + ChatValidation.userID(request.receiverID, property: "receiverId") + ChatValidation.reaction(request.reaction)
        guard failures.isEmpty else { throw .validation(failures) }
        try reaction(messageID: request.messageID, senderID: request.senderID, receiverID: request.receiverID, reaction: request.reaction, from: session)
    }

    /// Removes the caller's reaction.
    public func unreact(_ request: Chatwire_UnReactRequest, from session: ClientSession) throws(MessagingError) {
        let failures = ChatValidation.userID(request.messageID, property: "messageId") + ChatValidation.userID(request.senderID, property: "senderId")
            + ChatValidation.userID(request.receiverID, property: "receiverId")
        guard failures.isEmpty else { throw .validation(failures) }
        try reaction(messageID: request.messageID, senderID: request.senderID, receiverID: request.receiverID, reaction: "", from: session)
    }

    private func reaction(messageID: Int64, senderID: Int64, receiverID: Int64, reaction: String, from session: ClientSession) throws(MessagingError) {
        let chat = ChatID(senderID, receiverID)
        guard chat.contains(session.userID), senderID != receiverID else {
            throw MessagingError(code: 403, message: "Only a participant of the chat may react to its messages.", errors: [])
        }
        var message = Chatwire_BackplaneMessage()
        message.messageID = messageID
        message.senderID = senderID
        message.receiverID = receiverID
        message.targetUserID = chat.otherUser(than: session.userID)
        message.initiatorConnection = session.connectionID
        message.type = .reaction
        var payload = Chatwire_BackplaneReaction()
        payload.reactorID = session.userID
        payload.reaction = reaction
        message.messageData = .reaction(payload)
        message.sentAtMs = ChatTimestamp.now().microseconds / 1000
        received[.reaction]?.increment()
        registry.push(to: session.userID, excluding: session.connectionID) { Self.notification(for: message) }
        publish(message, ackTo: session.userID)
    }

    /// The receiver acknowledges a message as delivered or seen: the sender's devices are told, and
    /// the sender's chat state records it.
    public func acknowledge(_ request: Chatwire_AckRequest, from session: ClientSession) throws(MessagingError) {
        var failures = ChatValidation.userID(request.messageID, property: "messageId") + ChatValidation.userID(request.senderID, property: "senderId")
        if request.status != .delivered && request.status != .seen { failures.append(.init("status", "must be DELIVERED or SEEN")) }
        if request.senderID == session.userID { failures.append(.init("senderId", "must be the other participant")) }
        guard failures.isEmpty else { throw .validation(failures) }
        var message = Chatwire_BackplaneMessage()
        message.messageID = request.messageID
        message.senderID = request.senderID
        message.receiverID = session.userID
        message.targetUserID = request.senderID
        message.initiatorConnection = session.connectionID
        message.type = .delivery
        message.messageData = .status(request.status)
        message.sentAtMs = ChatTimestamp.now().microseconds / 1000
        received[.delivery]?.increment()
        publish(message, ackTo: nil)
    }

    /// Publishes a friendship change to both users (the reference's two CONNECTION messages).
    public func publishConnectionChange(_ record: ConnectionRecord, actor: Int64) async {
        let other = record.user1 == actor ? record.user2 : record.user1
        for target in [actor, other] {
            var message = Chatwire_BackplaneMessage()
            message.senderID = actor
            message.receiverID = other
            message.targetUserID = target
            message.type = .connection
            var payload = Chatwire_BackplaneConnection()
            payload.status = Chatwire_ConnectionStatus(rawValue: record.status.rawValue) ?? .notConnected
            payload.version = .init(seconds: record.version.microseconds / 1_000_000, nanos: Int32(record.version.microseconds % 1_000_000) * 1000)
            message.messageData = .connection(payload)
            message.sentAtMs = ChatTimestamp.now().microseconds / 1000
            received[.connection]?.increment()
            do {
                try await backplane.publish(message)
            } catch {
                logger.warning("connection notification lost", metadata: ["error": "\(error)"])
            }
        }
    }

    private func publish(_ message: Chatwire_BackplaneMessage, ackTo ackUser: Int64?) {
        backplane.publish(message) { [registry, lost, logger] error in
            if error != nil {
                lost.increment()
                logger.warning("message lost", metadata: ["messageId": "\(message.messageID)"])
            }
            guard let ackUser else { return }
            var ack = Chatwire_ListenNotification()
            ack.messageID = message.messageID
            ack.senderID = message.senderID
            ack.receiverID = message.receiverID
            ack.type = .deliveryStatus
            ack.status = error == nil ? .processed : .lost
            ack.sentAtMs = message.sentAtMs
            registry.push(to: ackUser) { ack }
        }
    }

    // MARK: delivery from the backplane

    /// Pushes a batch from the backplane to the target users' connections here (one registry
    /// look-up per batch; a notification is built only for a user with connections).
    func deliver(_ messages: [Chatwire_BackplaneMessage]) {
        let targets = registry.sessions(of: messages.lazy.map(\.targetUserID))
        for (message, sessions) in zip(messages, targets) where !sessions.isEmpty {
            let notification = Self.notification(for: message)
            delivered[message.type]?.increment()
            for session in sessions where session.connectionID != message.initiatorConnection {
                if !session.push(notification) {
                    logger.debug("slow client dropped", metadata: ["user": "\(session.userID)"])
                }
            }
        }
    }

    static func notification(for message: Chatwire_BackplaneMessage) -> Chatwire_ListenNotification {
        var n = Chatwire_ListenNotification()
        n.messageID = message.messageID
        n.senderID = message.senderID
        n.receiverID = message.receiverID
        n.sentAtMs = message.sentAtMs
        switch message.messageData {
        case .plainText(let text):
            n.type = .plainText
            n.plainText.text = text.text
        case .file(let file):
            n.type = .file
            n.file.text = file.text
            n.file.bucket = file.bucket
            n.file.path = file.path
        case .reaction(let reaction):
            n.type = .reaction
            n.reaction.reactorID = reaction.reactorID
            n.reaction.reaction = reaction.reaction
        case .status(let status):
            n.type = .deliveryStatus
            n.status = status
        case .connection(let connection):
            n.type = .connection
            n.connection.status = connection.status
            n.connection.version = connection.version
        case .none:
            n.type = .disconnect
        }
        return n
    }
}
