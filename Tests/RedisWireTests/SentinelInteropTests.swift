import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import WireCore
@testable import RedisWire

/// Failovers against the real sentinel set of `scripts/redis-sentinel.sh` (two servers, three sentinels).
@Suite("Redis Sentinel (scripts/redis-sentinel.sh)", .serialized)
struct SentinelInteropTests {
    /// `scripts/redis-sentinel.sh` in this checkout.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/redis-sentinel.sh").path

    /// Runs `scripts/redis-sentinel.sh start`, which brings a server a previous run shut down back
    /// as a replica of the current master and returns once every sentinel sees that replica synced
    /// (the test kills a master, so without this a second run finds no replica to promote).
    /// Spawned with `posix_spawn` and reaped with `waitpid` on a thread of its own, off Swift's
    /// cooperative pool (Foundation's `Process.waitUntilExit` was seen to miss the child's exit
    /// in this test process and hang); its output goes to a log file shown on failure.
    static func repairSentinelSet() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("rediswire-sentinel-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread {
                var actions = posix_spawn_file_actions_t()
                posix_spawn_file_actions_init(&actions)
                defer { posix_spawn_file_actions_destroy(&actions) }
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
                let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/bash"), strdup(script), strdup("start"), nil]
                defer { for a in argv { free(a) } }
                var pid = pid_t()
                guard posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ) == 0 else {
                    continuation.resume(returning: -1)
                    return
                }
                var status: Int32 = 0
                while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
                // WIFEXITED / WEXITSTATUS
                continuation.resume(returning: status & 0x7f == 0 ? (status >> 8) & 0xff : -1)
            }.start()
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try #require(status == 0, "scripts/redis-sentinel.sh start failed (\(status)): \(output)")
    }

    /// Retries `body` while it fails with an error saying the command may have run on a
    /// connection that closed — what the error tells callers to do for idempotent commands
    /// (here `SET` to a constant and reads). Any other error fails the test.
    @discardableResult
    static func retryingIdempotent<T>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as RedisConnectionError where error.commandMayHaveRun && attempt < 5 {
                attempt += 1
            }
        }
    }

    static func connect(_ address: RedisNodeAddress) async throws -> RedisConnection {
        try await RedisConnection.connect(configuration: .tcp(host: address.host, port: address.port), logger: PeerEnvironment.logger)
    }

    /// The master `sentinel` reports now.
    static func reportedMaster(_ sentinel: RedisNodeAddress, name: String) async throws -> RedisNodeAddress? {
        let connection = try await connect(sentinel)
        defer { Task { await connection.close() } }
        let reply = try await connection.send(RedisCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", .string(name)))
        guard let parts = try [String]?(fromRESP: reply), parts.count == 2, let port = Int(parts[1]) else { return nil }
        return RedisNodeAddress(host: parts[0], port: port)
    }

    /// Waits until a replica of `master` holds `key` = `value` (its link is up and it has synced
    /// past that write) and every sentinel sees that replica the way a failover needs it: role
    /// `slave` in its last INFO, replication link `ok`, replicating from `master`. The flags
    /// alone are not enough: right after a failover a sentinel lists the former master with
    /// flags `slave` while its INFO (refreshed every 10 s) still says role master / link down.
    static func readyToFailOver(_ sentinels: [RedisNodeAddress], name: String, master: RedisNodeAddress,
                                key: String, value: String) async -> Bool {
        await eventually(timeout: .seconds(60)) {
            let connection = try await connect(master)
            defer { Task { await connection.close() } }
            // ROLE on a master: ["master", offset, [[ip, port, offset], ...]]
            let role = try await connection.send(RedisCommand("ROLE"))
            guard role.elements?.first?.string == "master", let entries = role.elements?.dropFirst(2).first?.elements else { return false }
            var synced: [RedisNodeAddress] = []
            for entry in entries {
                guard let e = entry.elements, e.count >= 2, let host = e[0].string, let port = e[1].string.flatMap({ Int($0) }) else { continue }
                let address = RedisNodeAddress(host: host, port: port)
                let replica = try await connect(address)
                defer { Task { await replica.close() } }
                let info = try await replica.send(RedisCommand("INFO", "replication")).string ?? ""
                if info.contains("master_link_status:up"), try await replica.get(key) == value { synced.append(address) }
            }
            guard !synced.isEmpty else { return false }
            for sentinel in sentinels {
                guard try await reportedMaster(sentinel, name: name) == master else { return false }
                let s = try await connect(sentinel)
                defer { Task { await s.close() } }
                let replicas = try await s.send(RedisCommand("SENTINEL", "REPLICAS", .string(name)))
                let seen = try (replicas.elements ?? []).contains { entry in
                    let fields = try [String: RESPValue](fromRESP: entry)
                    return synced.contains { "\($0.host):\($0.port)" == fields["name"]?.string }
                        && fields["flags"]?.string == "slave" && fields["role-reported"]?.string == "slave"
                        && fields["master-link-status"]?.string == "ok" && fields["master-port"]?.string == "\(master.port)"
                }
                if !seen { return false }
            }
            return true
        }
    }

    /// Asks `sentinel` for a failover until the sentinels report a master other than `from`
    /// (a sentinel can refuse one while it settles, -INPROG/-NOGOODSLAVE, or abort one it
    /// accepted); returns the promoted master.
    static func failOver(from: RedisNodeAddress, sentinels: [RedisNodeAddress], name: String) async throws -> RedisNodeAddress? {
        let sentinel = try await connect(sentinels[0])
        defer { Task { await sentinel.close() } }
        for _ in 0..<4 {
            _ = await eventually(timeout: .seconds(20)) {
                (try? await sentinel.send(RedisCommand("SENTINEL", "FAILOVER", .string(name)))) != nil
            }
            var promoted: RedisNodeAddress?
            if await eventually(timeout: .seconds(20), {
                promoted = try await reportedMaster(sentinels[0], name: name)
                return promoted != nil && promoted != from
            }) { return promoted }
        }
        return nil
    }

    /// One test, two failovers in a fixed order: first a failover the sentinels announce while
    /// both servers stay up (the client must switch on `+switch-master` alone, without any
    /// command failing), then the master is killed (the client must continue on the promoted
    /// replica). It first repairs the set (a previous run left the killed server down).
    @Test(.timeLimit(.minutes(6)))
    func switchesOnAnnouncedFailoverAndSurvivesAKilledMaster() async throws {
        guard let text = PeerEnvironment.require("WIRESTACK_REDIS_SENTINELS") else { return }
        try await Self.repairSentinelSet()
        let name = PeerEnvironment.environment["WIRESTACK_REDIS_SENTINEL_MASTER"] ?? "wirestack"
        let sentinels = text.split(separator: ",").compactMap { RedisNodeAddress($0.trimmingCharacters(in: .whitespaces)) }
        let client = RedisSentinelClient(configuration: RedisSentinelConfiguration(sentinels: sentinels, masterName: name,
                                                                                   failoverTimeout: .seconds(150)),
                                         logger: PeerEnvironment.logger)
        let p = PeerEnvironment.prefix()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            try await client.set(p + "k", to: "before")
            let first = try #require(client.currentMaster)
            try #require(await Self.readyToFailOver(sentinels, name: name, master: first, key: p + "k", value: "before"),
                         "no replica of \(first) that every sentinel sees synced")
            #expect(await eventually(timeout: .seconds(10)) { client.watchedSentinel != nil })

            // 1. An announced failover, both servers up: the client switches without sending anything.
            let second = try #require(await Self.failOver(from: first, sentinels: sentinels, name: name), "the sentinels did not fail over")
            #expect(await eventually(timeout: .seconds(30)) { client.currentMaster == second })
            #expect(client.announcedFailovers >= 1)
            let role = try await client.send(RedisCommand("ROLE"))
            #expect(role.elements?.first?.string == "master")
            #expect(try await client.get(p + "k") == "before")
            try await Self.retryingIdempotent { try await client.set(p + "k2", to: "between") }

            // 2. The master is killed: the client continues on the promoted replica. Only once
            // the former master replicates from the new one and every sentinel has seen that.
            try #require(await Self.readyToFailOver(sentinels, name: name, master: second, key: p + "k2", value: "between"),
                         "the former master did not become a synced replica of \(second) in every sentinel's view")
            let master = try await Self.connect(second)
            _ = try? await master.send(RedisCommand("SHUTDOWN", "NOSAVE"))
            await master.close()
            // A write can meet a pooled connection to the dead master: the client reports that it
            // may have run (connectionClosed) and leaves the retry to the caller; SET is idempotent.
            try await Self.retryingIdempotent { try await client.set(p + "k3", to: "after") }
            let third = try #require(client.currentMaster)
            #expect(third != second)
            #expect(try await Self.retryingIdempotent { try await client.get(p + "k") } == "before")
            #expect(try await Self.retryingIdempotent { try await client.get(p + "k2") } == "between")
            #expect(try await Self.retryingIdempotent { try await client.get(p + "k3") } == "after")
            let finalRole = try await Self.retryingIdempotent { try await client.send(RedisCommand("ROLE")) }
            #expect(finalRole.elements?.first?.string == "master")
            try await Self.retryingIdempotent { try await client.delete(p + "k", p + "k2", p + "k3") }
        }
    }
}
