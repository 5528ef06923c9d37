import ChatServer
import ChatWire
import GRPCWire
import Logging
import Synchronization
import Testing

/// The gRPC listener counts its TCP connections against the process's connection budget (shared
/// with the HTTP listener) and stops accepting while it is spent; calls on an accepted connection,
/// listen streams included, are not counted a second time.
@Suite(.serialized, .timeLimit(.minutes(3))) struct GRPCConnectionLimitTests {
    @Test func grpcListenerPausesAtTheBudgetAndAcceptsAgainWhenAConnectionCloses() async throws {
        try await GRPCTestServer.run(maxConnections: 2) { port, grpcPort in
            // alice's HTTP connection holds one, her gRPC connection the second: the budget is spent.
            let a = try await TestUser.make("alice", port: port)
            // Her listen stream rides on the accepted connection and is not counted again (counted, it
            // would have been refused with RESOURCE_EXHAUSTED).
            let realtime = try await a.client.connectRealtimeGRPC(port: grpcPort)
            #expect(realtime.connectionID.hasPrefix("grpc-"))
            // Further calls on accepted connections keep working.
            _ = try await a.client.userChats()

            // A new gRPC client waits: the listener does not accept its connection.
            let waiting = GRPCClient(configuration: .init(host: "127.0.0.1", port: grpcPort), logger: Logger(label: "waiting"))
            let wasAnswered = Atomic<Bool>(false)
            let answered = Task {
                let response = try await waiting.unary(HealthService.check, Grpc_Health_V1_HealthCheckRequest())
                wasAnswered.store(true, ordering: .relaxed)
                return response.status
            }
            try await Task.sleep(for: .milliseconds(500))
            let answeredWhileFull = wasAnswered.load(ordering: .relaxed)
            #expect(!answeredWhileFull)

            // alice's gRPC connection closes: the waiting client is accepted and answered.
            await realtime.close()
            let status = try await answered.value
            #expect(status == .serving)
            await waiting.close()
            await a.client.close()
        }
    }
}
