import ChatServer
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PGWire
import RedisWire
import ServiceLifecycle
import Testing

/// The distributed adapters against the real peers: PostgreSQL 15 (PGWire), the CQL test node
/// standing in for Cassandra (CQLClient) and Redis 7 (RedisWire), each test on its own
/// database, keyspace and key prefix.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DistributedAdapterTests {
    static var logger: Logger {
        var logger = Logger(label: "chat-dist-test")
        logger.logLevel = .warning
        return logger
    }

    /// Opens the adapters of a fresh distributed deployment, runs `body`, shuts the clients down.
    static func withAdapters<T: Sendable>(_ deployment: ChatDeployment? = nil, dataDirectory: String? = nil,
                                          _ body: (AdapterSet) async throws -> T) async throws -> T? {
        guard PeerEnvironment.requireAll() else { return nil }
        let dir = dataDirectory ?? TestServer.temporaryDirectory()
        let deployment = try #require(deployment ?? PeerEnvironment.deployment(for: dir))
        let adapters = try await AdapterSet.make(deployment: deployment, dataDirectory: dir, synchronousFull: false,
                                                 configDefaults: DynamicConfig.defaults(address: "http://127.0.0.1:1"), logger: logger)
        let group = ServiceGroup(services: adapters.services, gracefulShutdownSignals: [], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            var result: T?
            do { result = try await body(adapters) } catch { failure = error }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            if let failure { throw failure }
            return result
        }
    }

    static func register(_ users: any UserStore, _ name: String) async throws -> ProfileFull? {
        try await users.register(userName: name, passwordHash: "1:x:y", displayName: "User \(name)", avatarURL: "https://cdn/\(name).jpg",
                                 phone: "0888123456", email: "\(name)@example.com")
    }

    @Test func postgresMigrationsAreIdempotentAndBuildTheReferenceSchema() async throws {
        let dir = TestServer.temporaryDirectory()
        _ = try await Self.withAdapters(dataDirectory: dir) { (adapters: AdapterSet) async throws in
            #expect(adapters.summary.contains("users=postgres"))
            #expect(try await Self.register(adapters.users, "anna") != nil)
        }
        // A second start on the same database applies nothing again and keeps the data.
        _ = try await Self.withAdapters(dataDirectory: dir) { (adapters: AdapterSet) async throws in
            #expect(try await adapters.users.user(named: "anna")?.profile.userId == 1)
        }
        guard let postgres = PeerEnvironment.postgres else { return }
        let client = try PostgresClient("postgresql://postgres@\(postgres)/\(PeerEnvironment.uniqueName(dir))?sslmode=disable", logger: Self.logger)
        let versions = try await client.query("SELECT version FROM schema_migrations ORDER BY version").rows.map { try $0.decode(column: 0, as: Int32.self) }
        #expect(versions == [1, 2])
        // pg_trgm ships with PostgreSQL 15 here: the reference's trigram index exists and serves LIKE '%p%'.
        let indexes = try await client.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'profiles' ORDER BY indexname").rows
            .map { try $0.decode((String, String).self) }
        let trigram = try #require(indexes.first { $0.0 == "profiles_username_trgm" })
        #expect(trigram.1.contains("gin_trgm_ops"))
        #expect(indexes.contains { $0.0 == "profiles_username_unique" })
        let identity = try await client.query("SELECT is_identity FROM information_schema.columns WHERE table_name = 'profiles' AND column_name = 'user_id'").rows
        #expect(try identity.first?.decode(column: 0, as: String.self) == "YES")
        await client.shutdown()
    }

    @Test func postgresMapsSQLStatesToConflicts() async throws {
        _ = try await Self.withAdapters { (adapters: AdapterSet) async throws in
            let users = adapters.users
            let anna = try #require(try await Self.register(users, "anna"))
            let bert = try #require(try await Self.register(users, "bert"))
            // 23505 on profiles_username_unique: the name is taken.
            #expect(try await Self.register(users, "anna") == nil)
            // Optimistic concurrency: the current version wins once, a stale one conflicts.
            guard case .updated(let v2) = try await users.updateProfile(userID: anna.userId, displayName: "Anna A", version: anna.version) else {
                Issue.record("first update refused"); return
            }
            #expect(v2 > anna.version)
            #expect(try await users.updateProfile(userID: anna.userId, displayName: "Anna B", version: anna.version) == .concurrentlyUpdated)
            #expect(try await users.changePassword(userID: 999_999, newHash: "h", version: anna.version) == .missing)
            #expect(try await users.user(id: anna.userId)?.profile.version == v2)
            // 23503 on a connections foreign key: missing user; 23505 on connections_pkey: already exists.
            #expect(try await users.invite(from: anna.userId, to: 999_999) == .missingUser)
            guard case .success(let invited) = try await users.invite(from: anna.userId, to: bert.userId) else { Issue.record("invite failed"); return }
            #expect(invited.status == .pending && invited.targetID == bert.userId)
            #expect(try await users.invite(from: bert.userId, to: anna.userId) == .alreadyExists)
            #expect(try await users.approve(by: anna.userId, other: bert.userId, version: invited.version) == .invalid("Invalid target ID or status"))
            guard case .success(let approved) = try await users.approve(by: bert.userId, other: anna.userId, version: invited.version) else {
                Issue.record("approve failed"); return
            }
            #expect(try await users.remove(by: anna.userId, other: bert.userId, version: invited.version) == .concurrentlyUpdated)
            guard case .success(let removed) = try await users.remove(by: anna.userId, other: bert.userId, version: approved.version) else {
                Issue.record("remove failed"); return
            }
            #expect(removed.status == .notConnected)
            // A NotConnected row is re-invited in place.
            guard case .success(let again) = try await users.invite(from: bert.userId, to: anna.userId) else { Issue.record("re-invite failed"); return }
            #expect(again.targetID == anna.userId && again.version > removed.version)
            #expect(try await users.connections(of: anna.userId).map(\.status) == [.pending])
            // 23505 on files_pkey: duplicate file; access grants are versioned and idempotent.
            let version = try #require(try await users.associateFile(bucket: "files-b", path: "1/abc.png", ownerID: anna.userId, contentType: "image/png", allowedUserID: 0))
            #expect(try await users.associateFile(bucket: "files-b", path: "1/abc.png", ownerID: bert.userId, contentType: "image/png", allowedUserID: 0) == nil)
            guard case .updated(let granted) = try await users.addFileAccess(bucket: "files-b", path: "1/abc.png", ownerID: anna.userId, allowedUserID: bert.userId, version: version) else {
                Issue.record("grant failed"); return
            }
            #expect(try await users.addFileAccess(bucket: "files-b", path: "1/abc.png", ownerID: anna.userId, allowedUserID: bert.userId, version: version) == .concurrentlyUpdated)
            #expect(try await users.addFileAccess(bucket: "files-b", path: "1/abc.png", ownerID: bert.userId, allowedUserID: bert.userId, version: granted) == .missing)
            #expect(try await users.file(bucket: "files-b", path: "1/abc.png")?.allowedUsers == [bert.userId])
            #expect(try await users.files(of: anna.userId, newerThan: ChatTimestamp(microseconds: 0)).count == 1)
            // Search: LIKE '%p%' with LIKE metacharacters taken literally.
            #expect(try await users.searchProfiles(pattern: "nn", limit: 10).map(\.userName) == ["anna"])
            #expect(try await users.searchProfiles(pattern: "%", limit: 10).isEmpty)
            // Config: new element that exists → conflict; stale version → conflict; nothing applied.
            let elements = try await adapters.configStore.elements()
            let count = try #require(elements.first { $0.name == "history.message-count" })
            await #expect(throws: ConfigUpdateError.newElementsExist) {
                try await adapters.configStore.update(ConfigUpdateRequest(newElements: [ConfigElement(name: "history.message-count", value: "20", version: .now())]))
            }
            var changed = count
            changed.value = "20"
            #expect(try await adapters.configStore.update(ConfigUpdateRequest(existingElements: [changed])) == ["history"])
            await #expect(throws: ConfigUpdateError.concurrentlyUpdated) {
                try await adapters.configStore.update(ConfigUpdateRequest(existingElements: [changed]))
            }
            #expect(try await adapters.configStore.elements().first { $0.name == "history.message-count" }?.value == "20")
        }
    }

    @Test func postgresTriesTheNextHost() async throws {
        guard PeerEnvironment.requireAll(), let postgres = PeerEnvironment.postgres else { return }
        let dir = TestServer.temporaryDirectory()
        var deployment = try #require(PeerEnvironment.deployment(for: dir))
        // Port 1 on loopback refuses connections: the first host is down, the second serves.
        deployment.postgres = "127.0.0.1:1," + postgres
        _ = try await Self.withAdapters(deployment, dataDirectory: dir) { (adapters: AdapterSet) async throws in
            #expect(try await Self.register(adapters.users, "carl") != nil)
            try await adapters.readiness()
        }
    }

    static func text(_ id: Int64, from sender: Int64, to receiver: Int64, _ text: String) -> Chatwire_BackplaneMessage {
        var m = Chatwire_BackplaneMessage()
        m.messageID = id
        m.senderID = sender
        m.receiverID = receiver
        m.targetUserID = receiver
        m.type = .plainText
        var body = Chatwire_BackplanePlainText()
        body.text = text
        m.messageData = .plainText(body)
        return m
    }

    @Test func cassandraHistoryReactionsAndChatState() async throws {
        _ = try await Self.withAdapters { (adapters: AdapterSet) async throws in
            let store = adapters.chats
            #expect(adapters.summary.contains("chats=cassandra"))
            #expect(try await store.committedOffset() == 0)
            let ids = SnowflakeGenerator(generatorID: 7)
            var batch: [Chatwire_BackplaneMessage] = []
            var sent: [Int64] = []
            for i in 0..<40 {
                let id = ids.next()
                sent.append(id)
                batch.append(Self.text(id, from: i.isMultiple(of: 2) ? 1 : 2, to: i.isMultiple(of: 2) ? 2 : 1, "m\(i)"))
            }
            var file = Chatwire_BackplaneMessage()
            file.messageID = ids.next()
            file.senderID = 2
            file.receiverID = 1
            file.targetUserID = 1
            file.type = .file
            var fileBody = Chatwire_BackplaneFile()
            fileBody.text = "see"
            fileBody.bucket = "files-2026-11-29"
            fileBody.path = "2/abcdefghijklmnopqrstuvwxyz.png"
            file.messageData = .file(fileBody)
            batch.append(file)
            var reaction = Chatwire_BackplaneMessage()
            reaction.messageID = sent[3]
            reaction.senderID = 2
            reaction.receiverID = 1
            reaction.targetUserID = 2
            reaction.type = .reaction
            var reactionBody = Chatwire_BackplaneReaction()
            reactionBody.reactorID = 1
            reactionBody.reaction = "👍"
            reaction.messageData = .reaction(reactionBody)
            batch.append(reaction)
            var seen = Chatwire_BackplaneMessage()
            seen.messageID = sent[38]
            seen.senderID = 1
            seen.receiverID = 2
            seen.targetUserID = 1
            seen.type = .delivery
            seen.messageData = .status(.seen)
            batch.append(seen)

            try await store.apply(batch, committing: 43)
            // Replaying the same batch (a consumer restarting from an older offset) changes nothing.
            try await store.apply(batch, committing: 43)
            #expect(try await store.committedOffset() == 43)

            let chat = ChatID(1, 2).description
            let page = try await store.history(chatID: chat, olderThan: .max, limit: 32)
            #expect(page.count == 32)
            #expect(page.map(\.messageId) == Array(([file.messageID] + sent).sorted(by: >).prefix(32)))
            #expect(page.first?.type == .file && page.first?.file == FileData(bucket: fileBody.bucket, path: fileBody.path) && page.first?.text == "see")
            let older = try await store.history(chatID: chat, olderThan: page.last!.messageId, limit: 32)
            #expect(older.count == 9)
            #expect(try await store.message(chatID: chat, messageID: sent[3])?.reactions == ["1": "👍"])

            // Unreact: a map-element delete.
            reactionBody.reaction = ""
            reaction.messageData = .reaction(reactionBody)
            try await store.apply([reaction], committing: 44)
            #expect(try await store.message(chatID: chat, messageID: sent[3])?.reactions == [:])

            // State: both rows at the newest message; user 1's view of user 2 saw sent[38].
            let one = try await store.userChats(userID: 1, newerThan: 0)
            #expect(one == [ChatSummary(chatId: chat, newestMessage: file.messageID, otherUserDelivered: sent[38], otherUserSeen: sent[38])])
            #expect(try await store.userChats(userID: 2, newerThan: 0).first?.newestMessage == file.messageID)
            #expect(try await store.userChats(userID: 2, newerThan: file.messageID).isEmpty)
            // An older message applied late never lowers the state.
            try await store.apply([Self.text(sent[0] - 1, from: 1, to: 2, "late")], committing: 45)
            #expect(try await store.userChats(userID: 1, newerThan: 0).first?.newestMessage == file.messageID)
        }
    }

    /// The cache on one Redis server and on the Redis cluster (as the reference deploys it).
    @Test(arguments: [false, true]) func redisCachesAndInvalidates(cluster: Bool) async throws {
        guard PeerEnvironment.requireAll() else { return }
        let dir = TestServer.temporaryDirectory()
        var deployment = try #require(PeerEnvironment.deployment(for: dir))
        if cluster {
            guard let seeds = PeerEnvironment.require(PeerEnvironment.redisCluster, "WIRESTACK_REDIS_CLUSTER") else { return }
            deployment.redis = seeds
        }
        _ = try await Self.withAdapters(deployment, dataDirectory: dir) { (adapters: AdapterSet) async throws in
            let cache = adapters.cache
            #expect(adapters.summary.contains(cluster ? "cache=redis-cluster" : "cache=redis "))
            let anna = ProfilePublic(userId: 11, userName: "anna", displayName: "Anna", avatarUrl: "a")
            let bert = ProfilePublic(userId: 12, userName: "bert", displayName: "Bert", avatarUrl: "b")
            #expect(await cache.profiles([11, 12]).isEmpty)
            await cache.store([anna, bert])
            #expect(await cache.profiles([11, 12, 13]) == [11: anna, 12: bert])
            await cache.store(search: "ann", [anna])
            #expect(await cache.search("ann") == [anna])
            await cache.invalidate(11)
            #expect(await cache.profile(11) == nil)
            #expect(await cache.profile(12) == bert)
            // As in the reference, search results live until their TTL (no key lists them).
            #expect(await cache.search("ann") == [anna])
            #expect(await cache.connections(of: 11) == nil)
            // As in the reference, an empty list is not cached (a Redis set cannot be empty).
            await cache.store(connections: [], of: 11)
            #expect(await cache.connections(of: 11) == nil)
            let row = ConnectionRecord(user1: 11, user2: 12, status: .pending, version: ChatTimestamp(microseconds: 1_700_000_000_000_001), targetID: 12)
            let friend = ConnectionRecord(user1: 12, user2: 30, status: .connected, version: ChatTimestamp(microseconds: 1_700_000_000_000_002), targetID: 0)
            await cache.store(connections: [row, friend], of: 12)
            #expect(await cache.connections(of: 12) == [row, friend])
            #expect(await cache.connection(of: 12, with: 11) == row)
            #expect(await cache.connection(of: 12, with: 30) == friend)
            #expect(await cache.connection(of: 11, with: 12) == nil)
            if !cluster, let url = PeerEnvironment.redis {
                try await Self.expectReferenceLayout(url: url, prefix: deployment.redisPrefix)
            }
            await cache.invalidateConnections(of: [11, 12])
            #expect(await cache.connections(of: 12) == nil)
            #expect(await cache.connection(of: 12, with: 11) == nil)
            #expect(await cache.connection(of: 12, with: 30) == friend)

            // Config changes announced by one feed reach another instance's feed.
            guard let feed = adapters.configFeed as? RedisConfigChangeFeed else { Issue.record("no Redis config feed"); return }
            let other = AdapterSetProbe()
            let second = try await Self.withAdapters(deployment, dataDirectory: TestServer.temporaryDirectory()) { (peer: AdapterSet) async throws -> Set<String> in
                let peerFeed = try #require(peer.configFeed as? RedisConfigChangeFeed)
                peerFeed.onChange { sections in other.record(sections) }
                await peerFeed.waitUntilSubscribed()
                try await feed.announce(["history", "partitioning"])
                try await eventually { other.received != [] }
                return other.received
            }
            #expect(second == ["history", "partitioning"])
        }
    }

    /// The keys and values the cache wrote, read raw: the reference's layout (`profiles:<id>`,
    /// `profile-search:<pattern>`, the set `connections:{<id>}`, `connections:{<id>}:<other>`)
    /// with protobuf values (ProfilePublic, ProfileSearchResult, Connection).
    static func expectReferenceLayout(url: String, prefix: String) async throws {
        let redis = try RedisClient(url: url, logger: logger)
        let task = Task { try await redis.run() }
        defer { task.cancel() }
        let profile = try #require(try await redis.send(RedisCommand("GET", [.string(prefix + "profiles:12")]), as: ByteBuffer?.self))
        #expect(try Chatwire_ProfilePublic(serializedBytes: Array(profile.readableBytesView)).displayName == "Bert")
        let search = try #require(try await redis.send(RedisCommand("GET", [.string(prefix + "profile-search:ann")]), as: ByteBuffer?.self))
        #expect(try Chatwire_ProfileSearchResult(serializedBytes: Array(search.readableBytesView)).profiles.map(\.userName) == ["anna"])
        #expect(try await redis.send(RedisCommand("TYPE", [.string(prefix + "connections:{12}")]), as: String.self) == "set")
        let members = try await redis.send(RedisCommand("SMEMBERS", [.string(prefix + "connections:{12}")]), as: [ByteBuffer].self)
        let connections = try members.map { try Chatwire_Connection(serializedBytes: Array($0.readableBytesView)) }
        #expect(Set(connections.map(\.connectionID)) == [11, 30])
        let pair = try #require(try await redis.send(RedisCommand("GET", [.string(prefix + "connections:{12}:11")]), as: ByteBuffer?.self))
        let connection = try Chatwire_Connection(serializedBytes: Array(pair.readableBytesView))
        #expect(connection.connectionID == 11 && connection.status == .pending && connection.targetUserID == 12)
        #expect(connection.version.seconds == 1_700_000_000 && connection.version.nanos == 1000)
        // Nothing else: no index keys beside the reference's.
        let keys = try await redis.send(RedisCommand("KEYS", [.string(prefix + "*")]), as: [String].self).filter { !$0.hasPrefix(prefix + "config-changes") }
        #expect(Set(keys) == Set(["profiles:12", "profile-search:ann", "connections:{12}", "connections:{12}:11", "connections:{12}:30"].map { prefix + $0 }))
    }

    /// Two instances share PostgreSQL, Cassandra and Redis: a user registered on one logs in on
    /// the other, and an admin config change on one reaches the other over Redis pub/sub.
    @Test func twoInstancesShareStateAndConfigChanges() async throws {
        guard PeerEnvironment.requireAll() else { return }
        let shared = try #require(PeerEnvironment.deployment(for: TestServer.temporaryDirectory()))
        let second = { () -> ChatDeployment in
            var deployment = shared
            deployment.serverID = 1
            return deployment
        }()
        try await TestServer.run(deployment: shared) { portA in
            try await TestServer.run(deployment: second) { portB in
                let a = try await TestUser.make("alice", port: portA)
                let onB = ChatClient(host: "127.0.0.1", port: portB)
                let session = try await onB.logIn(userName: "alice", password: "password-123")
                #expect(session.profile.userId == a.id)

                let headers = HTTPHeaders([("Authorization", "Bearer \(TestServer.adminToken)"), ("Content-Type", "application/json")])
                let listed = try await onB.send(.GET, "/api/config", headers: headers, body: nil, authorized: false)
                let config = try JSONDecoder().decode(ConfigResponse.self, from: Data(listed.body.readableBytesView))
                var pageSize = try #require(config.elements.first { $0.name == "history.message-count" })
                pageSize.value = "16"
                let body = ByteBuffer(bytes: try JSONEncoder().encode(ConfigUpdateRequest(existingElements: [pageSize])))
                #expect(try await onB.send(.PUT, "/api/config", headers: headers, body: body, authorized: false).status == 200)

                // Instance A picks the change up from the announcement: its history pages shrink to 16.
                let b = try await TestUser.make("bobby", port: portB)
                let realtime = try await a.client.connectRealtime()
                for i in 0..<20 { _ = try await realtime.sendPlainText(to: b.id, text: "m\(i)") }
                try await eventually(20) { try await a.client.history(with: b.id).count == 16 }
            }
        }
    }
}

/// Collects the sections a config feed delivered.
final class AdapterSetProbe: Sendable {
    private let sections = Mutex2<Set<String>>([])
    func record(_ new: Set<String>) { sections.set(sections.get().union(new)) }
    var received: Set<String> { sections.get() }
}
