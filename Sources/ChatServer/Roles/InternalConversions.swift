import ChatWire
import SwiftProtobuf

// Conversions between the ports' values and the internal contracts' messages.

extension Google_Protobuf_Timestamp {
    init(_ time: ChatTimestamp) {
        let (seconds, micros) = time.microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        self.init(seconds: micros < 0 ? seconds - 1 : seconds, nanos: Int32(micros < 0 ? micros + 1_000_000 : micros) * 1000)
    }

    var chatTimestamp: ChatTimestamp { ChatTimestamp(microseconds: seconds * 1_000_000 + Int64(nanos / 1000)) }
}

extension Chatwire_Internal_ProfileFull {
    init(_ profile: ProfileFull) {
        self.init()
        userID = profile.userId
        version = .init(profile.version)
        userName = profile.userName
        displayName = profile.displayName
        avatarURL = profile.avatarUrl
        phone = profile.phone
        email = profile.email
    }

    var model: ProfileFull {
        ProfileFull(userId: userID, version: version.chatTimestamp, userName: userName, displayName: displayName, avatarUrl: avatarURL, phone: phone, email: email)
    }
}

extension Chatwire_ProfilePublic {
    init(_ profile: ProfilePublic) {
        self.init()
        userID = profile.userId
        userName = profile.userName
        displayName = profile.displayName
        avatarURL = profile.avatarUrl
    }

    var model: ProfilePublic { ProfilePublic(userId: userID, userName: userName, displayName: displayName, avatarUrl: avatarURL) }
}

extension Chatwire_Internal_StoredUser {
    init(_ user: StoredUser) {
        self.init()
        profile = .init(user.profile)
        passwordHash = user.passwordHash
    }

    var model: StoredUser { StoredUser(profile: profile.model, passwordHash: passwordHash) }
}

extension Chatwire_Internal_GetUserResponse {
    init(_ user: StoredUser?) {
        self.init()
        if let user { self.user = .init(user) } else { missing = true }
    }

    var model: StoredUser? { missing || !hasUser ? nil : user.model }
}

extension Chatwire_Internal_VersionedUpdateResponse {
    init(_ result: VersionedUpdate) {
        self.init()
        switch result {
        case .updated(let version):
            success = true
            newVersion = .init(version)
        case .concurrentlyUpdated: concurrentlyUpdated = true
        case .missing: missing = true
        }
    }

    var model: VersionedUpdate {
        if success { return .updated(newVersion.chatTimestamp) }
        return concurrentlyUpdated ? .concurrentlyUpdated : .missing
    }
}

extension Chatwire_Internal_ConnectionRow {
    init(_ record: ConnectionRecord) {
        self.init()
        user1ID = record.user1
        user2ID = record.user2
        status = Chatwire_ConnectionStatus(rawValue: record.status.rawValue) ?? .notConnected
        version = .init(record.version)
        targetUserID = record.targetID
    }

    var model: ConnectionRecord {
        ConnectionRecord(user1: user1ID, user2: user2ID, status: ConnectionState(rawValue: status.rawValue) ?? .notConnected,
                         version: version.chatTimestamp, targetID: targetUserID)
    }
}

extension Chatwire_Internal_ConnectionCommandResponse {
    init(_ result: ConnectionCommandResult) {
        self.init()
        switch result {
        case .success(let record):
            success = true
            connection = .init(record)
        case .missingUser: missingUser = true
        case .alreadyExists: alreadyExists = true
        case .missingConnection: missingConnection = true
        case .invalid(let reason):
            invalid = true
            invalidReason = reason
        case .concurrentlyUpdated: concurrentlyUpdated = true
        }
    }

    var model: ConnectionCommandResult {
        if success { return .success(connection.model) }
        if missingUser { return .missingUser }
        if alreadyExists { return .alreadyExists }
        if missingConnection { return .missingConnection }
        if invalid { return .invalid(invalidReason) }
        return .concurrentlyUpdated
    }
}

extension Chatwire_Internal_FileRecord {
    init(_ record: FileRecord) {
        self.init()
        bucket = record.bucket
        path = record.path
        ownerID = record.ownerID
        contentType = record.contentType
        version = .init(record.version)
        allowedUsers = record.allowedUsers
    }

    var model: FileRecord {
        FileRecord(bucket: bucket, path: path, ownerID: ownerID, contentType: contentType, version: version.chatTimestamp, allowedUsers: allowedUsers)
    }
}

extension Chatwire_HistoryMessage {
    init(_ message: HistoryMessageInfo) {
        self.init()
        messageID = message.messageId
        senderID = message.senderId
        receiverID = message.receiverId
        dataType = message.type == .file ? .file : .plainText
        text = message.text
        if let file = message.file {
            self.file.bucket = file.bucket
            self.file.path = file.path
        }
        // Reactions are keyed by the reactor's user ID.
        for (reactor, reaction) in message.reactions {
            if let id = Int64(reactor) { reactions[id] = reaction }
        }
    }

    var model: HistoryMessageInfo {
        HistoryMessageInfo(messageId: messageID, senderId: senderID, receiverId: receiverID, type: dataType == .file ? .file : .plainText,
                           text: text, file: hasFile ? FileData(bucket: file.bucket, path: file.path) : nil,
                           reactions: Dictionary(uniqueKeysWithValues: reactions.map { (String($0.key), $0.value) }))
    }
}

extension Chatwire_ChatState {
    init(_ chat: ChatSummary, userID: Int64) {
        self.init()
        chatID = chat.chatId
        otherUserID = ChatID(parsing: chat.chatId)?.otherUser(than: userID) ?? 0
        newestMessage = chat.newestMessage
        otherUserDelivered = chat.otherUserDelivered
        otherUserSeen = chat.otherUserSeen
    }

    var model: ChatSummary {
        ChatSummary(chatId: chatID, newestMessage: newestMessage, otherUserDelivered: otherUserDelivered, otherUserSeen: otherUserSeen)
    }
}

extension Chatwire_Internal_ConfigElement {
    init(_ element: ConfigElement) {
        self.init()
        name = element.name
        value = element.value
        version = .init(element.version)
    }

    var model: ConfigElement { ConfigElement(name: name, value: value, version: version.chatTimestamp) }
}
