/// Friendship state (serialized as an integer, as in the reference).
public enum ConnectionState: Int, Codable, Sendable, Hashable {
    case notConnected = 0
    case pending = 1
    case connected = 2
}

/// The caller's friendship with another user; `connectionId` is the other user's ID.
public struct ConnectionInfo: Codable, Sendable, Hashable {
    public var connectionId: Int64
    public var version: ChatTimestamp
    public var status: ConnectionState
    /// The invitee who must approve while pending, else 0.
    public var targetUserId: Int64?
    /// A connection.
    public init(connectionId: Int64, version: ChatTimestamp, status: ConnectionState, targetUserId: Int64? = nil) {
        self.connectionId = connectionId
        self.version = version
        self.status = status
        self.targetUserId = targetUserId
    }
}

/// `GET /api/connections` response.
public struct ConnectionsResponse: Codable, Sendable, Hashable {
    public var connections: [ConnectionInfo]
    /// Connections.
    public init(connections: [ConnectionInfo]) { self.connections = connections }
}

/// `POST /api/connections/{id}/invite` response.
public struct InviteResponse: Codable, Sendable, Hashable {
    public var version: ChatTimestamp
    /// The new connection's version.
    public init(version: ChatTimestamp) { self.version = version }
}

/// Per-user state of one chat.
public struct ChatSummary: Codable, Sendable, Hashable {
    /// `"<min>-<max>"`.
    public var chatId: String
    public var newestMessage: Int64
    /// Newest of the caller's messages the other user's device received.
    public var otherUserDelivered: Int64
    /// Newest of the caller's messages the other user saw.
    public var otherUserSeen: Int64
    /// A chat state.
    public init(chatId: String, newestMessage: Int64, otherUserDelivered: Int64, otherUserSeen: Int64) {
        self.chatId = chatId
        self.newestMessage = newestMessage
        self.otherUserDelivered = otherUserDelivered
        self.otherUserSeen = otherUserSeen
    }
}

/// `GET /api/chats/user` response.
public struct UserChatsResponse: Codable, Sendable, Hashable {
    public var chats: [ChatSummary]
    /// Chats.
    public init(chats: [ChatSummary]) { self.chats = chats }
}

/// History message kind (0 plain text, 1 file).
public enum HistoryMessageType: Int, Codable, Sendable, Hashable {
    case plainText = 0
    case file = 1
}

/// A file reference inside a message.
public struct FileData: Codable, Sendable, Hashable {
    public var bucket: String
    public var path: String
    /// A file reference.
    public init(bucket: String, path: String) {
        self.bucket = bucket
        self.path = path
    }
}

/// One stored message with its reactions (reactor user ID, as decimal text, → emoji).
public struct HistoryMessageInfo: Codable, Sendable, Hashable {
    public var messageId: Int64
    public var senderId: Int64
    public var receiverId: Int64
    public var type: HistoryMessageType
    public var text: String
    public var file: FileData?
    public var reactions: [String: String]
    /// A history message.
    public init(messageId: Int64, senderId: Int64, receiverId: Int64, type: HistoryMessageType, text: String, file: FileData?, reactions: [String: String]) {
        self.messageId = messageId
        self.senderId = senderId
        self.receiverId = receiverId
        self.type = type
        self.text = text
        self.file = file
        self.reactions = reactions
    }
}

/// `GET /api/chats/history` response, newest first.
public struct HistoryResponse: Codable, Sendable, Hashable {
    public var messages: [HistoryMessageInfo]
    /// Messages.
    public init(messages: [HistoryMessageInfo]) { self.messages = messages }
}

/// A stored file the caller owns.
public struct FileRefInfo: Codable, Sendable, Hashable {
    public var bucket: String
    public var path: String
    public var version: ChatTimestamp
    /// A file reference.
    public init(bucket: String, path: String, version: ChatTimestamp) {
        self.bucket = bucket
        self.path = path
        self.version = version
    }
}

/// `GET /api/files/list` response.
public struct FilesResponse: Codable, Sendable, Hashable {
    public var files: [FileRefInfo]
    /// Files.
    public init(files: [FileRefInfo]) { self.files = files }
}

/// `POST /api/files` response.
public struct UploadFileResponse: Codable, Sendable, Hashable {
    public var file: FileRefInfo
    /// The uploaded file.
    public init(file: FileRefInfo) { self.file = file }
}

/// `PUT /api/files/{bucket}/{path}/access` body.
public struct FileAccessRequest: Codable, Sendable, Hashable {
    public var allowedUserId: Int64
    public var version: ChatTimestamp
    /// Grants `allowedUserId` read access.
    public init(allowedUserId: Int64, version: ChatTimestamp) {
        self.allowedUserId = allowedUserId
        self.version = version
    }
}

/// `GET /api/screens/allChats` response.
public struct AllChatsScreen: Codable, Sendable, Hashable {
    public var chats: [ChatSummary]
    public var connections: [ConnectionInfo]
    public var files: [FileRefInfo]
    public var profiles: [ProfilePublic]
    /// The screen.
    public init(chats: [ChatSummary], connections: [ConnectionInfo], files: [FileRefInfo], profiles: [ProfilePublic]) {
        self.chats = chats
        self.connections = connections
        self.files = files
        self.profiles = profiles
    }
}

/// `GET /api/screens/oneChat` response.
public struct OneChatScreen: Codable, Sendable, Hashable {
    public var messages: [HistoryMessageInfo]
    public var profile: ProfilePublic?
    public var connection: ConnectionInfo?
    /// The screen.
    public init(messages: [HistoryMessageInfo], profile: ProfilePublic?, connection: ConnectionInfo?) {
        self.messages = messages
        self.profile = profile
        self.connection = connection
    }
}

/// One dynamic-config element.
public struct ConfigElement: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
    public var version: ChatTimestamp
    /// An element.
    public init(name: String, value: String, version: ChatTimestamp) {
        self.name = name
        self.value = value
        self.version = version
    }
}

/// `GET /api/config` response.
public struct ConfigResponse: Codable, Sendable, Hashable {
    public var elements: [ConfigElement]
    /// Elements.
    public init(elements: [ConfigElement]) { self.elements = elements }
}

/// `PUT /api/config` body: existing and deleted elements carry the version the admin read.
public struct ConfigUpdateRequest: Codable, Sendable, Hashable {
    public var existingElements: [ConfigElement]
    public var newElements: [ConfigElement]
    public var deletedElements: [ConfigElement]
    /// An update.
    public init(existingElements: [ConfigElement] = [], newElements: [ConfigElement] = [], deletedElements: [ConfigElement] = []) {
        self.existingElements = existingElements
        self.newElements = newElements
        self.deletedElements = deletedElements
    }
}
