import Foundation
import Logging
import PGWire
import Testing
import WireCore

@Suite struct ClientTests {
    @Test func parsesURLsAndKeyValueStrings() throws {
        let u = try PostgresClientConfiguration(parsing:
            "postgresql://us%40er:p%3Ass@db1:5433,db2,[::1]:6000/app?sslmode=verify-full&application_name=chat&target_session_attrs=read-write&load_balance=true&statement_cache_capacity=0&search_path=s1&sslrootcert=/ca.pem&channel_binding=require&connect_timeout=3")
        #expect(u.hosts.map(\.host) == ["db1", "db2", "::1"])
        #expect(u.hosts.map(\.port) == [5433, 5432, 6000])
        #expect(u.connection.user == "us@er" && u.connection.password == "p:ss" && u.connection.database == "app")
        #expect(u.connection.tlsMode == .verifyFull && u.connection.tls.trustRoots == .file("/ca.pem"))
        #expect(u.connection.applicationName == "chat" && u.connection.statementCacheCapacity == 0)
        #expect(u.connection.channelBinding == .require && u.connection.connectTimeout == .seconds(3))
        #expect(u.connection.options["search_path"] == "s1")
        #expect(u.targetSessionAttributes == .readWrite && u.loadBalanceHosts)

        let kv = try PostgresClientConfiguration(parsing:
            "host=a,b port=1,2 user=bob password='it\\'s q' dbname = d sslmode=disable options='-c statement_timeout=5s' load_balance_hosts=random")
        #expect(kv.hosts.map(\.host) == ["a", "b"] && kv.hosts.map(\.port) == [1, 2])
        #expect(kv.connection.password == "it's q")
        #expect(kv.connection.user == "bob" && kv.connection.database == "d" && kv.connection.tlsMode == .disable)
        #expect(kv.connection.options["statement_timeout"] == "5s" && kv.loadBalanceHosts)

        #expect(throws: PostgresError.self) { try PostgresClientConfiguration(parsing: "host=a user=u sslmode=bogus") }
        #expect(throws: PostgresError.self) { try PostgresClientConfiguration(parsing: "host=a,b port=1,2,3 user=u") }
        #expect(throws: PostgresError.self) { try PostgresClientConfiguration(parsing: "postgresql://host/db") }
    }

    func clientConfig(_ hosts: String, extra: String = "") throws -> PostgresClientConfiguration {
        var c = try PostgresClientConfiguration(parsing: "host=\(hosts) user=postgres dbname=\(PeerEnvironment.pgDatabase) sslmode=disable connect_timeout=2 \(extra)")
        c.pool.maxConnections = 16
        return c
    }

    @Test func poolQueriesFailoverAndTargetSessionAttrs() async throws {
        guard PeerEnvironment.hasPostgres, let host = PeerEnvironment.pgHost else { return }
        // The first host refuses connections: failover to the second.
        let config = try clientConfig("\(host),\(host)", extra: "port=1,\(PeerEnvironment.pgPort) target_session_attrs=read-write")
        let client = PostgresClient(configuration: config, logger: PeerEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            try await withThrowingTaskGroup(of: Int64.self) { q in
                for i in 0..<64 { q.addTask { try await client.query("SELECT \(Int64(i))").rows[0].decode(column: 0, as: Int64.self) } }
                var sum: Int64 = 0
                for try await v in q { sum += v }
                #expect(sum == 64 * 63 / 2)
            }
            let n = try await client.withTransaction { conn in
                try await conn.execute("SELECT 42::int8").rows[0].decode(column: 0, as: Int64.self)
            }
            #expect(n == 42)
            await client.shutdown()
            group.cancelAll()
        }

        // No standby exists: target_session_attrs=standby finds no suitable host.
        let standbyOnly = PostgresClient(configuration: try clientConfig(host, extra: "port=\(PeerEnvironment.pgPort) target_session_attrs=standby"),
                                         logger: PeerEnvironment.logger)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await standbyOnly.run() }
            await #expect(throws: (any Error).self) { _ = try await standbyOnly.query("SELECT 1") }
            await standbyOnly.shutdown()
            group.cancelAll()
        }
    }

    @Test func roundRobinAcrossHosts() async throws {
        guard PeerEnvironment.hasPostgres, let host = PeerEnvironment.pgHost else { return }
        // The same server under two names: connections alternate between them.
        let config = try clientConfig("\(host),localhost", extra: "port=\(PeerEnvironment.pgPort) load_balance=true")
        let client = PostgresClient(configuration: config, logger: PeerEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            let addresses = try await withThrowingTaskGroup(of: String.self) { q in
                for _ in 0..<8 {
                    q.addTask {
                        try await client.withConnection { c in
                            try await Task.sleep(for: .milliseconds(200))
                            return try await c.execute("SELECT inet_client_addr()::text").rows[0].decode(column: 0, as: String.self)
                        }
                    }
                }
                var all: [String] = []
                for try await a in q { all.append(a) }
                return all
            }
            #expect(addresses.count == 8)
            await client.shutdown()
            group.cancelAll()
        }
    }

    @Test func listenReconnectsAfterConnectionLoss() async throws {
        guard PeerEnvironment.hasPostgres, let host = PeerEnvironment.pgHost else { return }
        let channel = PeerEnvironment.uniqueName("relisten")
        let client = PostgresClient(configuration: try clientConfig(host, extra: "port=\(PeerEnvironment.pgPort) application_name=\(channel)"),
                                    logger: PeerEnvironment.logger)
        let admin = try await PeerEnvironment.connect()
        defer { Task { await admin.close() } }
        var iterator = client.listen(channel).makeAsyncIterator()
        // First LISTEN established.
        #expect(try await iterator.next()?.payload == PostgresClient.listeningMarker)
        try await admin.notify(channel, payload: "one")
        #expect(try await iterator.next()?.payload == "one")
        // Kill the listening backend; the client reconnects and listens again.
        _ = try await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(channel)")
        #expect(try await iterator.next()?.payload == PostgresClient.listeningMarker)
        try await admin.notify(channel, payload: "two")
        #expect(try await iterator.next()?.payload == "two")
    }
}

/// A server restart while the pool is busy: in-flight requests fail with clear errors (no hang),
/// and the pool recovers once the server is back. Uses a private server (scripts/pg-private.sh).
@Suite struct RestartTests {
    @Test(.timeLimit(.minutes(3)))
    func serverRestartWhilePoolIsBusy() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let portString = env["WIRESTACK_PG_PRIVATE_PORT"], let port = Int(portString) else {
            if PeerEnvironment.isCI { Issue.record("WIRESTACK_PG_PRIVATE_PORT not set in CI (scripts/pg-private.sh start)") }
            else { print("skipping restart test: WIRESTACK_PG_PRIVATE_PORT is not set (scripts/pg-private.sh start)") }
            return
        }
        let root = env["WIRESTACK_ROOT"] ?? FileManager.default.currentDirectoryPath
        var config = try PostgresClientConfiguration(parsing: "host=127.0.0.1 port=\(port) user=postgres dbname=postgres sslmode=disable connect_timeout=2")
        config.pool.maxConnections = 8
        config.pool.leaseTimeout = .seconds(20)
        let client = PostgresClient(configuration: config, logger: PeerEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            // Warm up.
            _ = try await client.query("SELECT 1")
            // Busy pool: 8 workers running queries in a loop, bounded.
            let stop = ManagedFlag()
            let outcomes = try await withThrowingTaskGroup(of: (ok: Int, failed: [String]).self) { workers in
                for _ in 0..<8 {
                    workers.addTask {
                        var ok = 0
                        var failed: [String] = []
                        for _ in 0..<10_000 where !stop.isSet {
                            do {
                                _ = try await client.query("SELECT pg_sleep(0.01), 1")
                                ok += 1
                            } catch {
                                failed.append("\(error)")
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                        return (ok, failed)
                    }
                }
                try await Task.sleep(for: .milliseconds(500))
                // Not Foundation's Process: it never notices the script's exit, because the
                // restarted postmaster inherits the socket it watches (see Subprocess).
                let status = try await Subprocess.run("/bin/bash", ["\(root)/scripts/pg-private.sh", "restart"])
                #expect(status == 0)
                // Give the pool time to recover, then stop the workers.
                try await Task.sleep(for: .seconds(3))
                stop.set()
                var all: [(ok: Int, failed: [String])] = []
                for try await o in workers { all.append(o) }
                return all
            }
            let failures = outcomes.flatMap(\.failed)
            #expect(!failures.isEmpty, "the restart should have failed some in-flight queries")
            for f in failures {
                // Clear errors: the connection closed, the server shut down, or the pool could not connect.
                #expect(f.contains("connection closed") || f.contains("57P01") || f.contains("terminating") || f.contains("connect")
                        || f.contains("pool") || f.contains("circuit"), "unclear error: \(f)")
            }
            // Recovered: the pool connects again once the server is back. The connects that failed
            // during the restart opened the pool's circuit breaker, whose next trial connect can be
            // seconds away (its backoff grows with each failed trial); a loaded machine also
            // restarts the server slowly. So poll, bounded, for the first success.
            let deadline = ContinuousClock.now + .seconds(60)
            var recovered: Int64?
            var lastError: (any Error)?
            while recovered == nil, ContinuousClock.now < deadline {
                do {
                    recovered = try await client.query("SELECT 7::int8").rows[0].decode(column: 0, as: Int64.self)
                } catch {
                    lastError = error
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            #expect(recovered == 7, "the pool did not recover within 60 s: \(String(describing: lastError))")
            await client.shutdown()
            group.cancelAll()
        }
    }
}

final class ManagedFlag: Sendable {
    private let box = NIOLockedBool()
    var isSet: Bool { box.value }
    func set() { box.set() }
}

import NIOConcurrencyHelpers

final class NIOLockedBool: Sendable {
    private let v = NIOLockedValueBox(false)
    var value: Bool { v.withLockedValue { $0 } }
    func set() { v.withLockedValue { $0 = true } }
}
