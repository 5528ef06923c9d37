import ChatWire
import Synchronization

/// One live real-time connection (a device) of a user.
public final class ClientSession: Sendable {
    /// The user.
    public let userID: Int64
    /// The device/session ID from the token.
    public let clientID: String
    /// Unique per connection (two connections with the same token still differ).
    public let connectionID: String
    private let sink: @Sendable (Chatwire_ServerFrame) -> Bool

    /// A session that delivers frames through `sink` (which returns `false` when the client is too slow).
    public init(userID: Int64, clientID: String, connectionID: String, sink: @escaping @Sendable (Chatwire_ServerFrame) -> Bool) {
        self.userID = userID
        self.clientID = clientID
        self.connectionID = connectionID
        self.sink = sink
    }

    /// Queues a notification for this connection.
    @discardableResult
    public func push(_ notification: Chatwire_ListenNotification) -> Bool {
        var frame = Chatwire_ServerFrame()
        frame.payload = .notification(notification)
        return sink(frame)
    }
}

/// A connection ID: `prefix` and 64 random bits in base 36 (unique with overwhelming probability;
/// with a one-character prefix at most 14 characters, so the string is stored inline, with no
/// allocation per connection).
func makeConnectionID(prefix: String) -> String {
    prefix + String(UInt64.random(in: 0...UInt64.max), radix: 36)
}

/// The connections of every online user on this server (the reference's per-user SignalR groups).
public final class ClientRegistry: Sendable {
    private let users = Mutex<[Int64: [ClientSession]]>([:])
    private let online = Atomic<Int>(0)

    /// An empty registry.
    public init() {}

    /// Number of live connections.
    public var onlineClients: Int { online.load(ordering: .relaxed) }

    /// Adds a connection; `false` if the user already has `limit` connections.
    public func add(_ session: ClientSession, limit: Int) -> Bool {
        let added = users.withLock { users -> Bool in
            var list = users[session.userID] ?? []
            guard list.count < limit else { return false }
            list.append(session)
            users[session.userID] = list
            return true
        }
        if added { online.add(1, ordering: .relaxed) }
        return added
    }

    /// Removes a connection.
    public func remove(_ session: ClientSession) {
        let removed = users.withLock { users -> Bool in
            guard var list = users[session.userID], let index = list.firstIndex(where: { $0 === session }) else { return false }
            list.remove(at: index)
            users[session.userID] = list.isEmpty ? nil : list
            return true
        }
        if removed { online.subtract(1, ordering: .relaxed) }
    }

    /// The user's connections.
    public func sessions(of userID: Int64) -> [ClientSession] {
        users.withLock { $0[userID] ?? [] }
    }

    /// The connections of each of `userIDs`, in order, looked up under one lock.
    public func sessions(of userIDs: some Sequence<Int64>) -> [[ClientSession]] {
        users.withLock { users in userIDs.map { users[$0] ?? [] } }
    }

    /// Pushes to every connection of `userID` except `excluding` (a connection ID).
    public func push(_ notification: Chatwire_ListenNotification, to userID: Int64, excluding: String? = nil) {
        push(to: userID, excluding: excluding) { notification }
    }

    /// Pushes the notification `make` builds (only if `userID` has a connection other than
    /// `excluding`) to those connections.
    func push(to userID: Int64, excluding: String? = nil, _ make: () -> Chatwire_ListenNotification) {
        let targets = sessions(of: userID)
        guard targets.contains(where: { $0.connectionID != excluding }) else { return }
        let notification = make()
        for session in targets where session.connectionID != excluding {
            session.push(notification)
        }
    }

    /// Every user with at least one connection.
    public var onlineUsers: [Int64] { users.withLock { Array($0.keys) } }
}
