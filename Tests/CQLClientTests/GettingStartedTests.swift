import Foundation
import Logging
import Testing
import CQLClient
import WireCore

/// The code of CQLClient.docc/GettingStarted.md, run against a private CQL test node.
@Suite("GettingStarted article code")
struct GettingStartedTests {
    struct Message: Decodable {
        var chat_id: String
        var message_id: Int64
        var body: String?
        var reactions: [Int64: String]?
    }

    @Test("the article's example runs and returns the messages newest first")
    func article() async throws {
        _ = try await withTestNode { node, _ in
            let configuration = CassandraSessionConfiguration(
                contactPoints: [(node.host, node.port)],
                compression: .lz4,
                defaultConsistency: .localQuorum
            )
            let messages = try await CassandraSession.withSession(configuration: configuration, logger: Logger(label: "chat")) { session in
                try await session.query("CREATE KEYSPACE IF NOT EXISTS chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                try await session.query("""
                    CREATE TABLE IF NOT EXISTS chat.messages (chat_id text, message_id bigint, body text,
                    reactions map<bigint, text>, PRIMARY KEY ((chat_id), message_id)) WITH CLUSTERING ORDER BY (message_id DESC)
                    """)
                let chatID = "general"
                for id in Int64(1)...3 {
                    try await session.execute("INSERT INTO chat.messages (chat_id, message_id, body) VALUES (\(chatID), \(id), \("message \(id)"))")
                }
                try await session.execute("UPDATE chat.messages SET reactions[\(Int64(42))] = \("👍") WHERE chat_id = \(chatID) AND message_id = \(Int64(2))")
                let result = try await session.query("INSERT INTO chat.messages (chat_id, message_id, body) VALUES ('general', 1, 'x') IF NOT EXISTS")
                #expect(result.wasApplied == false)
                return try await session.rows("SELECT * FROM chat.messages WHERE chat_id = \(chatID)", options: .init(pageSize: 100))
                    .decode(Message.self).map { "\($0.message_id):\($0.body ?? ""):\($0.reactions ?? [:])" }
            }
            #expect(messages == ["3:message 3:[:]", "2:message 2:[42: \"👍\"]", "1:message 1:[:]"])
        }
    }

    @Test("the article's TLS, authentication and policies example runs")
    func secure() async throws {
        let certificates = FileManager.default.temporaryDirectory.appendingPathComponent("cql-gs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        _ = try await withTestNode(["--tls", certificates, "--auth", "chat:s3cret"]) { node, _ in
            var configuration = CassandraSessionConfiguration(
                contactPoints: [(node.host, node.port)],
                authenticator: PasswordAuthenticator(username: "chat", password: "s3cret"),
                tls: TLSSettings(trustRoots: .file(certificates + "/ca.crt"))
            )
            configuration.speculativeExecution = CQLSpeculativeExecutionPolicy(delay: .milliseconds(50), maxExecutions: 1)
            configuration.retryPolicy = CQLDefaultRetryPolicy()
            let version = try await CassandraSession.withSession(configuration: configuration, logger: Logger(label: "chat")) { session in
                let local = try await session.query("SELECT release_version FROM system.local", options: .init(isIdempotent: true))
                return try local.pageRows.first?.decode(column: "release_version", as: String.self)
            }
            #expect(version == "4.1.3")
        }
    }
}
