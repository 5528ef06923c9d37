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

    @Option(help: "Port of the gRPC real-time API (0 = any free port, -1 = off).")
    var grpcPort = 8081

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

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
        configuration.grpcPort = grpcPort >= 0 ? grpcPort : nil
        configuration.onGRPCServerRunning = { [host] port in logger.info("gRPC real-time API listening", metadata: ["address": "\(host):\(port)"]) }
        let (host, dataDirectory) = (configuration.host, configuration.dataDirectory)
        let app = try await ChatServer.makeApplication(configuration: configuration, logger: logger) { port in
            logger.info("chat server listening", metadata: ["url": "http://\(host):\(port)/", "dataDir": "\(dataDirectory)"])
        }
        try await app.runService()
    }
}
