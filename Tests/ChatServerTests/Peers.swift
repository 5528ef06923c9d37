import ChatServer
import Foundation
import Testing

/// The real peers the distributed adapters run against, read from the environment written by
/// `scripts/peers.sh` (`WIRESTACK_PG_HOST/PORT`, `WIRESTACK_CQL_NODE`, `WIRESTACK_REDIS_URL`).
/// Locally a missing peer skips the test with a printed reason; in CI (CI=true) it fails.
enum PeerEnvironment {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var isCI: Bool { environment["CI"] == "true" }

    static func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    /// `host:port` of the shared PostgreSQL 15.
    static var postgres: String? {
        value("WIRESTACK_PG_HOST").map { "\($0):\(value("WIRESTACK_PG_PORT") ?? "5432")" }
    }
    /// `host:port` of the CQL test node (stands in for Cassandra).
    static var cassandra: String? { value("WIRESTACK_CQL_NODE") }
    /// `redis://host:port` of the shared Redis 7.
    static var redis: String? { value("WIRESTACK_REDIS_URL") }
    /// `host:port,...` seed nodes of the shared Redis cluster (3 masters, 3 replicas).
    static var redisCluster: String? { value("WIRESTACK_REDIS_CLUSTER") }

    /// True when the peers are configured; otherwise records a skip (locally) or a failure (CI).
    static func requireAll(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let missing = [("WIRESTACK_PG_HOST", postgres), ("WIRESTACK_CQL_NODE", cassandra), ("WIRESTACK_REDIS_URL", redis)].filter { $0.1 == nil }.map(\.0)
        if missing.isEmpty { return true }
        if isCI {
            Issue.record("\(missing.joined(separator: ", ")) not set but CI=true: scripts/peers.sh must start the peers", sourceLocation: sourceLocation)
        } else {
            print("SKIP: distributed chat-server test needs \(missing.joined(separator: ", ")) (source .peers/peers.env)")
        }
        return false
    }

    /// Returns the value, or records a skip (locally) / failure (CI) and returns nil.
    static func require<T>(_ value: T?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> T? {
        if let value { return value }
        if isCI {
            Issue.record("\(what) is not configured but CI=true", sourceLocation: sourceLocation)
        } else {
            print("SKIP: \(what) not configured; set it to run this test")
        }
        return nil
    }

    /// A name unique to `seed` (a data directory), usable as a PostgreSQL database, CQL keyspace
    /// and Redis prefix; the same seed gives the same name, so a restarted server finds its data.
    static func uniqueName(_ seed: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "chat_" + String(hash, radix: 16)
    }

    /// The distributed deployment for a data directory: PostgreSQL (created database), the CQL
    /// node (created keyspace) and Redis (key prefix), all unique to that directory.
    static func deployment(for dataDirectory: String) -> ChatDeployment? {
        guard let postgres, let cassandra, let redis else { return nil }
        let name = uniqueName(dataDirectory)
        var deployment = ChatDeployment()
        deployment.postgres = postgres
        deployment.postgresDatabase = name
        deployment.cassandra = cassandra
        deployment.cassandraKeyspace = name
        deployment.redis = redis
        deployment.redisPrefix = name + ":"
        return deployment
    }
}
