import Foundation
import Testing
@testable import CQLClient

/// CQLClient features against the project's CQL test node.
@Suite("CassandraSession against the CQL test node", .serialized)
struct SessionTests {
    struct Attachment: Codable, Equatable, Sendable {
        var name: String
        var size: Int64
    }

    struct Message: Decodable, Equatable, Sendable {
        var chat_id: String
        var message_id: Int64
        var body: String?
        var reactions: [Int64: String]?
        var attachment: Attachment?
        var tags: Set<String>?
    }

    static func schema(_ session: CassandraSession, _ ks: String) async throws {
        try await session.query("CREATE KEYSPACE \(unescaped: ks) WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        try await session.query("CREATE TYPE \(unescaped: ks).attachment (name text, size bigint)")
        try await session.query("""
            CREATE TABLE \(unescaped: ks).messages (chat_id text, message_id bigint, body text, reactions map<bigint, text>,
            attachment frozen<attachment>, tags set<text>, PRIMARY KEY ((chat_id), message_id)) WITH CLUSTERING ORDER BY (message_id DESC)
            """)
    }

    @Test("Decodable rows, tuples, bound Encodable UDTs, LWT [applied], paging AsyncSequence")
    func typedRows() async throws {
        _ = try await withTestNode { node, _ in
            try await CassandraSession.withSession(configuration: sessionConfiguration(node), logger: testLogger()) { session in
                try await Self.schema(session, "typed")
                for i in 0..<25 {
                    try await session.execute("INSERT INTO typed.messages (chat_id, message_id, body) VALUES (\("c"), \(Int64(i)), \("m\(i)"))")
                }
                let insert = try await session.prepare("INSERT INTO typed.messages (chat_id, message_id, body, attachment, tags) VALUES (?, ?, ?, ?, ?)")
                try await session.execute(insert, [.text("c"), .bigint(100), .text("file"),
                                                   try CQLValueEncoder.encode(Attachment(name: "a.png", size: 42)),
                                                   .set([.text("x"), .text("y")])])
                try await session.execute("UPDATE typed.messages SET reactions[\(Int64(7))] = \("👍") WHERE chat_id = \("c") AND message_id = \(Int64(100))")

                let newest = try await session.execute("SELECT * FROM typed.messages WHERE chat_id = \("c") LIMIT 1")
                let message = try #require(try newest.decode(Message.self).first)
                #expect(message == Message(chat_id: "c", message_id: 100, body: "file", reactions: [7: "👍"],
                                           attachment: Attachment(name: "a.png", size: 42), tags: ["x", "y"]))

                let pairs = try await session.execute("SELECT message_id, body FROM typed.messages WHERE chat_id = \("c") AND message_id < \(Int64(3))")
                    .decode((Int64, String?).self)
                #expect(pairs.map { $0.0 } == [2, 1, 0] && pairs.map { $0.1 } == ["m2", "m1", "m0"])

                // paging: 26 rows in pages of 4, fetched lazily by the AsyncSequence
                var seen: [Int64] = []
                for try await row in session.rows("SELECT message_id FROM typed.messages WHERE chat_id = \("c")", options: .init(pageSize: 4)) {
                    seen.append(try row.decode(column: "message_id", as: Int64.self))
                }
                #expect(seen == [100] + (0..<25).reversed().map(Int64.init))

                let first = try await session.query("INSERT INTO typed.messages (chat_id, message_id, body) VALUES ('c', 500, 'x') IF NOT EXISTS")
                let second = try await session.query("INSERT INTO typed.messages (chat_id, message_id, body) VALUES ('c', 500, 'y') IF NOT EXISTS")
                #expect(first.wasApplied == true && second.wasApplied == false)
                #expect(try second.pageRows.first?.decode(column: "body", as: String.self) == "x")

                // NULL into a non-optional is a typed error, not a crash
                let noReactions = try await session.execute("SELECT reactions FROM typed.messages WHERE chat_id = \("c") AND message_id = \(Int64(0))")
                #expect(throws: CQLTypeError.unexpectedNull(context: "reactions")) {
                    _ = try noReactions.pageRows[0].decode(column: "reactions", as: [Int64: String].self)
                }
                #expect(try noReactions.pageRows[0].decode(column: "reactions", as: [Int64: String]?.self) == nil)
                try await session.query("DROP KEYSPACE typed")
            }
        }
    }

    @Test("v5 is negotiated first and v4 is used when the node only speaks v4")
    func negotiation() async throws {
        _ = try await withTestNode(["--max-version", "4"]) { node, _ in
            let connection = try await CQLConnection.connect(.init(host: node.host, port: node.port, protocolVersion: .v5), logger: testLogger())
            #expect(connection.version == .v4)
            await connection.close()
        }
        _ = try await withTestNode { node, _ in
            let connection = try await CQLConnection.connect(.init(host: node.host, port: node.port, protocolVersion: .v5), logger: testLogger())
            #expect(connection.version == .v5)
            await connection.close()
        }
    }

    @Test("compression: lz4 on v5 segments and v4 frames, snappy on v4", arguments: [
        (CQLProtocolVersion.v5, CQLCompressionAlgorithm.lz4), (.v4, .lz4), (.v4, .snappy),
    ])
    func compression(version: CQLProtocolVersion, algorithm: CQLCompressionAlgorithm) async throws {
        _ = try await withTestNode { node, _ in
            let connection = try await CQLConnection.connect(
                .init(host: node.host, port: node.port, protocolVersion: version, compression: algorithm), logger: testLogger())
            #expect(connection.version == version && connection.compression == algorithm)
            // a large statement crosses several v5 segments; compressible rows come back compressed
            let big = String(repeating: "chat ", count: 60_000)
            _ = try await connection.send(CQLQueryRequest(query: "CREATE KEYSPACE z WITH replication = {'class': 'SimpleStrategy'}", parameters: .init()))
            _ = try await connection.send(CQLQueryRequest(query: "CREATE TABLE z.t (k int PRIMARY KEY, v text)", parameters: .init()))
            _ = try await connection.send(CQLQueryRequest(query: "INSERT INTO z.t (k, v) VALUES (1, '\(big)')", parameters: .init()))
            let frame = try await connection.send(CQLQueryRequest(query: "SELECT v FROM z.t WHERE k = 1", parameters: .init()))
            guard case .result(.rows(let rows)) = frame.message else { Issue.record("expected rows"); return }
            #expect(try rows[0].decode(column: 0, as: String.self) == big)
            await connection.close()
        }
    }

    @Test("PasswordAuthenticator: right credentials connect, wrong ones fail with an authentication error")
    func authentication() async throws {
        _ = try await withTestNode(["--auth", "chat:s3cret"]) { node, _ in
            let ok = try await CQLConnection.connect(
                .init(host: node.host, port: node.port, authenticator: PasswordAuthenticator(username: "chat", password: "s3cret")),
                logger: testLogger())
            await ok.close()
            do {
                _ = try await CQLConnection.connect(
                    .init(host: node.host, port: node.port, authenticator: PasswordAuthenticator(username: "chat", password: "nope")),
                    logger: testLogger())
                Issue.record("wrong credentials connected")
            } catch CQLHandshakeError.server(let error) {
                #expect(error.kind == .authenticationError)
            }
            await #expect(throws: CQLHandshakeError.self) {
                _ = try await CQLConnection.connect(.init(host: node.host, port: node.port), logger: testLogger())
            }
        }
    }

    @Test("schema events arrive on the events AsyncSequence")
    func events() async throws {
        _ = try await withTestNode { node, _ in
            try await CassandraSession.withSession(configuration: sessionConfiguration(node), logger: testLogger()) { session in
                let events = session.events()
                try await session.query("CREATE KEYSPACE ev WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                try await session.query("CREATE TABLE ev.t (k int PRIMARY KEY)")
                var received: [CQLSchemaChange] = []
                for await event in events {
                    if case .schemaChange(let change) = event { received.append(change) }
                    if received.count == 2 { break }
                }
                #expect(received.map(\.target) == ["KEYSPACE", "TABLE"])
                #expect(received.last?.name == "t")
            }
        }
    }

    @Test("UNPREPARED is handled by re-preparing transparently; v5 result metadata id follows ALTER TABLE")
    func reprepareAndMetadataID() async throws {
        _ = try await withTestNode { node, _ in
            try await CassandraSession.withSession(configuration: sessionConfiguration(node), logger: testLogger()) { session in
                try await session.query("CREATE KEYSPACE rp WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                try await session.query("CREATE TABLE rp.t (k int PRIMARY KEY, a text)")
                try await session.execute("INSERT INTO rp.t (k, a) VALUES (\(Int32(1)), \("one"))")
                let select = try await session.prepare("SELECT * FROM rp.t WHERE k = ?")
                let before = select.resultMetadataID
                #expect(try await session.execute(select, [.int(1)]).pageRows.count == 1)
                // the node forgets every prepared statement: the next EXECUTE gets UNPREPARED
                try await session.query("DELETE FROM system.prepared_statements")
                let again = try await session.execute(select, [.int(1)])
                #expect(try again.pageRows[0].decode(column: "a", as: String.self) == "one")
                // v5: the table gains a column; the server announces new result metadata
                try await session.query("ALTER TABLE rp.t ADD b text")
                let after = try await session.execute(select, [.int(1)])
                #expect(after.rows?.metadata.columns?.map(\.name) == ["k", "a", "b"])
                #expect(select.resultMetadataID != before)
                #expect(select.resultMetadata.columns?.count == 3)
            }
        }
    }

    @Test("thousands of requests in flight on one connection")
    func multiplexing() async throws {
        _ = try await withTestNode { node, _ in
            let connection = try await CQLConnection.connect(.init(host: node.host, port: node.port), logger: testLogger())
            let total = 3000
            let sum = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<total {
                    group.addTask {
                        let frame = try await connection.send(CQLQueryRequest(query: "SELECT key FROM system.local WHERE key='local' AND \(i) = \(i)",
                                                                              parameters: .init()))
                        guard case .result(.rows(let rows)) = frame.message else { return 0 }
                        return rows.rowCount
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(sum == total)
            await connection.close()
        }
    }

    @Test("discovery of a 3-node cluster from system.peers_v2, token-aware routing and speculative execution")
    func cluster() async throws {
        _ = try await withTestNode(["--nodes", "3"]) { node, _ in
            var configuration = sessionConfiguration(node)
            configuration.speculativeExecution = CQLSpeculativeExecutionPolicy(delay: .milliseconds(50), maxExecutions: 2)
            try await CassandraSession.withSession(configuration: configuration, logger: testLogger()) { session in
                #expect(Set(session.hosts.map(\.address)) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
                #expect(session.hosts.allSatisfy { $0.tokens.count == 1 && $0.datacenter == "datacenter1" })
                try await session.query("CREATE KEYSPACE cl WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                try await session.query("CREATE TABLE cl.t (k text PRIMARY KEY, v int)")
                let insert = try await session.prepare("INSERT INTO cl.t (k, v) VALUES (?, ?)")
                #expect(insert.bindMetadata.partitionKeyIndexes == [0])
                // the plan for a routing key starts with the token's owner on the ring
                let bound = try insert.bind([.text("user-42"), .int(1)])
                let key = try #require(insert.routingKey(bound))
                let token = CQLTokenRing.token(forKey: key)
                let owner = CQLTokenRing(hosts: session.hosts).replicas(for: token, count: 1).first
                #expect(session.queryPlan(routingKey: key).first?.endpoint == owner)
                for i in 0..<30 {
                    try await session.execute(insert, [.text("user-\(i)"), .int(Int32(i))], options: .init(isIdempotent: true))
                }
                let count = try await session.query("SELECT count(*) FROM cl.t")
                #expect(try count.pageRows[0].decode(column: 0, as: Int64.self) == 30)
            }
        }
    }

    @Test("BATCH logged, unlogged and counter; v5 per-query keyspace without USE")
    func batchesAndPerQueryKeyspace() async throws {
        _ = try await withTestNode { node, _ in
            try await CassandraSession.withSession(configuration: sessionConfiguration(node), logger: testLogger()) { session in
                try await session.query("CREATE KEYSPACE bt WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                try await session.query("CREATE TABLE bt.t (k text, c int, v text, PRIMARY KEY (k, c))")
                try await session.query("CREATE TABLE bt.counts (k text PRIMARY KEY, n counter)")
                try await session.batch([
                    CQLBatchStatement("INSERT INTO bt.t (k, c, v) VALUES (?, ?, ?)", [.text("a"), .int(1), .text("one")]),
                    CQLBatchStatement("INSERT INTO bt.t (k, c, v) VALUES ('a', 2, 'two')", prepared: false),
                ], type: .logged)
                try await session.batch([
                    CQLBatchStatement("UPDATE bt.t SET v = ? WHERE k = ? AND c = ?", [.text("uno"), .text("a"), .int(1)]),
                    CQLBatchStatement("DELETE FROM bt.t WHERE k = ? AND c = ?", [.text("a"), .int(2)]),
                ], type: .unlogged)
                for _ in 0..<3 {
                    try await session.batch([
                        CQLBatchStatement("UPDATE bt.counts SET n = n + ? WHERE k = ?", [.counter(2), .text("x")]),
                        CQLBatchStatement("UPDATE bt.counts SET n = n + 1 WHERE k = 'y'", prepared: false),
                    ], type: .counter)
                }
                let rows = try await session.execute("SELECT c, v FROM bt.t WHERE k = \("a")").decode((Int32, String).self)
                #expect(rows.map(\.0) == [1] && rows.map(\.1) == ["uno"])
                let counts = try await session.query("SELECT k, n FROM bt.counts WHERE k IN ('x', 'y')").decode((String, Int64).self)
                #expect(Dictionary(uniqueKeysWithValues: counts.map { ($0.0, $0.1) }) == ["x": 6, "y": 3])

                // v5: the keyspace travels with the statement (QUERY, PREPARE/EXECUTE, BATCH); no USE happened
                #expect(session.keyspace == nil)
                let options = CQLStatementOptions(keyspace: "bt")
                try await session.query("INSERT INTO t (k, c, v) VALUES ('b', 1, 'kq')", [], options: options)
                try await session.execute("INSERT INTO t (k, c, v) VALUES (\("b"), \(Int32(2)), \("kp"))", options: options)
                try await session.batch([CQLBatchStatement("INSERT INTO t (k, c, v) VALUES (?, ?, ?)", [.text("b"), .int(3), .text("kb")])],
                                        options: options)
                let perQuery = try await session.execute("SELECT v FROM t WHERE k = \("b")", options: options).pageRows
                    .map { try $0.decode(column: "v", as: String.self) }
                #expect(perQuery == ["kq", "kp", "kb"])
                #expect(session.keyspace == nil)
            }
        }
    }

    @Test("topology and status events arrive on the events AsyncSequence; the session re-reads its hosts on topology changes")
    func topologyEvents() async throws {
        _ = try await withTestNode(["--nodes", "3"]) { node, _ in
            try await CassandraSession.withSession(configuration: sessionConfiguration(node), logger: testLogger()) { session in
                #expect(session.hosts.count == 3)
                let events = session.events()
                let third = "127.0.0.3"
                try await node.hook(#"WIRESTACK EVENT {"type": "STATUS_CHANGE", "change": "DOWN", "addr": "\#(third)"}"#)
                try await node.hook(#"WIRESTACK EVENT {"type": "TOPOLOGY_CHANGE", "change": "REMOVED_NODE", "addr": "\#(third)"}"#)
                var received: [String] = []
                for await event in events {
                    switch event {
                    case .statusChange(let change, let address): received.append("status \(change) \(address.address)")
                    case .topologyChange(let change, let address): received.append("topology \(change) \(address.address)")
                    case .schemaChange: break
                    }
                    if received.count == 2 { break }
                }
                #expect(received == ["status DOWN \(third)", "topology REMOVED_NODE \(third)"])
                // the refresh runs in the background after the event: wait for it (bounded)
                for _ in 0..<200 where session.hosts.count != 2 { try await Task.sleep(for: .milliseconds(50)) }
                #expect(Set(session.hosts.map(\.address)) == ["127.0.0.1", "127.0.0.2"])
                try await node.hook(#"WIRESTACK EVENT {"type": "TOPOLOGY_CHANGE", "change": "NEW_NODE", "addr": "\#(third)"}"#)
                for _ in 0..<200 where session.hosts.count != 3 { try await Task.sleep(for: .milliseconds(50)) }
                #expect(Set(session.hosts.map(\.address)) == ["127.0.0.1", "127.0.0.2", third])
            }
        }
    }

    @Test("request timeout and typed errors with extra fields")
    func errors() async throws {
        _ = try await withTestNode { node, _ in
            try await CassandraSession.withSession(configuration: sessionConfiguration(node), logger: testLogger()) { session in
                do {
                    try await session.query("SELECT * FROM nowhere.t")
                    Issue.record("expected an error")
                } catch let error as CQLServerError {
                    #expect(error.kind == .invalid)
                }
                try await session.query("CREATE KEYSPACE er WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                do {
                    try await session.query("CREATE KEYSPACE er WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                    Issue.record("expected AlreadyExists")
                } catch let error as CQLServerError {
                    #expect(error.kind == .alreadyExists(keyspace: "er", table: ""))
                }
                await #expect(throws: CQLConnectionError.self) {
                    try await session.query("SELECT * FROM system.local", options: .init(timeout: .nanoseconds(1)))
                }
            }
        }
    }
}
