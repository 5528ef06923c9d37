import ChatWire
import GRDB

/// ``ChatStore`` on SQLite: `chat_messages` + `chat_reactions` (history), `user_chats` (state).
public struct SQLiteChatStore: ChatStore {
    let db: DatabasePool
    let consumerName: String

    /// A store on the `chats` database, committing offsets under `consumerName`.
    public init(db: DatabasePool, consumerName: String = "chats") {
        self.db = db
        self.consumerName = consumerName
    }

    public func apply(_ messages: [Chatwire_BackplaneMessage], committing offset: Int64) async throws {
        let consumer = consumerName
        try await db.write { db in
            let insertMessage = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO chat_messages (chat_id, message_id, sender_id, receiver_id, type, text, file_bucket, file_path)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let upsertNewest = try db.cachedStatement(sql: """
                INSERT INTO user_chats (user_id, chat_id, other_user_id, newest_message, other_user_delivered, other_user_seen)
                VALUES (?, ?, ?, ?, 0, 0)
                ON CONFLICT (user_id, chat_id) DO UPDATE SET newest_message = max(newest_message, excluded.newest_message)
                """)
            let upsertReceipt = try db.cachedStatement(sql: """
                INSERT INTO user_chats (user_id, chat_id, other_user_id, newest_message, other_user_delivered, other_user_seen)
                VALUES (?, ?, ?, 0, ?, ?)
                ON CONFLICT (user_id, chat_id) DO UPDATE SET
                  other_user_delivered = max(other_user_delivered, excluded.other_user_delivered),
                  other_user_seen = max(other_user_seen, excluded.other_user_seen)
                """)
            let setReaction = try db.cachedStatement(sql: "INSERT OR REPLACE INTO chat_reactions (chat_id, message_id, reactor_id, reaction) VALUES (?, ?, ?, ?)")
            let unsetReaction = try db.cachedStatement(sql: "DELETE FROM chat_reactions WHERE chat_id = ? AND message_id = ? AND reactor_id = ?")
            // Chat state only ever rises (newest message, delivered, seen are maxima), so a batch
            // writes each user's chat once, with the batch's maximum, instead of once per message.
            struct ChatKey: Hashable { var user: Int64; var chat: String; var other: Int64 }
            var newest: [ChatKey: Int64] = [:]
            var receipts: [ChatKey: (delivered: Int64, seen: Int64)] = [:]
            for m in messages {
                let chatID = ChatID(m.senderID, m.receiverID).description
                switch m.messageData {
                case .plainText(let text):
                    // Each message reaches the backplane once, on the receiver's partition.
                    try insertMessage.execute(arguments: [chatID, m.messageID, m.senderID, m.receiverID, 0, text.text, nil, nil])
                    newest[ChatKey(user: m.senderID, chat: chatID, other: m.receiverID), default: 0].raise(to: m.messageID)
                    newest[ChatKey(user: m.receiverID, chat: chatID, other: m.senderID), default: 0].raise(to: m.messageID)
                case .file(let file):
                    try insertMessage.execute(arguments: [chatID, m.messageID, m.senderID, m.receiverID, 1, file.text, file.bucket, file.path])
                    newest[ChatKey(user: m.senderID, chat: chatID, other: m.receiverID), default: 0].raise(to: m.messageID)
                    newest[ChatKey(user: m.receiverID, chat: chatID, other: m.senderID), default: 0].raise(to: m.messageID)
                case .reaction(let reaction):
                    if reaction.reaction.isEmpty {
                        try unsetReaction.execute(arguments: [chatID, m.messageID, reaction.reactorID])
                    } else {
                        try setReaction.execute(arguments: [chatID, m.messageID, reaction.reactorID, reaction.reaction])
                    }
                case .status(let status):
                    // A receipt from the receiver, targeted at the sender: raise the sender's view.
                    let seen = status == .seen ? m.messageID : 0
                    let key = ChatKey(user: m.senderID, chat: chatID, other: m.receiverID)
                    let current = receipts[key] ?? (0, 0)
                    receipts[key] = (max(current.delivered, m.messageID), max(current.seen, seen))
                case .connection, .none:
                    break
                }
            }
            for (key, messageID) in newest {
                try upsertNewest.execute(arguments: [key.user, key.chat, key.other, messageID])
            }
            for (key, receipt) in receipts {
                try upsertReceipt.execute(arguments: [key.user, key.chat, key.other, receipt.delivered, receipt.seen])
            }
            try db.execute(sql: "INSERT INTO consumer_offsets (name, committed) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET committed = max(committed, excluded.committed)",
                           arguments: [consumer, offset])
        }
    }

    public func committedOffset() async throws -> Int64 {
        let consumer = consumerName
        return try await db.read { db in
            try Int64.fetchOne(db, sql: "SELECT committed FROM consumer_offsets WHERE name = ?", arguments: [consumer]) ?? 0
        }
    }

    private static func message(_ row: Row, reactions: [String: String]) -> HistoryMessageInfo {
        let bucket: String? = row["file_bucket"]
        let path: String? = row["file_path"]
        return HistoryMessageInfo(messageId: row["message_id"], senderId: row["sender_id"], receiverId: row["receiver_id"],
                                  type: HistoryMessageType(rawValue: row["type"]) ?? .plainText, text: row["text"],
                                  file: bucket.flatMap { b in path.map { FileData(bucket: b, path: $0) } }, reactions: reactions)
    }

    private static func reactions(_ db: Database, chatID: String, messageIDs: [Int64]) throws -> [Int64: [String: String]] {
        guard let low = messageIDs.min(), let high = messageIDs.max() else { return [:] }
        var result: [Int64: [String: String]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT message_id, reactor_id, reaction FROM chat_reactions WHERE chat_id = ? AND message_id BETWEEN ? AND ?",
                                    arguments: [chatID, low, high]) {
            let reactor: Int64 = row["reactor_id"]
            result[row["message_id"], default: [:]][String(reactor)] = row["reaction"]
        }
        return result
    }

    public func history(chatID: String, olderThan: Int64, limit: Int) async throws -> [HistoryMessageInfo] {
        try await db.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM chat_messages WHERE chat_id = ? AND message_id < ? ORDER BY message_id DESC LIMIT ?",
                                        arguments: [chatID, olderThan, limit])
            let reactions = try Self.reactions(db, chatID: chatID, messageIDs: rows.map { $0["message_id"] })
            return rows.map { row in Self.message(row, reactions: reactions[row["message_id"]] ?? [:]) }
        }
    }

    public func userChats(userID: Int64, newerThan: Int64) async throws -> [ChatSummary] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM user_chats WHERE user_id = ? AND newest_message > ? ORDER BY newest_message DESC", arguments: [userID, newerThan]).map {
                ChatSummary(chatId: $0["chat_id"], newestMessage: $0["newest_message"], otherUserDelivered: $0["other_user_delivered"], otherUserSeen: $0["other_user_seen"])
            }
        }
    }

    public func message(chatID: String, messageID: Int64) async throws -> HistoryMessageInfo? {
        try await db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM chat_messages WHERE chat_id = ? AND message_id = ?", arguments: [chatID, messageID]) else { return nil }
            let reactions = try Self.reactions(db, chatID: chatID, messageIDs: [messageID])
            return Self.message(row, reactions: reactions[messageID] ?? [:])
        }
    }
}

private extension Int64 {
    /// Raises the value to `other` if that is larger.
    mutating func raise(to other: Int64) { self = Swift.max(self, other) }
}
