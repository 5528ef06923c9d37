import ArgumentParser
import ChatServer
import Hummingbird
import Logging

/// `chat-server`: runs the reference chat server on its embedded default.
@main
struct ChatServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-server",
        abstract: "The Wirestack reference chat server (embedded: SQLite, in-process backplane and cache).")

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

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    // Scale-out: server ID, snowflake generator and the Kafka backplane.
    @Option(name: .customLong("server-id"), help: "This instance's server ID in partitioning.partitions (also CHAT_SERVER_ID; default 0).")
    var serverID: String?

    @Option(name: .customLong("generator-id"), help: "Snowflake generator ID 0...255, unique per instance (default: the server ID when numeric).")
    var generatorID: Int?

    @Option(name: .customLong("kafka"), help: "Kafka bootstrap brokers host:port[,...]: run on the Kafka backplane (also CHAT_KAFKA).")
    var kafka: String?

    @Option(name: .customLong("kafka-prefix"), help: "Prefix of the Kafka topic names and consumer-group IDs (also CHAT_KAFKA_PREFIX).")
    var kafkaPrefix: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "chat-server")
        var configuration = ChatServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = dataDirectory
        configuration.passwordRounds = passwordRounds
        configuration.tokenLifetimeSeconds = tokenLifetime
        configuration.adminToken = adminToken ?? Environment().get("CHAT_ADMIN_TOKEN")
        configuration.synchronousFull = synchronousFull
        let environment = Environment()
        configuration.scaleOut.serverID = serverID ?? environment.get("CHAT_SERVER_ID") ?? "0"
        configuration.generatorID = generatorID ?? Int(configuration.scaleOut.serverID).map { $0 & 0xFF } ?? 0
        if let bootstrap = kafka ?? environment.get("CHAT_KAFKA") {
            let prefix = kafkaPrefix ?? environment.get("CHAT_KAFKA_PREFIX") ?? ""
            var backplane = KafkaBackplaneConfiguration(bootstrap: bootstrap)
            backplane.topic = prefix + backplane.topic
            backplane.configTopic = prefix + backplane.configTopic
            backplane.groupPrefix = prefix
            configuration.scaleOut.kafka = backplane
        }
        let (host, dataDirectory) = (configuration.host, configuration.dataDirectory)
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { port in
            logger.info("chat server listening", metadata: ["url": "http://\(host):\(port)/", "dataDir": "\(dataDirectory)"])
        }
        try await app.runService()
    }
}
