import ChatServer
import ChatWire
import Foundation
import RedisWire
import Testing

/// Issue 9 fault tests: while load runs across two instances (pairs of users on different
/// instances messaging each other), one dependency is stopped and started again: the Kafka
/// broker and one chat-server instance, Redis, PostgreSQL. The instances stay up, clients
/// reconnect, requests that need a missing store fail clearly (503) and recover, and every
/// message acknowledged as Processed is in history (counted). Each test starts its own private
/// server on its own port through its `scripts/` script, so the shared peers are never disturbed.
@Suite(.serialized) struct ScaleOutFaultTests {
    static let kafkaPort = 19293
    static let redisPort = 19379
    static let postgresPort = 55593

    /// Two pairs of users (each pair across both instances), connected, and the load running.
    static func startLoad(_ cluster: TwoInstances, prefix: String) async throws -> (FaultLoad, Task<Void, Never>) {
        let pairs = try await cluster.registerPairs(2, prefix: prefix)
        for user in cluster.users { try await user.connect(entryPorts: cluster.entryPorts) }
        faultLog("users connected")
        let load = FaultLoad(pairs: pairs, entryPorts: cluster.entryPorts)
        load.mark("load start")
        let task = Task { await load.run(interval: .milliseconds(50), limit: 3000) }
        do {
            try await load.waitForProcessed(20, within: 30, "load is flowing")
        } catch {
            load.stop()
            await task.value
            throw error
        }
        faultLog("load flowing")
        return (load, task)
    }

    @Test(.timeLimit(.minutes(5))) func brokerAndInstanceRestartsLoseNoProcessedMessage() async throws {
        guard ScalePeers.require("WIRESTACK_NOIDA_BIN") != nil else { return }
        let broker = FaultServer.kafka(port: Self.kafkaPort)
        try await broker.with {
            let kafka = uniqueKafka("127.0.0.1:\(Self.kafkaPort)", label: "fault")
            try await TwoInstances.run(kafka: kafka) { cluster in
                let (load, loadTask) = try await Self.startLoad(cluster, prefix: "fault")
                do {
                    // Fault 1: the broker stops (graceful stop: noida-db writes its data) and comes back on the same data.
                    load.mark("broker halt")
                    try await broker.run("halt")
                    try await Task.sleep(for: .seconds(2))
                    load.mark("broker resume")
                    try await broker.run("resume")
                    load.mark("broker back")
                    try await load.waitForProcessed(10, within: 60, "messages are Processed again after the broker returned")

                    // Fault 2: instance 1 stops (its clients are cut off) and starts again on the same port.
                    load.mark("instance 1 stop")
                    try await cluster.restart(1)
                    load.mark("instance 1 restarted")
                    let onInstance1 = load.pairs.map(\.1)
                    try await load.waitForProcessed(20, from: onInstance1, within: 60, "users of the restarted instance reconnect and are Processed again")
                    #expect(await cluster.i0.status("/healthz") == 200)
                    #expect(onInstance1.allSatisfy { $0.connects >= 2 })
                } catch {
                    load.stop()
                    await loadTask.value
                    throw error
                }
                load.stop()
                await loadTask.value
                try await load.verifyNoProcessedMessageLost(dataDirectory: cluster.dataDirectory, label: "broker and instance restarts")
            }
        }
    }

    /// Redis holds the user cache and carries config-change announcements. While it is down the
    /// cache degrades to misses (profile reads still answer 200 from the store), `/readyz`
    /// answers 503, messaging is untouched; after the restart the instances reconnect by
    /// themselves: ready again, and the cache fills again.
    @Test(.timeLimit(.minutes(5))) func redisRestartLosesNoProcessedMessage() async throws {
        guard let bootstrap = ScalePeers.require("WIRESTACK_KAFKA_NOIDA") else { return }
        let redis = FaultServer.redis(port: Self.redisPort)
        try await redis.with {
            var deployment = ChatDeployment()
            deployment.redis = "redis://127.0.0.1:\(Self.redisPort)"
            deployment.redisPrefix = "fault-\(UUID().uuidString.prefix(8)):"
            let kafka = uniqueKafka(bootstrap, label: "redis")
            try await TwoInstances.run(kafka: kafka, deployment: deployment) { cluster in
                let (load, loadTask) = try await Self.startLoad(cluster, prefix: "redis")
                let (reader, profile) = (load.pairs[0].0, load.pairs[1].1)
                let profileKey = "\(deployment.redisPrefix)profiles:\(profile.id)"
                let probe = StatusProbe()
                let probeTask = Task {
                    await probe.run(interval: .milliseconds(100), [
                        "readyz-0": { await cluster.instances[0].status("/readyz") },
                        "readyz-1": { await cluster.instances[1].status("/readyz") },
                        "profile": { await probeStatus(reader, port: cluster.entryPorts[0], path: "/api/profiles/\(profile.id)") },
                    ])
                }
                let inspector = try RedisClient(url: "redis://127.0.0.1:\(Self.redisPort)", logger: .init(label: "fault-redis"))
                let inspectorTask = Task { try await inspector.run() }
                defer { inspectorTask.cancel() }
                do {
                    try await within(30, "the profile is cached in Redis") { try await Self.exists(profileKey, inspector) }

                    load.mark("redis halt")
                    probe.enter("down")  // from here on a request may find it gone
                    try await redis.run("halt")
                    await reader.close()  // a client drops while Redis is down and must reconnect
                    try await within(30, "both instances report not ready") {
                        probe.seen("readyz-0", in: "down").contains(503) && probe.seen("readyz-1", in: "down").contains(503)
                    }
                    try await within(40, "profile reads answer during the outage") { !probe.seen("profile", in: "down").isEmpty }
                    try await load.waitForProcessed(10, within: 30, "messages are Processed while Redis is down")

                    try await redis.run("resume")
                    load.mark("redis back")
                    probe.enter("recovered")
                    try await within(60, "both instances ready again") {
                        probe.seen("readyz-0", in: "recovered").last == 200 && probe.seen("readyz-1", in: "recovered").last == 200
                    }
                    try await within(60, "the cache fills again after the restart") { try await Self.exists(profileKey, inspector) }
                    try await load.waitForProcessed(10, within: 30, "messages are Processed after the restart")
                    try await within(30, "the dropped client reconnected") { reader.connects >= 2 }
                } catch {
                    probe.stop()
                    await probeTask.value
                    load.stop()
                    await loadTask.value
                    throw error
                }
                probe.stop()
                await probeTask.value
                faultLog("statuses: \(probe.summary)")
                // A cache outage never fails a request: every profile read answered 200.
                for phase in ["up", "down", "recovered"] {
                    let statuses = probe.seen("profile", in: phase)
                    #expect(!statuses.isEmpty && statuses.allSatisfy { $0 == 200 }, "profile reads while Redis was \(phase): \(statuses)")
                }
                load.stop()
                await loadTask.value
                try await load.verifyNoProcessedMessageLost(dataDirectory: cluster.dataDirectory, label: "Redis restart")
            }
        }
    }

    /// PostgreSQL holds users and the dynamic config. While it is down, a login answers 503 (the
    /// store is unavailable: never a 500), `/readyz` answers 503, messaging is untouched, and a
    /// client that dropped keeps retrying; after the restart logins work again and it reconnects.
    @Test(.timeLimit(.minutes(5))) func postgresRestartLosesNoProcessedMessage() async throws {
        guard let bootstrap = ScalePeers.require("WIRESTACK_KAFKA_NOIDA"), ScalePeers.require("WIRESTACK_PG_HOST") != nil else { return }
        let postgres = FaultServer.postgres(port: Self.postgresPort)
        try await postgres.with {
            var deployment = ChatDeployment()
            deployment.postgres = "127.0.0.1:\(Self.postgresPort)"
            deployment.postgresDatabase = "chat_fault"
            let kafka = uniqueKafka(bootstrap, label: "pg")
            try await TwoInstances.run(kafka: kafka, deployment: deployment) { cluster in
                let (load, loadTask) = try await Self.startLoad(cluster, prefix: "pg")
                let dropped = load.pairs[0].0
                let probe = StatusProbe()
                let probeTask = Task {
                    await probe.run(interval: .milliseconds(100), [
                        "readyz-0": { await cluster.instances[0].status("/readyz") },
                        "readyz-1": { await cluster.instances[1].status("/readyz") },
                        "login": { await probeStatus(load.pairs[1].1, port: cluster.entryPorts[0], path: nil) },
                    ])
                }
                do {
                    try await within(30, "logins answer while PostgreSQL is up") { probe.seen("login", in: "up").contains(200) }

                    load.mark("postgres halt")
                    probe.enter("down")  // from here on a request may find it gone
                    try await postgres.run("halt")
                    await dropped.close()  // a client drops while PostgreSQL is down: it cannot log in until it returns
                    try await within(30, "logins fail clearly and both instances report not ready") {
                        probe.seen("login", in: "down").contains(503)
                            && probe.seen("readyz-0", in: "down").contains(503) && probe.seen("readyz-1", in: "down").contains(503)
                    }
                    try await load.waitForProcessed(10, within: 30, "messages are Processed while PostgreSQL is down")

                    try await postgres.run("resume")
                    load.mark("postgres back")
                    probe.enter("recovered")
                    try await within(60, "logins work and both instances are ready again") {
                        probe.seen("login", in: "recovered").last == 200
                            && probe.seen("readyz-0", in: "recovered").last == 200 && probe.seen("readyz-1", in: "recovered").last == 200
                    }
                    try await within(60, "the dropped client reconnected") { dropped.connects >= 2 }
                    try await load.waitForProcessed(10, from: [dropped], within: 30, "the reconnected client's messages are Processed")
                } catch {
                    probe.stop()
                    await probeTask.value
                    load.stop()
                    await loadTask.value
                    throw error
                }
                probe.stop()
                await probeTask.value
                faultLog("statuses: \(probe.summary)")
                // The outage is reported as such: no request answered 500.
                for phase in ["up", "down", "recovered"] {
                    let statuses = probe.seen("login", in: phase)
                    #expect(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "logins while PostgreSQL was \(phase): \(statuses)")
                }
                #expect(probe.seen("login", in: "up").allSatisfy { $0 == 200 })
                load.stop()
                await loadTask.value
                try await load.verifyNoProcessedMessageLost(dataDirectory: cluster.dataDirectory, label: "PostgreSQL restart")
            }
        }
    }

    static func exists(_ key: String, _ client: RedisClient) async throws -> Bool {
        try await client.exists(key) == 1
    }
}
