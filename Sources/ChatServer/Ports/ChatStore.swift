import ChatWire

/// Chat history and per-user chat state (Cassandra in the distributed deployment, SQLite embedded).
///
/// Writers are idempotent: applying the same backplane message twice leaves the same state,
/// so a consumer may replay from its last committed offset after a crash.
public protocol ChatStore: Sendable {
    /// Applies a batch of backplane messages in order and records `offset` as the consumer's
    /// committed position, atomically.
    func apply(_ messages: [Chatwire_BackplaneMessage], committing offset: Int64) async throws
    /// The last committed offset (0 if none).
    func committedOffset() async throws -> Int64
    /// Up to `limit` messages of `chatID` with an ID below `olderThan`, newest first.
    func history(chatID: String, olderThan: Int64, limit: Int) async throws -> [HistoryMessageInfo]
    /// The user's chats whose newest message is above `newerThan`.
    func userChats(userID: Int64, newerThan: Int64) async throws -> [ChatSummary]
    /// One message (for authorization of reactions).
    func message(chatID: String, messageID: Int64) async throws -> HistoryMessageInfo?
}
