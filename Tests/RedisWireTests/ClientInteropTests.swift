import NIOCore
import Synchronization
import Testing
import WireCore
@testable import RedisWire

struct UserProfile: Codable, Equatable, Sendable {
    var id: Int
    var name: String
    var tags: [String]
}

@Suite("RedisClient against a real Redis", .serialized)
struct ClientInteropTests {
    static func configuration() throws -> RedisClientConfiguration? {
        guard let url = PeerEnvironment.redisURL else { return nil }
        return try RedisClientConfiguration(url: url)
    }

    @Test func typedCommands() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            // strings
            #expect(try await client.set(p + "s", to: "v1"))
            #expect(try await client.set(p + "s", to: "v2", condition: .ifNotExists) == false)
            #expect(try await client.get(p + "s") == "v1")
            #expect(try await client.increment(p + "n") == 1)
            #expect(try await client.increment(p + "n", by: 41) == 42)
            #expect(try await client.decrement(p + "n") == 41)
            #expect(try await client.increment(p + "f", byFloat: 1.5) == 1.5)
            #expect(try await client.append(p + "s", "!") == 3)
            #expect(try await client.stringLength(p + "s") == 3)
            try await client.mset([(p + "m1", "a"), (p + "m2", 2)])
            #expect(try await client.mget([p + "m1", p + "m2", p + "missing"]) == ["a", "2", nil])
            #expect(try await client.getDelete(p + "m1") == "a")
            // keys and expiry
            #expect(try await client.exists(p + "s", p + "m2", p + "m1") == 2)
            #expect(try await client.set(p + "e", to: "x", expiration: .seconds(100)))
            let ttl = try #require(try await client.timeToLive(p + "e"))
            #expect(ttl > .seconds(90) && ttl <= .seconds(100))
            #expect(try await client.persist(p + "e"))
            #expect(try await client.timeToLive(p + "e") == nil)
            #expect(try await client.expire(p + "e", after: .milliseconds(50)))
            #expect(await eventually { try await client.exists(p + "e") == 0 })
            #expect(try await client.keyType(p + "s") == "string")
            try await client.rename(p + "s", to: p + "s2")
            #expect(try await client.scan(match: p + "s*").sorted() == [p + "s2"])
            // hashes
            #expect(try await client.hset(p + "h", fields: [("a", 1), ("b", "two")]) == 2)
            #expect(try await client.hget(p + "h", field: "b") == "two")
            #expect(try await client.hgetall(p + "h") == ["a": "1", "b": "two"])
            #expect(try await client.hincrby(p + "h", field: "a", by: 9) == 10)
            #expect(try await client.hmget(p + "h", fields: ["a", "zz"]) == ["10", nil])
            #expect(try await client.hexists(p + "h", field: "a"))
            #expect(try await client.hlen(p + "h") == 2)
            #expect(Set(try await client.hkeys(p + "h")) == ["a", "b"])
            #expect(try await client.hdel(p + "h", fields: ["a"]) == 1)
            // lists
            #expect(try await client.rpush(p + "l", ["a", "b", "c"]) == 3)
            #expect(try await client.lpush(p + "l", ["z"]) == 4)
            #expect(try await client.lrange(p + "l", 0, -1) == ["z", "a", "b", "c"])
            #expect(try await client.lpop(p + "l") == "z")
            #expect(try await client.rpop(p + "l") == "c")
            #expect(try await client.lindex(p + "l", 1) == "b")
            #expect(try await client.llen(p + "l") == 2)
            try await client.ltrim(p + "l", 0, 0)
            #expect(try await client.lrange(p + "l", 0, -1) == ["a"])
            let popped = try await client.blpop([p + "l"], timeout: .seconds(1))
            #expect(popped?.key == p + "l" && popped?.value == "a")
            #expect(try await client.blpop([p + "l"], timeout: .milliseconds(100)) == nil)
            // sets
            #expect(try await client.sadd(p + "set1", ["a", "b", "c"]) == 3)
            #expect(try await client.sadd(p + "set2", ["b", "c", "d"]) == 3)
            #expect(try await client.smembers(p + "set1") == ["a", "b", "c"])
            #expect(try await client.sismember(p + "set1", "a"))
            #expect(try await client.scard(p + "set1") == 3)
            #expect(try await client.sinter([p + "set1", p + "set2"]) == ["b", "c"])
            #expect(try await client.sunion([p + "set1", p + "set2"]) == ["a", "b", "c", "d"])
            #expect(try await client.srem(p + "set1", ["a"]) == 1)
            // sorted sets
            #expect(try await client.zadd(p + "z", [("a", 1), ("b", 2.5), ("c", 3)]) == 3)
            #expect(try await client.zscore(p + "z", "b") == 2.5)
            #expect(try await client.zincrby(p + "z", "a", by: 10) == 11)
            #expect(try await client.zrange(p + "z", 0, -1) == ["b", "c", "a"])
            #expect(try await client.zrange(p + "z", 0, 0, reverse: true) == ["a"])
            let withScores = try await client.zrangeWithScores(p + "z", 0, -1)
            #expect(withScores.map(\.member) == ["b", "c", "a"])
            #expect(withScores.map(\.score) == [2.5, 3, 11])
            #expect(try await client.zrangeByScore(p + "z", min: 2, max: 3) == ["b", "c"])
            #expect(try await client.zrank(p + "z", "c") == 1)
            #expect(try await client.zcard(p + "z") == 3)
            #expect(try await client.zrem(p + "z", ["c"]) == 1)
            // wrong type → typed server error
            await #expect(throws: RedisServerError.self) { _ = try await client.lpop(p + "z") }
            do { _ = try await client.lpop(p + "z") } catch let e as RedisServerError { #expect(e.code == "WRONGTYPE") }
            // raw API
            #expect(try await client.send("OBJECT", "ENCODING", .string(p + "z")).string == "listpack")
            _ = try await client.delete(try await client.scan(match: p + "*"))
        }
    }

    @Test func typedCommandsOverRESP2() async throws {
        guard var config = try Self.configuration() else { return }
        config.connection.protocolVersion = .resp2
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            try await client.hset(p + "h", fields: [("a", 1)])
            #expect(try await client.hgetall(p + "h") == ["a": "1"])
            try await client.zadd(p + "z", [("m", 1.5)])
            #expect(try await client.zscore(p + "z", "m") == 1.5)
            #expect(try await client.zrangeWithScores(p + "z", 0, -1).map(\.score) == [1.5])
            _ = try await client.xadd(p + "x", fields: [("f", "v")])
            let read = try await client.xread(streams: [(p + "x", "0")])
            #expect(read.first?.entries.first?["f"] == "v")
            _ = try await client.delete([p + "h", p + "z", p + "x"])
        }
    }

    @Test func streams() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        let stream = p + "events"
        try await PeerEnvironment.withClient(config) { client in
            let id1 = try await client.xadd(stream, fields: [("user", "ann"), ("n", 1)])
            let id2 = try await client.xadd(stream, fields: [("user", "bob"), ("n", 2)], maxLength: 1000)
            #expect(try await client.xlen(stream) == 2)
            let all = try await client.xrange(stream)
            #expect(all.map(\.id) == [id1, id2])
            #expect(all[0]["user"] == "ann")
            let read = try await client.xread(streams: [(stream, "0")], count: 10)
            #expect(read.count == 1 && read[0].stream == stream && read[0].entries.count == 2)
            // blocking read with nothing new times out with an empty result
            #expect(try await client.xread(streams: [(stream, "$")], block: .milliseconds(50)).isEmpty)
            // consumer groups
            try await client.xgroupCreate(stream, group: "g", startingAt: "0")
            let got = try await client.xreadgroup(group: "g", consumer: "c1", streams: [(stream, ">")], count: 10)
            #expect(got.first?.entries.map(\.id) == [id1, id2])
            let summary = try await client.xpending(stream, group: "g")
            #expect(summary.count == 2 && summary.consumers == ["c1": 2] && summary.smallestID == id1 && summary.largestID == id2)
            let detail = try await client.xpending(stream, group: "g", count: 10)
            #expect(detail.map(\.id) == [id1, id2] && detail.allSatisfy { $0.consumer == "c1" && $0.deliveries == 1 })
            #expect(try await client.xack(stream, group: "g", ids: [id1]) == 1)
            #expect(try await client.xpending(stream, group: "g").count == 1)
            // a blocked XREADGROUP is woken by a concurrent XADD (runs on its own connection)
            async let woken = client.xreadgroup(group: "g", consumer: "c2", streams: [(stream, ">")], block: .seconds(5))
            try await Task.sleep(for: .milliseconds(100))
            let id3 = try await client.xadd(stream, fields: [("user", "cy")])
            #expect(try await woken.first?.entries.first?.id == id3)
            try await client.delete(stream)
        }
    }

    @Test func scriptsLoadOnNoScript() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            // A unique body, so the server has certainly never seen it: the first EVALSHA gets NOSCRIPT.
            let script = RedisScript("-- \(p)\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])")
            await #expect(throws: RedisServerError.self) { _ = try await client.evalsha(script.sha1, keys: [p + "c"], arguments: [1]) }
            #expect(try await script.run(on: client, keys: [p + "c"], arguments: [5], as: Int.self) == 5)
            #expect(try await script.run(on: client, keys: [p + "c"], arguments: [2], as: Int.self) == 7)
            #expect(try await client.eval("return ARGV[1]", arguments: ["x"]).string == "x")
            try await client.delete(p + "c")
        }
    }

    @Test func codableValues() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            let profile = UserProfile(id: 7, name: "Ann", tags: ["a", "b"])
            try await client.set(p + "u", encoding: profile, coder: JSONRedisCoder())
            #expect(try await client.get(p + "u", decoding: UserProfile.self) == profile)
            #expect(try await client.get(p + "none", decoding: UserProfile.self) == nil)
            try await client.hset(p + "h", field: "u", encoding: profile)
            #expect(try await client.hget(p + "h", field: "u", decoding: UserProfile.self) == profile)
            try await client.delete(p + "u", p + "h")
        }
    }

    @Test func explicitPipelineReturnsEachResult() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            let results = try await client.pipeline([
                RedisCommand("SET", .string(p + "k"), "1"),
                RedisCommand("INCR", .string(p + "k")),
                RedisCommand("LPUSH", .string(p + "k"), "x"),   // WRONGTYPE
                RedisCommand("GET", .string(p + "k")),
            ])
            #expect(results.count == 4)
            #expect(try results[0].get() == .simpleString("OK"))
            #expect(try results[1].get() == .integer(2))
            guard case .failure(let e) = results[2] else { Issue.record("expected failure"); return }
            #expect(e.code == "WRONGTYPE")
            #expect(try results[3].get() == .bulk("2"))
            try await client.delete(p + "k")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func concurrentPipelinesEachGetTheirOwnRepliesInOrder() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            // 40 callers on the client's few shared connections, 8 pipelines of 16 commands each:
            // replies of interleaved pipelines must never cross, and one failing command (WRONGTYPE)
            // in every pipeline fails only itself.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<40 {
                    group.addTask {
                        let counter = p + "n\(caller)", text = p + "s\(caller)"
                        try await client.set(text, to: "x")
                        for round in 0..<8 {
                            var commands = (1...15).map { RedisCommand("INCRBY", [.string(counter), .integer(Int64($0))], keyIndices: [0]) }
                            commands.insert(RedisCommand("INCR", [.string(text)], keyIndices: [0]), at: 7)
                            let results = try await client.pipeline(commands)
                            #expect(results.count == 16)
                            var expected = Int64(round * 120)
                            for (i, result) in results.enumerated() {
                                if i == 7 {
                                    guard case .failure(let e) = result else { Issue.record("INCR on text must fail"); continue }
                                    #expect(e.code == "ERR")
                                    continue
                                }
                                expected += Int64(i < 7 ? i + 1 : i)
                                #expect(try result.get() == .integer(expected))
                            }
                        }
                        try await client.delete(counter, text)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func transactionsWithWatch() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            try await client.set(p + "balance", to: 100)
            let results = try await client.transaction(watching: [p + "balance"]) { tx in
                let balance = try #require(try await tx.get(p + "balance"))
                tx.queue("SET", .string(p + "balance"), .integer(Int64(balance)! - 30))
                tx.queue("INCR", .string(p + "audit"))
            }
            #expect(try results.map { try $0.get() } == [.simpleString("OK"), .integer(1)])
            #expect(try await client.get(p + "balance") == "70")
            // Another client changes the watched key between WATCH and EXEC: aborted, nothing written.
            await #expect(throws: RedisClientError.self) {
                _ = try await client.transaction(watching: [p + "balance"]) { tx in
                    _ = try await tx.get(p + "balance")
                    try await client.set(p + "balance", to: 1)  // a different connection
                    tx.queue("SET", .string(p + "balance"), "999")
                }
            }
            #expect(try await client.get(p + "balance") == "1")
            try await client.delete(p + "balance", p + "audit")
        }
    }

    @Test func pubSubChannelsPatternsAndShardChannels() async throws {
        guard let config = try Self.configuration() else { return }
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            try await client.subscribe(to: [p + "news"]) { news in
                try await client.subscribe(to: [p + "n*"], kind: .pattern) { pattern in
                    try await client.subscribe(to: [p + "shard"], kind: .shardChannel) { shard in
                        // Both channel subscriptions share one connection: NUMSUB counts one subscriber.
                        let numsub = try await client.send("PUBSUB", "NUMSUB", .string(p + "news"))
                        #expect(numsub.elements?.last == .integer(1))
                        #expect(try await client.publish("hello", to: p + "news") == 2)  // channel + pattern
                        #expect(try await client.spublish("sharded", to: p + "shard") == 1)
                        var it = news.makeAsyncIterator()
                        let m = try #require(try await it.next())
                        #expect(m.channel == p + "news" && m.string == "hello" && m.kind == .channel)
                        var pit = pattern.makeAsyncIterator()
                        let pm = try #require(try await pit.next())
                        #expect(pm.pattern == p + "n*" && pm.channel == p + "news" && pm.string == "hello")
                        var sit = shard.makeAsyncIterator()
                        let sm = try #require(try await sit.next())
                        #expect(sm.channel == p + "shard" && sm.string == "sharded" && sm.kind == .shardChannel)
                    }
                }
            }
            // After the scopes end the subscriptions are gone.
            #expect(await eventually { try await client.publish("late", to: p + "news") == 0 })
        }
    }

    @Test func subscriptionsAreRestoredAfterReconnect() async throws {
        guard var config = try Self.configuration() else { return }
        let name = "rediswire-sub-\(UInt32.random(in: 0...UInt32.max))"
        config.connection.clientName = name
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            try await client.subscribe(to: [p + "ch"]) { messages in
                var it = messages.makeAsyncIterator()
                #expect(try await client.publish("before", to: p + "ch") == 1)
                #expect(try await it.next()?.string == "before")
                // Kill the subscription connection (found by its client name).
                let list = try await client.send("CLIENT", "LIST", "TYPE", "pubsub").string ?? ""
                let line = try #require(list.split(separator: "\n").first { $0.contains("name=\(name)") })
                let id = try #require(line.split(separator: " ").first { $0.hasPrefix("id=") }?.dropFirst(3))
                _ = try await client.send("CLIENT", "KILL", "ID", .string(String(id)))
                // Publish until the restored subscription receives again.
                #expect(await eventually(timeout: .seconds(10)) { (try? await client.publish("after", to: p + "ch")) == 1 })
                var received = try await it.next()?.string
                while received == "before" { received = try await it.next()?.string }
                #expect(received == "after")
            }
        }
    }

    @Test func clientSideCacheStaysCorrectUnderConcurrentWrites() async throws {
        guard var config = try Self.configuration() else { return }
        config.clientSideCache = RedisClientSideCacheConfiguration(maxEntries: 50)
        let p = PeerEnvironment.prefix()
        guard let writer = try await PeerEnvironment.connect() else { return }
        try await PeerEnvironment.withClient(config) { client in
            try await writer.set(p + "k", to: "v0")
            #expect(try await client.get(p + "k") == "v0")
            #expect(try await client.get(p + "k") == "v0")
            let stats = try #require(client.cacheStatistics)
            #expect(stats.hits >= 1 && stats.entries == 1)
            // Another client writes: the invalidation push evicts the entry.
            try await writer.set(p + "k", to: "v1")
            #expect(await eventually { try await client.get(p + "k") == "v1" })
            // Concurrent writer and cached readers; after the writer stops, readers converge to the final value.
            let final = 300
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for i in 1...final { try await writer.set(p + "k", to: i) }
                }
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<300 { _ = try await client.get(p + "k") }
                    }
                }
                try await group.waitForAll()
            }
            #expect(await eventually { try await client.get(p + "k") == "\(final)" })
            // Stays correct (no stale entry re-inserted by a late fill).
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await client.get(p + "k") == "\(final)")
            // Bounded LRU.
            for i in 0..<120 { _ = try await client.get(p + "lru\(i)") }
            #expect(try #require(client.cacheStatistics).entries <= 50)
            try await writer.delete(p + "k")
        }
        await writer.close()
    }

    @Test(.timeLimit(.minutes(2)))
    func clientSideCacheCoversReadsAndSeesOtherClientsWrites() async throws {
        guard var config = try Self.configuration() else { return }
        config.clientSideCache = RedisClientSideCacheConfiguration(maxEntries: 1000)
        let p = PeerEnvironment.prefix()
        guard let writer = try await PeerEnvironment.connect() else { return }
        try await writer.mset([(p + "s1", "a"), (p + "s2", "bb")])
        try await writer.hset(p + "h", fields: [("f", "1"), ("g", "2")])
        _ = try await writer.sadd(p + "set", ["x", "y"])
        _ = try await writer.rpush(p + "l", ["1", "2", "3"])
        _ = try await writer.zadd(p + "z", [("m", 1), ("n", 2)])
        try await PeerEnvironment.withClient(config) { client in
            /// Every read the cache covers, with what it must return now.
            func reads() async throws -> [String] {
                [
                    try await client.get(p + "s1") ?? "nil",
                    try await client.mget([p + "s1", p + "s2", p + "none"]).map { $0 ?? "nil" }.joined(separator: ","),
                    "\(try await client.exists(p + "s1", p + "s2", p + "none"))",
                    "\(try await client.stringLength(p + "s2"))",
                    try await client.hget(p + "h", field: "f") ?? "nil",
                    try await client.hgetall(p + "h").sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                    try await client.hmget(p + "h", fields: ["g", "zz"]).map { $0 ?? "nil" }.joined(separator: ","),
                    "\(try await client.hlen(p + "h"))",
                    try await client.smembers(p + "set").sorted().joined(separator: ","),
                    "\(try await client.sismember(p + "set", "x"))",
                    "\(try await client.scard(p + "set"))",
                    try await client.lrange(p + "l", 0, -1).joined(separator: ","),
                    "\(try await client.llen(p + "l"))",
                    try await client.zrange(p + "z", 0, -1).joined(separator: ","),
                    "\(try await client.zscore(p + "z", "m") ?? -1)",
                    try await client.keyType(p + "set"),
                ]
            }
            let initial = ["a", "a,bb,nil", "2", "2", "1", "f=1,g=2", "2,nil", "2", "x,y", "true", "2", "1,2,3", "3", "m,n", "1.0", "set"]
            #expect(try await reads() == initial)
            let afterFill = try #require(client.cacheStatistics)
            // The second round is served from the cache: no new misses.
            #expect(try await reads() == initial)
            let afterHits = try #require(client.cacheStatistics)
            #expect(afterHits.misses == afterFill.misses, "\(afterFill) -> \(afterHits)")
            #expect(afterHits.hits >= afterFill.hits + initial.count)

            // Another connection writes every key: each cached read sees the new value.
            try await writer.mset([(p + "s1", "A"), (p + "s2", "BBB")])
            try await writer.set(p + "none", to: "now")
            try await writer.hset(p + "h", fields: [("f", "10"), ("zz", "3")])
            _ = try await writer.srem(p + "set", ["x"])
            _ = try await writer.rpush(p + "l", ["4"])
            _ = try await writer.zadd(p + "z", [("m", 5)])
            let updated = ["A", "A,BBB,now", "3", "3", "10", "f=10,g=2,zz=3", "2,3", "3", "y", "false", "1", "1,2,3,4", "4", "n,m", "5.0", "set"]
            #expect(await eventually(timeout: .seconds(10)) { try await reads() == updated })
            #expect(try await reads() == updated)
            #expect(try #require(client.cacheStatistics).invalidations > afterHits.invalidations)

            // Read-your-writes: the client's own write is visible to its next read at once.
            #expect(try await client.hget(p + "h", field: "g") == "2")
            try await client.hset(p + "h", fields: [("g", "own")])
            #expect(try await client.hget(p + "h", field: "g") == "own")
            #expect(try await client.get(p + "s1") == "A")
            try await client.set(p + "s1", to: "mine")
            #expect(try await client.get(p + "s1") == "mine")

            // Concurrent writer on a hash and cached HGET readers converge to the final value.
            let final = 200
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for i in 1...final { try await writer.hset(p + "h", fields: [("c", i)]) } }
                for _ in 0..<3 {
                    group.addTask { for _ in 0..<200 { _ = try await client.hget(p + "h", field: "c") } }
                }
                try await group.waitForAll()
            }
            #expect(await eventually { try await client.hget(p + "h", field: "c") == "\(final)" })
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await client.hget(p + "h", field: "c") == "\(final)")
            try await writer.delete(p + "s1", p + "s2", p + "none", p + "h", p + "set", p + "l", p + "z")
        }
        await writer.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func commandTimeoutFailsTheCommandAndClosesItsConnection() async throws {
        guard var config = try Self.configuration() else { return }
        config.commandTimeout = .milliseconds(300)
        let p = PeerEnvironment.prefix()
        try await PeerEnvironment.withClient(config) { client in
            #expect(try await client.ping() == "PONG")
            // A blocking command is exempt from the default: BLPOP waits its own 0.5 s and returns nil.
            #expect(try await client.blpop([p + "empty"], timeout: .milliseconds(500)) == nil)
            // A per-command timeout applies to blocking commands too.
            var blpop = RedisCommand("BLPOP", [.string(p + "empty"), "5"], keyIndices: [0])
            blpop.timeout = .milliseconds(200)
            do {
                _ = try await client.send(blpop)
                Issue.record("BLPOP should have timed out")
            } catch let error as RedisConnectionError {
                guard case .timedOut(let command, let after) = error else { Issue.record("wrong error \(error)"); return }
                #expect(command == "BLPOP" && after == .milliseconds(200))
                #expect(error.commandMayHaveRun)
            }
            // A scoped timeout applies to typed commands; the default applies to ordinary ones.
            await #expect(throws: RedisConnectionError.self) {
                try await RedisCommand.withTimeout(.milliseconds(100)) { _ = try await client.blpop([p + "empty"], timeout: .seconds(5)) }
            }
            // The client recovers on new connections.
            #expect(await eventually(timeout: .seconds(10)) { try await client.ping() == "PONG" })
            try await client.set(p + "k", to: "v")
            #expect(try await client.get(p + "k") == "v")
            try await client.delete(p + "k")
        }
    }
}
