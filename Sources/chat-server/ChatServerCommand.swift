import ArgumentParser
import ChatServer
import Foundation
import Hummingbird
import Logging

/// `chat-server`: runs the reference chat server, on its embedded default or, given cluster
/// addresses (flags, `CHAT_*` environment variables or `--config` file), on PostgreSQL,
/// Cassandra and Redis.
@main
struct ChatServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-server",
        abstract: "The Wirestack reference chat server (embedded by default; PostgreSQL, Cassandra and Redis given their addresses).",
        discussion: """
            Every cluster address is optional; a port without one stays embedded. Settings are read from \
            --config (key = value lines, keys as the flag names), then CHAT_* environment variables \
            (e.g. CHAT_POSTGRES, CHAT_CASSANDRA_KEYSPACE), then flags. \
            One process runs every role by default; --roles runs a subset, and the other roles are \
            reached over gRPC at --idgen-address, --user-address, --chats-address, --config-address \
            (a process serves its own idgen/user/chats/config roles on --internal-grpc-port). \
            See docs/chat-server-distributed.md.
            """)

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind (0 = any free port).")
    var port = 8080

    @Option(name: .customLong("data-dir"), help: "Directory for SQLite files, uploaded files and the token secret.")
    var dataDirectory = "./chat-data"

    @Option(help: "PBKDF2-SHA256 rounds for new password hashes.")
    var passwordRounds = 210_000

    @Option(help: "Access-token lifetime in seconds.")
    var tokenLifetime: Int64 = 1800

    @Option(help: "Bearer token enabling the admin config API (/api/config); also read from CHAT_ADMIN_TOKEN.")
    var adminToken: String?

    @Flag(help: "Use PRAGMA synchronous=FULL (survives power loss; slower).")
    var synchronousFull = false

    @Option(help: "Config file with deployment settings (key = value lines).")
    var config: String?

    @Option(help: "PostgreSQL/YugabyteDB for users, connections, files and config: URL, key=value string, or host:port[,host:port].")
    var postgres: String?

    @Option(help: "PostgreSQL user for a host:port list (default postgres).")
    var postgresUser: String?

    @Option(help: "PostgreSQL database for a host:port list, created when missing (default chat).")
    var postgresDatabase: String?

    @Option(help: "Cassandra contact points for history and chat state: host:port[,host:port].")
    var cassandra: String?

    @Option(help: "Cassandra keyspace, created when missing (default chats).")
    var cassandraKeyspace: String?

    @Option(help: "Cassandra replication map for a new keyspace.")
    var cassandraReplication: String?

    @Option(help: "Redis for the user cache and config-change notifications: redis:// URL, host:port, or host:port,host:port,... (cluster seeds).")
    var redis: String?

    @Option(help: "Prefix of every Redis key and channel.")
    var redisPrefix: String?

    @Option(help: "Cache entry lifetime in seconds (default 300).")
    var cacheTtl: Int?

    @Option(help: "Kafka bootstrap servers for the backplane: host:port[,host:port].")
    var kafka: String?

    @Option(help: "Prefix of the Kafka topic names and consumer-group IDs (several deployments can share brokers).")
    var kafkaPrefix: String?

    @Option(help: "This instance's server ID (partition ownership; default 0).")
    var serverId: Int?

    @Option(help: "Snowflake generator ID 0...255, unique per instance (default: the server ID).")
    var generatorId: Int?

    @Option(help: "Roles this process runs, comma-separated, among bff, messaging, idgen, user, chats, config (default: all).")
    var roles: String?

    @Option(help: "Port of the internal gRPC server serving this process's idgen/user/chats/config roles to other processes (0 = any free port; default: none).")
    var internalGrpcPort: Int?

    @Option(help: "host:port of the internal gRPC server running the idgen role (when this process does not run it).")
    var idgenAddress: String?

    @Option(help: "host:port of the internal gRPC server running the user role.")
    var userAddress: String?

    @Option(help: "host:port of the internal gRPC server running the chats role.")
    var chatsAddress: String?

    @Option(help: "host:port of the internal gRPC server running the config role.")
    var configAddress: String?

    @Option(help: "Deadline of one call to another role, retries included, in milliseconds (default 5000).")
    var internalTimeoutMs: Int?

    @Option(help: "Consecutive failed calls after which a role's circuit breaker opens (default 5).")
    var breakerThreshold: Int?

    @Option(help: "How long an open circuit breaker fails calls fast before probing again, in milliseconds (default 5000).")
    var breakerCoolDownMs: Int?

    @Option(help: "Message IDs fetched per refill from a remote idgen role (2...16384, default 1024).")
    var idBufferSize: Int?

    @Option(help: "Port of the gRPC real-time API (0 = any free port, -1 = off).")
    var grpcPort = 8081

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    @Flag(help: "Trace requests, queries and backplane messages (W3C traceparent); spans are logged. Also CHAT_TRACE=1.")
    var trace = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "chat-server")
        if ChatTracing.isRequested(flag: trace) { ChatTracing.bootstrapLogging(logger: Logger(label: "chat-server.trace")) }
        var configuration = ChatServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = dataDirectory
        configuration.passwordRounds = passwordRounds
        configuration.tokenLifetimeSeconds = tokenLifetime
        configuration.adminToken = adminToken ?? Environment().get("CHAT_ADMIN_TOKEN")
        configuration.synchronousFull = synchronousFull
        configuration.deployment = try deployment()
        // Instances sharing a deployment must not share a snowflake generator.
        configuration.generatorID = configuration.deployment.generatorID ?? configuration.deployment.serverID & 0xFF
        configuration.grpcPort = grpcPort >= 0 ? grpcPort : nil
        configuration.onGRPCServerRunning = { [host] port in logger.info("gRPC real-time API listening", metadata: ["address": "\(host):\(port)"]) }
        let (host, dataDirectory) = (configuration.host, configuration.dataDirectory)
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { port in
            logger.info("chat server listening", metadata: ["url": "http://\(host):\(port)/", "dataDir": "\(dataDirectory)"])
        }
        try await app.runService()
    }

    /// The deployment from the config file, then the environment, then flags.
    func deployment() throws -> ChatDeployment {
        var deployment = ChatDeployment()
        if let config { try deployment.apply(configFile: config) }
        try deployment.apply(environment: ProcessInfo.processInfo.environment)
        let flags: [(String, String?)] = [
            ("postgres", postgres), ("postgres-user", postgresUser), ("postgres-database", postgresDatabase),
            ("cassandra", cassandra), ("cassandra-keyspace", cassandraKeyspace), ("cassandra-replication", cassandraReplication),
            ("redis", redis), ("redis-prefix", redisPrefix), ("cache-ttl", cacheTtl.map(String.init)),
            ("kafka", kafka), ("kafka-prefix", kafkaPrefix), ("server-id", serverId.map(String.init)),
            ("generator-id", generatorId.map(String.init)), ("roles", roles),
            ("internal-grpc-port", internalGrpcPort.map(String.init)), ("idgen-address", idgenAddress), ("user-address", userAddress),
            ("chats-address", chatsAddress), ("config-address", configAddress), ("internal-timeout-ms", internalTimeoutMs.map(String.init)),
            ("breaker-threshold", breakerThreshold.map(String.init)), ("breaker-cool-down-ms", breakerCoolDownMs.map(String.init)),
            ("id-buffer-size", idBufferSize.map(String.init)),
        ]
        for case let (key, value?) in flags { try deployment.set(key, value) }
        return deployment
    }
}
