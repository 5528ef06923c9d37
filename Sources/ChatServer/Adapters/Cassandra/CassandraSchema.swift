import CQLClient
import Logging

/// The reference's Cassandra schema: keyspace, the `file_data` UDT, `chat_messages` clustered
/// by message ID descending and `user_chats`, plus `consumer_offsets` (this server's
/// replacement for Kafka consumer-group offsets when the backplane is embedded). Every
/// statement is `IF NOT EXISTS`, so applying it at each start-up is idempotent.
enum CassandraSchema {
    /// Whether `name` is a plain CQL identifier (it is spliced into statements, never bound).
    static func isValidKeyspace(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter, first.isASCII, name.count <= 48 else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" }
    }

    static func statements(keyspace ks: String, replication: String) -> [String] {
        [
            "CREATE KEYSPACE IF NOT EXISTS \(ks) WITH replication = \(replication) AND durable_writes = true",
            "CREATE TYPE IF NOT EXISTS \(ks).file_data (bucket text, path text)",
            """
            CREATE TABLE IF NOT EXISTS \(ks).chat_messages (chat_id text, message_id bigint, sender_id bigint, receiver_id bigint,
            type tinyint, text text, file file_data, reactions map<bigint, text>,
            PRIMARY KEY (chat_id, message_id)) WITH CLUSTERING ORDER BY (message_id DESC)
            """,
            """
            CREATE TABLE IF NOT EXISTS \(ks).user_chats (user_id bigint, other_user_id bigint, chat_id text, newest_message bigint,
            other_user_delivered bigint, other_user_seen bigint, PRIMARY KEY (user_id, chat_id))
            """,
            "CREATE TABLE IF NOT EXISTS \(ks).consumer_offsets (name text PRIMARY KEY, committed bigint)",
        ]
    }

    /// Creates the keyspace and tables (at consistency ALL, as the reference's init scripts).
    static func apply(on session: CassandraSession, keyspace: String, replication: String, logger: Logger) async throws {
        for statement in statements(keyspace: keyspace, replication: replication) {
            try await session.query(CQLQuery(statement), options: CQLStatementOptions(consistency: .all))
        }
        logger.info("Cassandra schema ready", metadata: ["keyspace": "\(keyspace)"])
    }
}
