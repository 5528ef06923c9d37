import ChatWire
import CQLClient

/// ``ChatStore`` on Cassandra through CQLClient, with the reference's tables: history in
/// `chat_messages` (one partition per chat, newest first), reactions as map-element updates
/// (`reactions[reactor] = emoji`, `DELETE reactions[reactor]`), and per-user chat state in
/// `user_chats` raised by read-before-write (a user's messages are applied by one writer at a
/// time, as in the reference). Every statement is prepared once (CQLClient caches them) and runs
/// at LOCAL_QUORUM. Unlike the reference, writes are idempotent and marked so: replaying a batch
/// rewrites the same values, and chat-state columns only ever grow.
public struct CassandraChatStore: ChatStore {
    let session: CassandraSession
    let keyspace: String
    let consumerName: String

    static let write = CQLStatementOptions(consistency: .localQuorum, isIdempotent: true)
    static let read = CQLStatementOptions(consistency: .localQuorum, isIdempotent: true)

    /// A store in `keyspace` (created by ``CassandraAdapters``), committing offsets under `consumerName`.
    public init(session: CassandraSession, keyspace: String, consumerName: String = "chats") {
        self.session = session
        self.keyspace = keyspace
        self.consumerName = consumerName
    }

    private var messages: String { keyspace + ".chat_messages" }
    private var userChats: String { keyspace + ".user_chats" }

    /// The raised chat-state columns of one `user_chats` row within a batch.
    private struct StateChange {
        var otherUserID: Int64
        var newest: Int64 = 0
        var delivered: Int64 = 0
        var seen: Int64 = 0
    }

    private struct StateKey: Hashable {
        var userID: Int64
        var chatID: String
    }

    /// Statements in flight at once while applying a batch.
    static let concurrency = 32

    public func apply(_ batch: [Chatwire_BackplaneMessage], committing offset: Int64) async throws {
        var writes: [CQLQuery] = []
        // Reaction set/unset are overwrites of one map element: only the last per element matters.
        var reactions: [String: CQLQuery] = [:]
        var reactionOrder: [String] = []
        var state: [StateKey: StateChange] = [:]
        func raise(_ user: Int64, _ other: Int64, _ chat: String, _ change: (inout StateChange) -> Void) {
            change(&state[StateKey(userID: user, chatID: chat), default: StateChange(otherUserID: other)])
        }
        for m in batch {
            let chatID = ChatID(m.senderID, m.receiverID).description
            switch m.messageData {
            case .plainText(let text):
                writes.append("""
                    INSERT INTO \(unescaped: messages) (chat_id, message_id, sender_id, receiver_id, type, text)
                    VALUES (\(chatID), \(m.messageID), \(m.senderID), \(m.receiverID), \(Int8(0)), \(text.text))
                    """)
                raise(m.senderID, m.receiverID, chatID) { $0.newest = max($0.newest, m.messageID) }
                raise(m.receiverID, m.senderID, chatID) { $0.newest = max($0.newest, m.messageID) }
            case .file(let file):
                let data = CQLValue.udt([CQLUDTField(name: "bucket", value: .text(file.bucket)), CQLUDTField(name: "path", value: .text(file.path))])
                writes.append("""
                    INSERT INTO \(unescaped: messages) (chat_id, message_id, sender_id, receiver_id, type, text, file)
                    VALUES (\(chatID), \(m.messageID), \(m.senderID), \(m.receiverID), \(Int8(1)), \(file.text), \(data))
                    """)
                raise(m.senderID, m.receiverID, chatID) { $0.newest = max($0.newest, m.messageID) }
                raise(m.receiverID, m.senderID, chatID) { $0.newest = max($0.newest, m.messageID) }
            case .reaction(let reaction):
                let element = "\(chatID)/\(m.messageID)/\(reaction.reactorID)"
                if reactions[element] == nil { reactionOrder.append(element) }
                reactions[element] = reaction.reaction.isEmpty
                    ? "DELETE reactions[\(reaction.reactorID)] FROM \(unescaped: messages) WHERE chat_id = \(chatID) AND message_id = \(m.messageID)"
                    : "UPDATE \(unescaped: messages) SET reactions[\(reaction.reactorID)] = \(reaction.reaction) WHERE chat_id = \(chatID) AND message_id = \(m.messageID)"
            case .status(let status):
                // A receipt from the receiver, targeted at the sender: raise the sender's view.
                raise(m.senderID, m.receiverID, chatID) { change in
                    change.delivered = max(change.delivered, m.messageID)
                    if status == .seen { change.seen = max(change.seen, m.messageID) }
                }
            case .connection, .none:
                break
            }
        }
        writes += reactionOrder.compactMap { reactions[$0] }
        // Every write touches a different row or map element, so they commute: run them concurrently.
        try await Self.forEach(writes) { try await session.execute($0, options: Self.write) }
        try await Self.forEach(Array(state)) { key, change in try await raiseState(key, change) }
        try await session.execute("""
            UPDATE \(unescaped: keyspace).consumer_offsets SET committed = \(offset) WHERE name = \(consumerName)
            """, options: Self.write)
    }

    /// Runs `body` for every item, at most ``concurrency`` at once; throws the first error.
    static func forEach<Item: Sendable>(_ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var iterator = items.makeIterator()
            for _ in 0..<concurrency {
                guard let item = iterator.next() else { break }
                group.addTask { try await body(item) }
            }
            while try await group.next() != nil {
                if let item = iterator.next() { group.addTask { try await body(item) } }
            }
        }
    }

    /// Read-before-write: raises newest/delivered/seen of one row to at least the batch's values.
    private func raiseState(_ key: StateKey, _ change: StateChange) async throws {
        let current = try await session.execute("""
            SELECT newest_message, other_user_delivered, other_user_seen FROM \(unescaped: userChats) WHERE user_id = \(key.userID) AND chat_id = \(key.chatID)
            """, options: Self.read).pageRows.first
        let (newest, delivered, seen) = try current?.decode((Int64?, Int64?, Int64?).self) ?? (nil, nil, nil)
        let next = (max(newest ?? 0, change.newest), max(delivered ?? 0, change.delivered), max(seen ?? 0, change.seen))
        guard current == nil || next != (newest ?? 0, delivered ?? 0, seen ?? 0) else { return }
        try await session.execute("""
            UPDATE \(unescaped: userChats) SET other_user_id = \(change.otherUserID), newest_message = \(next.0),
            other_user_delivered = \(next.1), other_user_seen = \(next.2) WHERE user_id = \(key.userID) AND chat_id = \(key.chatID)
            """, options: Self.write)
    }

    public func committedOffset() async throws -> Int64 {
        let row = try await session.execute("SELECT committed FROM \(unescaped: keyspace).consumer_offsets WHERE name = \(consumerName)", options: Self.read).pageRows.first
        return try row?.decode(column: 0, as: Int64?.self) ?? 0
    }

    static let messageColumns = "message_id, sender_id, receiver_id, type, text, file, reactions"

    /// A history row; nil for a row holding only reactions (a reaction whose message was never written).
    static func message(_ row: CQLRow) throws -> HistoryMessageInfo? {
        let (id, sender, receiver, type, text, file, reactions) = try row.decode((Int64, Int64?, Int64?, Int8?, String?, CQLValue?, [Int64: String]?).self)
        guard let sender, let receiver else { return nil }
        var fileData: FileData?
        if case .udt(let fields)? = file {
            func field(_ name: String) -> String? {
                if case .text(let value)? = fields.first(where: { $0.name == name })?.value { return value }
                return nil
            }
            if let bucket = field("bucket"), let path = field("path") { fileData = FileData(bucket: bucket, path: path) }
        }
        var byReactor: [String: String] = [:]
        for (reactor, emoji) in reactions ?? [:] { byReactor[String(reactor)] = emoji }
        return HistoryMessageInfo(messageId: id, senderId: sender, receiverId: receiver, type: HistoryMessageType(rawValue: Int(type ?? 0)) ?? .plainText,
                                  text: text ?? "", file: fileData, reactions: byReactor)
    }

    public func history(chatID: String, olderThan: Int64, limit: Int) async throws -> [HistoryMessageInfo] {
        try await CassandraAvailability.mapped {
            try await session.execute("""
                SELECT \(unescaped: Self.messageColumns) FROM \(unescaped: messages) WHERE chat_id = \(chatID) AND message_id < \(olderThan)
                ORDER BY message_id DESC LIMIT \(Int32(clamping: limit))
                """, options: Self.read).pageRows.compactMap(Self.message)
        }
    }

    public func userChats(userID: Int64, newerThan: Int64) async throws -> [ChatSummary] {
        try await CassandraAvailability.mapped {
            try await session.execute("""
                SELECT chat_id, newest_message, other_user_delivered, other_user_seen FROM \(unescaped: userChats)
                WHERE user_id = \(userID) AND newest_message > \(newerThan) ALLOW FILTERING
                """, options: Self.read).pageRows.map { row in
                let (chat, newest, delivered, seen) = try row.decode((String, Int64?, Int64?, Int64?).self)
                return ChatSummary(chatId: chat, newestMessage: newest ?? 0, otherUserDelivered: delivered ?? 0, otherUserSeen: seen ?? 0)
            }.sorted { $0.newestMessage > $1.newestMessage }
        }
    }

    public func message(chatID: String, messageID: Int64) async throws -> HistoryMessageInfo? {
        try await CassandraAvailability.mapped {
            try await session.execute("""
                SELECT \(unescaped: Self.messageColumns) FROM \(unescaped: messages) WHERE chat_id = \(chatID) AND message_id = \(messageID)
                """, options: Self.read).pageRows.first.flatMap(Self.message)
        }
    }
}
