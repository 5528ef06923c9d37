import Foundation
import Testing
@testable import CQLClient

/// Speculative execution and retry policies against a two-node test cluster (node.py --nodes 2),
/// with faults injected into one node through the node's `WIRESTACK FAULT` hook: a node that does
/// not answer, and ERROR answers (read/write timeout, unavailable, overloaded).
@Suite("Speculative execution and retry policies against CQL test nodes", .serialized, .timeLimit(.minutes(8)))
struct PolicyTests {
    /// Tries hosts in address order, so a test knows that 127.0.0.1 gets a request first.
    struct AddressOrderPolicy: CQLLoadBalancingPolicy {
        func queryPlan(hosts: [CQLHost], ring: CQLTokenRing, routingKey: [UInt8]?) -> [CQLHost] {
            hosts.sorted { $0.address < $1.address }
        }
    }

    /// Retries an unavailable request once on the same host at consistency ONE (a downgrading policy).
    struct DowngradingPolicy: CQLRetryPolicy {
        func decide(error: any Error, attempt: Int, isIdempotent: Bool) -> CQLRetryDecision {
            guard attempt == 0, let error = error as? CQLServerError, case .unavailable = error.kind else { return .rethrow }
            return .retrySameHost(consistency: .one)
        }
    }

    static let first = "127.0.0.1"
    static let second = "127.0.0.2"

    static func configuration(_ node: TestNode, speculative: CQLSpeculativeExecutionPolicy = .none,
                              retry: any CQLRetryPolicy = CQLDefaultRetryPolicy(),
                              consistency: CQLConsistency = .one) -> CassandraSessionConfiguration {
        CassandraSessionConfiguration(contactPoints: [(node.host, node.port)], defaultConsistency: consistency,
                                      requestTimeout: .seconds(60), loadBalancing: AddressOrderPolicy(), retryPolicy: retry,
                                      speculativeExecution: speculative)
    }

    static func schema(_ session: CassandraSession, _ ks: String) async throws {
        try await session.query("CREATE KEYSPACE \(unescaped: ks) WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}")
        try await session.query("CREATE TABLE \(unescaped: ks).t (k text PRIMARY KEY, v int)")
        try await session.query("INSERT INTO \(unescaped: ks).t (k, v) VALUES ('a', 1)")
    }

    static func fault(_ node: TestNode, _ address: String, _ fields: String) async throws {
        try await node.hook(#"WIRESTACK FAULT {"node": "\#(address)", \#(fields)}"#)
    }

    @Test("speculative execution: a second execution goes to the next host after the delay, the first answer wins, non-idempotent statements never speculate")
    func speculativeExecution() async throws {
        _ = try await withTestNode(["--nodes", "2"]) { node, _ in
            let policy = CQLSpeculativeExecutionPolicy(delay: .seconds(8), maxExecutions: 1)
            try await CassandraSession.withSession(configuration: Self.configuration(node, speculative: policy), logger: testLogger()) { session in
                #expect(Set(session.hosts.map(\.address)) == [Self.first, Self.second])
                try await Self.schema(session, "spec")
                let select = try await session.prepare("SELECT v FROM spec.t WHERE k = ?")
                try await node.hook("WIRESTACK RESET")
                let before = session.speculativeExecutions

                // 127.0.0.1 does not answer for two minutes: the request is answered by 127.0.0.2's
                // execution (without it, the 60 s request timeout would fail the request)
                try await Self.fault(node, Self.first, #""kind": "delay", "ms": 120000"#)
                let result = try await session.execute(select, [.text("a")], options: .init(isIdempotent: true))
                #expect(try result.pageRows.map { try $0.decode(column: "v", as: Int32.self) } == [1])
                #expect(session.speculativeExecutions == before + 1)
                var stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 1)

                // the same with a healthy first host: it answers within the 8 s delay, no second execution
                try await node.hook("WIRESTACK RESET")
                _ = try await session.execute(select, [.text("a")], options: .init(isIdempotent: true))
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 0)
                #expect(session.speculativeExecutions == before + 1)

                // not idempotent: no speculative execution; the slow host's silence runs into the timeout
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "delay", "ms": 10000"#)
                await #expect(throws: CQLConnectionError.self) {
                    try await session.execute(select, [.text("a")], options: .init(isIdempotent: false, timeout: .milliseconds(1000)))
                }
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 0)
                #expect(session.speculativeExecutions == before + 1)
            }
        }
    }

    @Test("default retry policy: read timeout, write timeout, unavailable and overloaded answers")
    func defaultRetryPolicy() async throws {
        _ = try await withTestNode(["--nodes", "2"]) { node, _ in
            try await CassandraSession.withSession(configuration: Self.configuration(node), logger: testLogger()) { session in
                try await Self.schema(session, "retry")
                let select = try await session.prepare("SELECT v FROM retry.t WHERE k = ?")
                let insert = try await session.prepare("INSERT INTO retry.t (k, v) VALUES (?, ?)")

                // read timeout, enough replicas answered but not the data one: retried once on the same host
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "read_timeout", "received": 1, "blockfor": 1, "data_present": false"#)
                let read = try await session.execute(select, [.text("a")])
                #expect(try read.pageRows.first?.decode(column: "v", as: Int32.self) == 1)
                var stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 2 && stats[Self.second]?.requests == 0)

                // read timeout with the data present (or too few replicas): not retried, the typed error surfaces
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "read_timeout", "received": 0, "blockfor": 1, "data_present": true"#)
                do {
                    try await session.execute(select, [.text("a")])
                    Issue.record("expected a read timeout")
                } catch let error as CQLServerError {
                    #expect(error.kind == .readTimeout(consistency: .one, received: 0, blockFor: 1, dataPresent: true))
                }
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 0)

                // write timeout while writing the batch log of an idempotent statement: retried on the same host
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "write_timeout", "write_type": "BATCH_LOG""#)
                try await session.execute(insert, [.text("b"), .int(2)], options: .init(isIdempotent: true))
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 2)

                // the same for a non-idempotent statement, and a SIMPLE write timeout: never retried
                for (writeType, idempotent) in [("BATCH_LOG", false), ("SIMPLE", true)] {
                    try await node.hook("WIRESTACK RESET")
                    try await Self.fault(node, Self.first, #""kind": "write_timeout", "write_type": "\#(writeType)""#)
                    do {
                        try await session.execute(insert, [.text("c"), .int(3)], options: .init(isIdempotent: idempotent))
                        Issue.record("expected a write timeout (\(writeType), idempotent \(idempotent))")
                    } catch let error as CQLServerError {
                        guard case .writeTimeout(_, _, _, let type, _) = error.kind else {
                            Issue.record("unexpected \(error)")
                            continue
                        }
                        #expect(type == writeType)
                    }
                    stats = try await node.stats()
                    #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 0)
                }

                // unavailable: retried once on the next host
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "unavailable", "required": 2, "alive": 1"#)
                let moved = try await session.execute(select, [.text("a")])
                #expect(try moved.pageRows.first?.decode(column: "v", as: Int32.self) == 1)
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 1)

                // unavailable on both hosts: one retry only, then the error
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "unavailable", "required": 2, "alive": 1"#)
                try await Self.fault(node, Self.second, #""kind": "unavailable", "required": 2, "alive": 1"#)
                do {
                    try await session.execute(select, [.text("a")])
                    Issue.record("expected unavailable")
                } catch let error as CQLServerError {
                    #expect(error.kind == .unavailable(consistency: .one, required: 2, alive: 1))
                }

                // overloaded: the next host for an idempotent statement, the error otherwise
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "overloaded""#)
                try await session.execute(insert, [.text("d"), .int(4)], options: .init(isIdempotent: true))
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 1)
                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "overloaded""#)
                do {
                    try await session.execute(insert, [.text("d"), .int(5)], options: .init(isIdempotent: false))
                    Issue.record("expected overloaded")
                } catch let error as CQLServerError {
                    #expect(error.kind == .overloaded)
                }
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.second]?.requests == 0)
            }
        }
    }

    @Test("a custom retry policy retries at the consistency it chooses")
    func customRetryPolicy() async throws {
        _ = try await withTestNode(["--nodes", "2"]) { node, _ in
            let configuration = Self.configuration(node, retry: DowngradingPolicy(), consistency: .quorum)
            try await CassandraSession.withSession(configuration: configuration, logger: testLogger()) { session in
                try await Self.schema(session, "downgrade")
                let select = try await session.prepare("SELECT v FROM downgrade.t WHERE k = ?")
                try await node.hook("WIRESTACK RESET")
                _ = try await session.execute(select, [.text("a")])
                var stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 1 && stats[Self.first]?.consistency == Int(CQLConsistency.quorum.rawValue))

                try await node.hook("WIRESTACK RESET")
                try await Self.fault(node, Self.first, #""kind": "unavailable", "required": 2, "alive": 1"#)
                let result = try await session.execute(select, [.text("a")])
                #expect(try result.pageRows.first?.decode(column: "v", as: Int32.self) == 1)
                stats = try await node.stats()
                #expect(stats[Self.first]?.requests == 2 && stats[Self.first]?.consistency == Int(CQLConsistency.one.rawValue))
                #expect(stats[Self.second]?.requests == 0)
            }
        }
    }
}
