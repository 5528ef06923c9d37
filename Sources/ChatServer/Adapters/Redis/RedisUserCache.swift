import ChatWire
import Logging
import NIOCore
import RedisWire
import SwiftProtobuf

/// ``UserCache`` on Redis through RedisWire, with the reference's key layout and values
/// (CecoChat's User service, under an optional prefix; values are protobuf bytes, as there):
///
/// | key | type | value |
/// |---|---|---|
/// | `profiles:<userId>` | string | `ProfilePublic` |
/// | `profile-search:<pattern>` | string | `ProfileSearchResult` |
/// | `connections:{<userId>}` | set | `Connection` (one member per connection) |
/// | `connections:{<userId>}:<otherUserId>` | string | `Connection` |
///
/// The braces are a literal hash tag: a user's connection keys share one cluster slot, so the
/// list and its per-connection keys are written by one script, also on a cluster. Every entry
/// expires after the TTL. As in the reference, an empty connection list is not cached (a set
/// cannot be empty) and search results live until their TTL; unlike the reference, a profile
/// edit drops the user's `profiles:` key and a connection change drops both users' connection
/// keys. Redis errors become cache misses (the store behind the cache answers).
public struct RedisUserCache: UserCache {
    let client: any ChatRedisClient
    let prefix: String
    let ttlSeconds: Int
    let logger: Logger

    /// `DEL set; SADD set members...; EXPIRE set ttl`, then `SET pairKey member EX ttl` for each
    /// connection: KEYS = [set, pair keys...], ARGV = [ttl, members...] in the same order.
    static let replaceConnections = RedisScript("""
        redis.call('DEL', KEYS[1])
        redis.call('SADD', KEYS[1], unpack(ARGV, 2))
        redis.call('EXPIRE', KEYS[1], ARGV[1])
        for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i], 'EX', ARGV[1]) end
        return #KEYS - 1
        """)

    /// A cache on `client`, keys under `prefix`, entries living `ttlSeconds`.
    public init(client: any ChatRedisClient, prefix: String = "", ttlSeconds: Int = 300, logger: Logger) {
        self.client = client
        self.prefix = prefix
        self.ttlSeconds = ttlSeconds
        self.logger = logger
    }

    func profileKey(_ id: Int64) -> String { "\(prefix)profiles:\(id)" }
    func searchKey(_ pattern: String) -> String { "\(prefix)profile-search:\(pattern)" }
    func connectionsKey(_ id: Int64) -> String { "\(prefix)connections:{\(id)}" }
    func connectionKey(_ id: Int64, _ other: Int64) -> String { "\(prefix)connections:{\(id)}:\(other)" }

    private func attempt<T>(_ what: String, _ fallback: T, _ body: () async throws -> T) async -> T {
        do { return try await body() } catch {
            logger.warning("user cache unavailable; using the store", metadata: ["operation": "\(what)", "error": "\(error)"])
            return fallback
        }
    }

    // MARK: values (protobuf, the reference's messages)

    static func bytes(_ message: some SwiftProtobuf.Message) -> ByteBuffer? {
        (try? message.serializedBytes() as [UInt8]).map { ByteBuffer(bytes: $0) }
    }

    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ buffer: ByteBuffer) -> M? {
        try? M(serializedBytes: Array(buffer.readableBytesView))
    }

    static func message(_ profile: ProfilePublic) -> Chatwire_ProfilePublic {
        var m = Chatwire_ProfilePublic()
        m.userID = profile.userId
        m.userName = profile.userName
        m.displayName = profile.displayName
        m.avatarURL = profile.avatarUrl
        return m
    }

    static func profile(_ m: Chatwire_ProfilePublic) -> ProfilePublic {
        ProfilePublic(userId: m.userID, userName: m.userName, displayName: m.displayName, avatarUrl: m.avatarURL)
    }

    /// A connection row as `userID` sees it (`connection_id` is the other user).
    static func message(_ row: ConnectionRecord, of userID: Int64) -> Chatwire_Connection {
        var m = Chatwire_Connection()
        m.connectionID = row.user1 == userID ? row.user2 : row.user1
        m.version = Google_Protobuf_Timestamp(seconds: row.version.microseconds.floorDivided(by: 1_000_000),
                                              nanos: Int32(row.version.microseconds.floorModulo(1_000_000) * 1000))
        m.status = Chatwire_ConnectionStatus(rawValue: row.status.rawValue) ?? .notConnected
        m.targetUserID = row.targetID
        return m
    }

    static func row(_ m: Chatwire_Connection, of userID: Int64) -> ConnectionRecord? {
        guard m.connectionID != userID, let status = ConnectionState(rawValue: m.status.rawValue) else { return nil }
        return ConnectionRecord(user1: min(userID, m.connectionID), user2: max(userID, m.connectionID), status: status,
                                version: ChatTimestamp(microseconds: m.version.seconds * 1_000_000 + Int64(m.version.nanos / 1000)), targetID: m.targetUserID)
    }

    // MARK: profiles and searches

    public func profiles(_ ids: [Int64]) async -> [Int64: ProfilePublic] {
        guard !ids.isEmpty else { return [:] }
        return await attempt("profiles", [:]) {
            // One GET per key, pipelined (keys of different users live on different cluster slots).
            let replies = try await client.pipeline(ids.map { RedisCommand("GET", [.string(profileKey($0))], keyIndices: [0], isReadOnly: true) })
            var found: [Int64: ProfilePublic] = [:]
            for (id, reply) in zip(ids, replies) {
                if let buffer = try ByteBuffer?(fromRESP: try reply.get()), let m = Self.decode(Chatwire_ProfilePublic.self, buffer), m.userID == id {
                    found[id] = Self.profile(m)
                }
            }
            return found
        }
    }

    public func store(_ profiles: [ProfilePublic]) async {
        guard !profiles.isEmpty else { return }
        await attempt("store profiles", ()) {
            let commands = profiles.compactMap { profile in
                Self.bytes(Self.message(profile)).map {
                    RedisCommand("SET", [.string(profileKey(profile.userId)), .bytes($0), "EX", .integer(Int64(ttlSeconds))], keyIndices: [0])
                }
            }
            _ = try await client.pipeline(commands)
        }
    }

    public func search(_ pattern: String) async -> [ProfilePublic]? {
        await attempt("search", nil) {
            guard let buffer = try await client.send(RedisCommand("GET", [.string(searchKey(pattern))], keyIndices: [0], isReadOnly: true), as: ByteBuffer?.self),
                  let result = Self.decode(Chatwire_ProfileSearchResult.self, buffer) else { return nil }
            return result.profiles.map(Self.profile)
        }
    }

    public func store(search pattern: String, _ profiles: [ProfilePublic]) async {
        var result = Chatwire_ProfileSearchResult()
        result.profiles = profiles.map(Self.message)
        guard let value = Self.bytes(result) else { return }
        await attempt("store search", ()) {
            _ = try await client.send(RedisCommand("SET", [.string(searchKey(pattern)), .bytes(value), "EX", .integer(Int64(ttlSeconds))], keyIndices: [0]))
        }
    }

    /// Drops the user's cached profile. Cached search results that contain it live until their
    /// TTL, as in the reference (no key lists them).
    public func invalidate(_ userID: Int64) async {
        await attempt("invalidate", ()) {
            _ = try await client.delete(profileKey(userID))
        }
    }

    // MARK: connections

    public func connections(of userID: Int64) async -> [ConnectionRecord]? {
        await attempt("connections", nil) {
            let members = try await client.send(RedisCommand("SMEMBERS", [.string(connectionsKey(userID))], keyIndices: [0], isReadOnly: true), as: [ByteBuffer].self)
            guard !members.isEmpty else { return nil }
            var rows: [ConnectionRecord] = []
            for member in members {
                guard let m = Self.decode(Chatwire_Connection.self, member), let row = Self.row(m, of: userID) else { return nil }
                rows.append(row)
            }
            return rows.sorted { ($0.user1, $0.user2) < ($1.user1, $1.user2) }
        }
    }

    public func connection(of userID: Int64, with otherID: Int64) async -> ConnectionRecord? {
        await attempt("connection", nil) {
            guard let buffer = try await client.send(RedisCommand("GET", [.string(connectionKey(userID, otherID))], keyIndices: [0], isReadOnly: true), as: ByteBuffer?.self),
                  let m = Self.decode(Chatwire_Connection.self, buffer), m.connectionID == otherID else { return nil }
            return Self.row(m, of: userID)
        }
    }

    /// Replaces the user's set and per-connection keys in one script (one slot: atomic on a
    /// cluster too). An empty list is not cached.
    public func store(connections: [ConnectionRecord], of userID: Int64) async {
        let messages = connections.map { Self.message($0, of: userID) }
        let members = messages.compactMap { Self.bytes($0) }
        guard !members.isEmpty, members.count == messages.count else { return }
        let keys = [connectionsKey(userID)] + messages.map { connectionKey(userID, $0.connectionID) }
        await attempt("store connections", ()) {
            _ = try await Self.replaceConnections.run(on: client, keys: keys, arguments: [ttlSeconds] + members)
        }
    }

    /// Drops each user's set and its keys for the other users in `userIDs` (a connection
    /// command names the two users of one connection).
    public func invalidateConnections(of userIDs: [Int64]) async {
        await attempt("invalidate connections", ()) {
            for id in userIDs {
                let keys = [connectionsKey(id)] + userIDs.filter { $0 != id }.map { connectionKey(id, $0) }
                _ = try await client.send(RedisCommand("DEL", keys.map { .string($0) }, keyIndices: Array(keys.indices)))
            }
        }
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    fileprivate func floorDivided(by d: Int64) -> Int64 { (self - floorModulo(d)) / d }
    /// The remainder of ``floorDivided(by:)``, always in 0..<d.
    fileprivate func floorModulo(_ d: Int64) -> Int64 { ((self % d) + d) % d }
}
