import NIOCore
import Synchronization
import Testing
import WireCore
@testable import RedisWire

@Suite("Redis Cluster (3 masters + 3 replicas from scripts/redis-cluster.sh)", .serialized)
struct ClusterInteropTests {
    static func seeds() -> [RedisNodeAddress]? {
        guard let text = PeerEnvironment.require("WIRESTACK_REDIS_CLUSTER") else { return nil }
        return text.split(separator: ",").compactMap { RedisNodeAddress($0.trimmingCharacters(in: .whitespaces)) }
    }

    static func withCluster<T: Sendable>(readFromReplicas: Bool = false, _ body: @Sendable (RedisClusterClient) async throws -> T) async throws -> T? {
        guard let seeds = seeds() else { return nil }
        let client = RedisClusterClient(configuration: RedisClusterConfiguration(seeds: seeds, readFromReplicas: readFromReplicas),
                                        logger: PeerEnvironment.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    @Test func hashSlotsMatchTheServer() async throws {
        _ = try await Self.withCluster { cluster in
            for key in ["foo", "bar", "{user1}:a", "a{user1}", "{}x", "x{}y{z}", "é漢字"] {
                let server = try await cluster.send(RedisCommand("CLUSTER", "KEYSLOT", .string(key)), as: Int.self)
                #expect(RedisHashSlot.slot(for: key) == server, "\(key)")
            }
            #expect(RedisHashSlot.slot(for: "{user1}:a") == RedisHashSlot.slot(for: "{user1}:b"))
        }
    }

    @Test func topologyRoutingAndMultiKeySplitting() async throws {
        let p = PeerEnvironment.prefix()
        _ = try await Self.withCluster { cluster in
            let shards = try await cluster.shards()
            #expect(shards.count == 3)
            #expect(shards.allSatisfy { $0.replicas.count == 1 })
            #expect(shards.flatMap(\.slots).map(\.count).reduce(0, +) == RedisHashSlot.count)
            // Keys spread over all shards.
            let keys = (0..<60).map { p + "k\($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, key) in keys.enumerated() { group.addTask { try await cluster.set(key, to: i) } }
                try await group.waitForAll()
            }
            for (i, key) in keys.enumerated() { #expect(try await cluster.get(key) == "\(i)") }
            // Cross-slot multi-key commands are split per slot and merged in order.
            #expect(try await cluster.mget(keys) == keys.indices.map { "\($0)" })
            try await cluster.mset(keys.map { (key: $0, value: "v" as any RedisArgumentConvertible) })
            #expect(try await cluster.mget(Array(keys.prefix(5)) + [p + "missing"]) == ["v", "v", "v", "v", "v", nil])
            #expect(try await cluster.exists(keys[0], keys[1], p + "missing") == 2)
            // Hash tags keep multi-key commands on one slot (no split needed, atomic).
            try await cluster.mset([(p + "{tag}a", 1), (p + "{tag}b", 2)])
            #expect(try await cluster.send(RedisCommand("SUNIONSTORE", [.string(p + "{tag}dst"), .string(p + "{tag}s1")], keyIndices: [0, 1]), as: Int.self) == 0)
            // A non-splittable cross-slot command fails with a clear error.
            await #expect(throws: RedisClientError.self) { _ = try await cluster.sinter([keys[0], keys[1], keys[2]]) }
            // Pipelines are split per shard and results come back in order.
            let results = try await cluster.pipeline(keys.map { RedisCommand("GET", [.string($0)], keyIndices: [0]) } +
                                                     [RedisCommand("LPUSH", [.string(keys[0]), "x"], keyIndices: [0])])
            #expect(try results.dropLast().map { try $0.get() } == Array(repeating: RESPValue.bulk("v"), count: keys.count))
            if case .failure(let e) = results.last! { #expect(e.code == "WRONGTYPE") } else { Issue.record("expected WRONGTYPE") }
            #expect(try await cluster.delete(keys + [p + "{tag}a", p + "{tag}b"]) == keys.count + 2)
            // Scripts load on the node that owns the key.
            let script = RedisScript("-- \(p)\nreturn redis.call('SET', KEYS[1], ARGV[1])")
            #expect(try await script.run(on: cluster, keys: [p + "script"], arguments: ["ok"]).string == "OK")
            try await cluster.delete(p + "script")
        }
    }

    @Test func shardedPubSubRoutesBySlot() async throws {
        let p = PeerEnvironment.prefix()
        _ = try await Self.withCluster { cluster in
            // Two shard channels on different masters.
            let shards = try await cluster.shards()
            var channels: [String] = []
            var owners: Set<RedisNodeAddress> = []
            var i = 0
            while channels.count < 2 && i < 1000 {
                let name = p + "sch\(i)"
                let slot = RedisHashSlot.slot(for: name)
                if let owner = shards.first(where: { $0.slots.contains { $0.contains(slot) } })?.master, !owners.contains(owner) {
                    owners.insert(owner)
                    channels.append(name)
                }
                i += 1
            }
            try #require(channels.count == 2)
            try await cluster.subscribe(to: channels, kind: .shardChannel) { messages in
                for c in channels {
                    let receivers = try await cluster.spublish("to-\(c)", to: c)
                    #expect(receivers == 1)
                }
                var it = messages.makeAsyncIterator()
                var got: Set<String> = []
                for _ in 0..<2 { if let m = try await it.next() { got.insert(m.channel + "=" + m.string) } }
                #expect(got == Set(channels.map { "\($0)=to-\($0)" }))
            }
            try await cluster.subscribe(to: [p + "broadcast"]) { messages in
                let receivers = try await cluster.publish("all", to: p + "broadcast")
                #expect(receivers == 1)
                var it = messages.makeAsyncIterator()
                let text = try await it.next()?.string
                #expect(text == "all")
            }
        }
    }

    @Test func readsFromReplicas() async throws {
        let p = PeerEnvironment.prefix()
        _ = try await Self.withCluster(readFromReplicas: true) { cluster in
            let key = p + "replicated"
            try await cluster.set(key, to: "value")
            #expect(await eventually { try await cluster.get(key) == "value" })
            // A read-only command routed by the key lands on a replica.
            var info = RedisCommand("INFO", ["replication"], isReadOnly: true)
            info.routingKey = .string(key)
            let text = try await cluster.send(info, as: String.self)
            #expect(text.contains("role:slave"), "\(text.prefix(80))")
            try await cluster.delete(key)
        }
    }

    @Test func slotMigrationWhileTrafficRuns() async throws {
        let p = PeerEnvironment.prefix()
        _ = try await Self.withCluster { cluster in
            let tag = "{\(p)mig}"
            let slot = RedisHashSlot.slot(for: tag + "0")
            let keys = (0..<100).map { "\(tag)\($0)" }
            for key in keys { try await cluster.set(key, to: 0) }
            let shards = try await cluster.shards()
            let source = try #require(shards.first { $0.slots.contains { $0.contains(slot) } }?.master)
            let destination = try #require(shards.map(\.master).first { $0 != source })
            let refreshesBefore = cluster.topologyRefreshes

            func direct(_ node: RedisNodeAddress) async throws -> RedisConnection {
                try await RedisConnection.connect(configuration: .tcp(host: node.host, port: node.port), logger: PeerEnvironment.logger)
            }
            let src = try await direct(source)
            let dst = try await direct(destination)
            let srcID = try await src.send(RedisCommand("CLUSTER", "MYID"), as: String.self)
            let dstID = try await dst.send(RedisCommand("CLUSTER", "MYID"), as: String.self)

            let expected = Locked([Int](repeating: 0, count: keys.count))
            let stop = Locked(false)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var i = worker
                        var iterations = 0
                        while !stop.value && iterations < 100_000 {
                            let index = i % keys.count
                            try await cluster.increment(keys[index])
                            expected.withLock { $0[index] += 1 }
                            _ = try await cluster.get(keys[(index + 7) % keys.count])
                            i += 4
                            iterations += 1
                        }
                    }
                }
                // Migrate the slot the way redis-cli --cluster reshard does, while traffic runs.
                try await Task.sleep(for: .milliseconds(200))
                _ = try await dst.send(RedisCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "IMPORTING", .string(srcID)))
                _ = try await src.send(RedisCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "MIGRATING", .string(dstID)))
                while true {
                    let batch = try await src.send(RedisCommand("CLUSTER", "GETKEYSINSLOT", .integer(Int64(slot)), "10"), as: [String].self)
                    if batch.isEmpty { break }
                    _ = try await src.send(RedisCommand("MIGRATE", [.string(destination.host), .integer(Int64(destination.port)), "", "0", "5000", "KEYS"] + batch.map { .string($0) }))
                    try await Task.sleep(for: .milliseconds(20))   // let traffic hit the half-migrated slot (ASK)
                }
                for node in [dst, src] {
                    _ = try await node.send(RedisCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "NODE", .string(dstID)))
                }
                try await Task.sleep(for: .milliseconds(300))   // traffic continues after the move (MOVED)
                stop.withLock { $0 = true }
                try await group.waitForAll()
            }
            // No increment was lost or failed, and every key now lives on the destination.
            let counts = expected.value
            for (i, key) in keys.enumerated() {
                #expect(try await cluster.get(key) == "\(counts[i])", "\(key)")
            }
            #expect(counts.reduce(0, +) > 0)
            #expect(try await dst.send(RedisCommand("CLUSTER", "COUNTKEYSINSLOT", .integer(Int64(slot))), as: Int.self) == keys.count)
            #expect(await eventually { cluster.topologyRefreshes > refreshesBefore })
            #expect(await eventually {
                try await cluster.refreshTopology()
                let owner = try await cluster.shards().first { $0.slots.contains { $0.contains(slot) } }?.master
                return owner == destination
            })
            try await cluster.delete(keys)
            await src.close()
            await dst.close()
        }
    }
}

@Suite("Redis Sentinel (scripts/redis-sentinel.sh)", .serialized)
struct SentinelInteropTests {
    @Test func discoversTheMasterAndFollowsAFailover() async throws {
        guard let text = PeerEnvironment.require("WIRESTACK_REDIS_SENTINELS") else { return }
        let name = PeerEnvironment.environment["WIRESTACK_REDIS_SENTINEL_MASTER"] ?? "wirestack"
        let sentinels = text.split(separator: ",").compactMap { RedisNodeAddress($0.trimmingCharacters(in: .whitespaces)) }
        let client = RedisSentinelClient(configuration: RedisSentinelConfiguration(sentinels: sentinels, masterName: name),
                                         logger: PeerEnvironment.logger)
        let p = PeerEnvironment.prefix()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            try await client.set(p + "k", to: "before")
            let first = try #require(client.currentMaster)
            let master = try await RedisConnection.connect(configuration: .tcp(host: first.host, port: first.port), logger: PeerEnvironment.logger)
            let replicas = try await master.send(RedisCommand("WAIT", "1", "2000"), as: Int.self)
            try #require(replicas >= 1, "the master has no replica: restart scripts/redis-sentinel.sh before re-running")
            // Stop the master.
            _ = try? await master.send(RedisCommand("SHUTDOWN", "NOSAVE"))
            await master.close()
            // The client keeps working: it rediscovers and continues on the promoted replica.
            // A write already on the wire to the dying master fails with `connectionClosed`
            // (it may have run); the client does not retry writes itself, so do what its error
            // tells a caller to do for an idempotent SET: retry it. Nothing else is tolerated.
            var lostWrites = 0
            while true {
                do {
                    try await client.set(p + "k2", to: "after")
                    break
                } catch RedisConnectionError.connectionClosed where lostWrites < 3 {
                    lostWrites += 1
                }
            }
            let second = try #require(client.currentMaster)
            #expect(second != first)
            #expect(try await client.get(p + "k") == "before")
            #expect(try await client.get(p + "k2") == "after")
            let role = try await client.send(RedisCommand("ROLE"))
            #expect(role.elements?.first?.string == "master")
            try await client.delete(p + "k", p + "k2")
        }
    }
}
