import ChatWire
import Foundation
import Logging
import RedisWire

/// ``UserCache`` on Redis through RedisWire, with the reference's key layout under a prefix:
/// `profiles:<userId>` (a public profile), `profile-search:<pattern>` (a search result) and
/// `connections:{<userId>}` (a set with one member per connection; the braces are a literal
/// hash tag keeping a user's keys on one cluster slot). Values are JSON (the reference stores
/// protobuf; this server's profile DTOs are Codable structs). Entries expire after the TTL;
/// unlike the reference, edits invalidate them. Redis errors become cache misses. Every command
/// touches one key (or one hash-tagged user), so the cache runs on a cluster as well.
public struct RedisUserCache: UserCache {
    let client: any ChatRedisClient
    let prefix: String
    let ttlSeconds: Int
    let logger: Logger

    /// `DEL key; SADD key members...; EXPIRE key ttl` in one step.
    static let replaceSet = RedisScript("""
        redis.call('DEL', KEYS[1])
        redis.call('SADD', KEYS[1], unpack(ARGV, 2))
        return redis.call('EXPIRE', KEYS[1], ARGV[1])
        """)

    /// Marks a cached connection list, so an empty list is cached too.
    static let listMarker = "-"

    /// A cache on `client`, keys under `prefix`, entries living `ttlSeconds`.
    public init(client: any ChatRedisClient, prefix: String = "", ttlSeconds: Int = 300, logger: Logger) {
        self.client = client
        self.prefix = prefix
        self.ttlSeconds = ttlSeconds
        self.logger = logger
    }

    func profileKey(_ id: Int64) -> String { "\(prefix)profiles:\(id)" }
    func searchKey(_ pattern: String) -> String { "\(prefix)profile-search:\(pattern)" }
    /// The set of cached search keys, dropped when a profile changes.
    var searchIndexKey: String { "\(prefix)profile-search-keys" }
    func connectionsKey(_ id: Int64) -> String { "\(prefix)connections:{\(id)}" }

    private func attempt<T>(_ what: String, _ fallback: T, _ body: () async throws -> T) async -> T {
        do { return try await body() } catch {
            logger.warning("user cache unavailable; using the store", metadata: ["operation": "\(what)", "error": "\(error)"])
            return fallback
        }
    }

    private static func encode(_ value: some Encodable) -> String? {
        (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }

    public func profiles(_ ids: [Int64]) async -> [Int64: ProfilePublic] {
        guard !ids.isEmpty else { return [:] }
        return await attempt("profiles", [:]) {
            // One GET per key, pipelined (keys of different users live on different cluster slots).
            let replies = try await client.pipeline(ids.map { RedisCommand("GET", [.string(profileKey($0))], keyIndices: [0], isReadOnly: true) })
            var found: [Int64: ProfilePublic] = [:]
            for (id, reply) in zip(ids, replies) {
                if let text = try String?(fromRESP: try reply.get()), let profile = Self.decode(ProfilePublic.self, text), profile.userId == id {
                    found[id] = profile
                }
            }
            return found
        }
    }

    public func store(_ profiles: [ProfilePublic]) async {
        guard !profiles.isEmpty else { return }
        await attempt("store profiles", ()) {
            let commands = profiles.compactMap { profile in
                Self.encode(profile).map { RedisCommand("SET", [.string(profileKey(profile.userId)), .string($0), "EX", .integer(Int64(ttlSeconds))], keyIndices: [0]) }
            }
            _ = try await client.pipeline(commands)
        }
    }

    public func search(_ pattern: String) async -> [ProfilePublic]? {
        await attempt("search", nil) {
            try await client.get(searchKey(pattern)).flatMap { Self.decode([ProfilePublic].self, $0) }
        }
    }

    public func store(search pattern: String, _ profiles: [ProfilePublic]) async {
        guard let value = Self.encode(profiles) else { return }
        await attempt("store search", ()) {
            try await client.set(searchKey(pattern), to: value, expiration: .seconds(ttlSeconds))
            _ = try await client.sadd(searchIndexKey, [searchKey(pattern)])
            _ = try await client.expire(searchIndexKey, after: .seconds(ttlSeconds))
        }
    }

    public func invalidate(_ userID: Int64) async {
        await attempt("invalidate", ()) {
            _ = try await client.delete(profileKey(userID))
            // Search results may embed the old display name.
            let searches = try await client.smembers(searchIndexKey)
            guard !searches.isEmpty else { return }
            for key in searches { _ = try await client.delete(key) }
            _ = try await client.srem(searchIndexKey, Array(searches))
        }
    }

    public func connections(of userID: Int64) async -> [ConnectionRecord]? {
        await attempt("connections", nil) {
            let members = try await client.smembers(connectionsKey(userID))
            guard members.contains(Self.listMarker) else { return nil }
            var rows: [ConnectionRecord] = []
            for member in members where member != Self.listMarker {
                guard let row = Self.decode(ConnectionRecord.self, member) else { return nil }
                rows.append(row)
            }
            return rows.sorted { ($0.user1, $0.user2) < ($1.user1, $1.user2) }
        }
    }

    public func store(connections: [ConnectionRecord], of userID: Int64) async {
        let members = [Self.listMarker] + connections.compactMap { Self.encode($0) }
        let key = connectionsKey(userID)
        await attempt("store connections", ()) {
            // Replace the set atomically (one key: also atomic on a cluster).
            _ = try await Self.replaceSet.run(on: client, keys: [key], arguments: [ttlSeconds] + members)
        }
    }

    public func invalidateConnections(of userIDs: [Int64]) async {
        await attempt("invalidate connections", ()) {
            for id in userIDs { _ = try await client.delete(connectionsKey(id)) }
        }
    }
}
