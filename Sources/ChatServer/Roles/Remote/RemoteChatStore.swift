import ChatWire

/// The query side of the ``ChatStore`` port for a chats role run by another process
/// (`chatwire.internal.Chats`). The chats role itself writes history and chat state from the
/// backplane, so ``apply(_:committing:)`` and ``committedOffset()`` are not served here.
public struct RemoteChatStore: ChatStore {
    let remote: RemoteRole

    /// The chats role behind `remote`.
    public init(remote: RemoteRole) { self.remote = remote }

    /// Not served remotely: the chats role's own materializer writes its store.
    public func apply(_ messages: [Chatwire_BackplaneMessage], committing offset: Int64) async throws {
        throw RemoteRoleError(role: .chats, address: remote.address, kind: .badResponse("history is written by the chats role itself, not over gRPC"))
    }

    /// Not served remotely (see ``apply(_:committing:)``).
    public func committedOffset() async throws -> Int64 {
        throw RemoteRoleError(role: .chats, address: remote.address, kind: .badResponse("the chats role keeps its own consumer position"))
    }

    public func history(chatID: String, olderThan: Int64, limit: Int) async throws -> [HistoryMessageInfo] {
        var request = Chatwire_Internal_GetChatHistoryRequest()
        request.chatID = chatID
        request.olderThan = olderThan
        request.limit = Int32(clamping: limit)
        return try await remote.call(InternalMethods.Chats.history, request, idempotent: true).messages.map(\.model)
    }

    public func userChats(userID: Int64, newerThan: Int64) async throws -> [ChatSummary] {
        var request = Chatwire_Internal_GetUserChatsRequest()
        request.userID = userID
        request.newerThan = newerThan
        return try await remote.call(InternalMethods.Chats.userChats, request, idempotent: true).chats.map(\.model)
    }

    public func message(chatID: String, messageID: Int64) async throws -> HistoryMessageInfo? {
        var request = Chatwire_Internal_GetChatMessageRequest()
        request.chatID = chatID
        request.messageID = messageID
        let response = try await remote.call(InternalMethods.Chats.message, request, idempotent: true)
        return response.found ? response.message.model : nil
    }
}
