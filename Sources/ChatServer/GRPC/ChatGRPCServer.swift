import ChatWire
import GRPCWire
import Logging
import ServiceLifecycle

/// The chat server's gRPC listener (real-time API, plus `grpc.health.v1.Health`), run as a
/// ServiceLifecycle service next to the HTTP application. Graceful shutdown ends the open
/// listen calls, sends GOAWAY and lets unary calls finish.
public final class ChatGRPCServer: Service, Sendable {
    let server: GRPCServer
    let listeners: GRPCListeners
    let onRunning: (@Sendable (Int) async -> Void)?
    let services: ChatServices
    let host: String

    /// A gRPC server for `services` on `host:port` (0 picks a free port); `onRunning` gets the bound port.
    public init(services: ChatServices, host: String, port: Int, logger: Logger, onRunning: (@Sendable (Int) async -> Void)? = nil) {
        let listeners = GRPCListeners { $0.finish() }
        var configuration = GRPCServer.Configuration(host: host, port: port)
        configuration.maxReceiveMessageSize = 64 * 1024
        configuration.maxGraceTime = .seconds(5)
        configuration.maxConcurrentStreams = 256
        // gRPC connections count against the process's connection budget, like HTTP ones.
        configuration.connectionDelegate = services.connectionBudget.grpcConnectionDelegate
        self.server = GRPCServer(configuration: configuration, services: [MessagingGRPCService(services: services, listeners: listeners), HealthService()], interceptors: [TracingServerInterceptor()],
                                 logger: logger)
        self.listeners = listeners
        self.onRunning = onRunning
        self.services = services
        self.host = host
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        let (server, listeners, onRunning, services, host) = (self.server, self.listeners, self.onRunning, self.services, self.host)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withGracefulShutdownHandler {
                    try await server.run()
                } onGracefulShutdown: {
                    listeners.finishAll()
                }
            }
            group.addTask {
                let port = try await server.listeningPort()
                // The session endpoint tells clients this address.
                services.setGRPCAddress("\(host):\(port)")
                await onRunning?(port)
            }
            try await group.waitForAll()
        }
    }
}
