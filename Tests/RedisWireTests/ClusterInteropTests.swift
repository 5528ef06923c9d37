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

    /// Servers before Redis 7 have no `CLUSTER SHARDS`; the client then reads `CLUSTER SLOTS`.
    /// Both replies of the real cluster, in both protocols, must give the same slot map.
    @Test func clusterSlotsAndClusterShardsGiveTheSameTopology() async throws {
        guard let seed = Self.seeds()?.first else { return }
        for version in [RESPVersion.resp3, .resp2] {
            var configuration = try RedisConnectionConfiguration(url: "redis://\(seed.host):\(seed.port)")
            configuration.protocolVersion = version
            let connection = try await RedisConnection.connect(configuration: configuration, logger: PeerEnvironment.logger)
            let fromShards = try ClusterTopology.fromShards(try await connection.send(RedisCommand("CLUSTER", "SHARDS")))
            let fromSlots = try ClusterTopology.fromSlots(try await connection.send(RedisCommand("CLUSTER", "SLOTS")))
            await connection.close()
            #expect(fromSlots.shards.count == 3, "\(version)")
            #expect(Set(fromSlots.allMasters) == Set(fromShards.allMasters), "\(version)")
            var mismatches = 0
            for slot in 0..<RedisHashSlot.count {
                let a = fromSlots.shard(for: slot), b = fromShards.shard(for: slot)
                if a?.master != b?.master || Set(a?.replicas ?? []) != Set(b?.replicas ?? []) || a == nil { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(version): \(mismatches) slots differ")
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
    /// Moves `slot` from `source` to `destination` the way `redis-cli --cluster reshard` does.
    static func migrate(slot: Int, from source: RedisConnection, _ sourceAddress: RedisNodeAddress,
                        to destination: RedisConnection, _ destinationAddress: RedisNodeAddress) async throws {
        let srcID = try await source.send(RedisCommand("CLUSTER", "MYID"), as: String.self)
        let dstID = try await destination.send(RedisCommand("CLUSTER", "MYID"), as: String.self)
        _ = try await destination.send(RedisCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "IMPORTING", .string(srcID)))
        _ = try await source.send(RedisCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "MIGRATING", .string(dstID)))
        for _ in 0..<1000 {
            let batch = try await source.send(RedisCommand("CLUSTER", "GETKEYSINSLOT", .integer(Int64(slot)), "10"), as: [String].self)
            if batch.isEmpty { break }
            _ = try await source.send(RedisCommand("MIGRATE", [.string(destinationAddress.host), .integer(Int64(destinationAddress.port)), "", "0", "5000", "KEYS"]
                                                   + batch.map { .string($0) }))
        }
        for node in [destination, source] {
            _ = try await node.send(RedisCommand("CLUSTER", "SETSLOT", .integer(Int64(slot)), "NODE", .string(dstID)))
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func shardedSubscriptionFollowsItsSlotWhenItMoves() async throws {
        let p = PeerEnvironment.prefix()
        guard let seeds = Self.seeds() else { return }
        // A second client whose slot map is read before the move and never refreshed in time:
        // its SSUBSCRIBE after the move meets MOVED.
        var staleConfig = RedisClusterConfiguration(seeds: seeds)
        staleConfig.topologyRefreshInterval = .seconds(3600)
        let stale = RedisClusterClient(configuration: staleConfig, logger: PeerEnvironment.logger)
        let staleRun = Task { try await stale.run() }
        defer { staleRun.cancel() }
        _ = try await Self.withCluster { cluster in
            let channel = "{\(p)shard}news"
            let slot = RedisHashSlot.slot(for: channel)
            let shards = try await cluster.shards()
            _ = try await stale.shards()
            let source = try #require(shards.first { $0.slots.contains { $0.contains(slot) } }?.master)
            let destination = try #require(shards.map(\.master).first { $0 != source })
            let src = try await RedisConnection.connect(configuration: .tcp(host: source.host, port: source.port), logger: PeerEnvironment.logger)
            let dst = try await RedisConnection.connect(configuration: .tcp(host: destination.host, port: destination.port), logger: PeerEnvironment.logger)
            func subscribers(on node: RedisConnection) async throws -> Int {
                let reply = try await node.send(RedisCommand("PUBSUB", "SHARDNUMSUB", .string(channel)))
                return try Int(fromRESP: try #require(reply.elements?.last))
            }

            let received = Locked(Set<Int>())
            let published = Locked(0)
            try await cluster.subscribe(to: [channel], kind: .shardChannel) { messages in
                #expect(cluster.subscriptionNode(for: channel) == source)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await m in messages {
                            if let i = Int(m.string.dropFirst()) { received.withLock { _ = $0.insert(i) } }
                        }
                    }
                    group.addTask {
                        // Publishes all the time (bounded), through slot moves and redirections.
                        for i in 0..<20_000 {
                            try await cluster.spublish("m\(i)", to: channel)
                            published.withLock { $0 = i }
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    /// Waits until a message published from now on arrives: the subscription is live.
                    func delivering() async -> Bool {
                        let from = published.value + 1
                        return await eventually(timeout: .seconds(20)) { received.value.contains { $0 >= from } }
                    }
                    #expect(await delivering())

                    // Move the slot while publishing: the source sends `sunsubscribe`, the client
                    // subscribes again on the destination.
                    try await Self.migrate(slot: slot, from: src, source, to: dst, destination)
                    #expect(await eventually(timeout: .seconds(20)) { cluster.subscriptionNode(for: channel) == destination })
                    #expect(await eventually(timeout: .seconds(20)) { try await subscribers(on: dst) == 1 })
                    #expect(try await subscribers(on: src) == 0)
                    #expect(await delivering(), "no message arrived after the slot moved: the subscription was lost")

                    // A client with the old slot map subscribes: MOVED sends it to the new owner.
                    try await stale.subscribe(to: [channel], kind: .shardChannel) { (staleMessages: RedisSubscription) async throws in
                        #expect(stale.subscriptionNode(for: channel) == destination)
                        #expect(try await subscribers(on: dst) == 2)
                        var it = staleMessages.makeAsyncIterator()
                        #expect(try await it.next() != nil)
                    }

                    // And back: the second move is followed too.
                    try await Self.migrate(slot: slot, from: dst, destination, to: src, source)
                    #expect(await eventually(timeout: .seconds(20)) { cluster.subscriptionNode(for: channel) == source })
                    #expect(await eventually(timeout: .seconds(20)) { try await subscribers(on: src) == 1 })
                    #expect(await delivering(), "no message arrived after the slot moved back")
                    group.cancelAll()
                }
            }
            // Unsubscribed at the end of the scope, on the node that held it.
            #expect(await eventually { try await subscribers(on: src) == 0 })
            await src.close()
            await dst.close()
        }
    }
}
