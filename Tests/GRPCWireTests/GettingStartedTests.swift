import GRPCWire
import Logging
import Testing

// The code of GRPCWire.docc/GettingStarted.md, compiled and run.

enum Greeter {
    static let sayHello = MethodDescriptor<Grpc_Health_V1_HealthCheckRequest, Grpc_Health_V1_HealthCheckResponse>(
        service: "example.Greeter", method: "SayHello", kind: .unary)
    static let countdown = MethodDescriptor<Grpc_Health_V1_HealthCheckRequest, Grpc_Health_V1_HealthCheckResponse>(
        service: "example.Greeter", method: "Countdown", kind: .serverStreaming)
}

struct GreeterService: GRPCService {
    func register(with router: inout ServiceRouter) {
        router.unary(Greeter.sayHello) { request, context in
            context.trailingMetadata.add("x-greeted", request.service)
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = request.service.isEmpty ? .notServing : .serving
            return response
        }
        router.serverStreaming(Greeter.countdown) { request, writer, context in
            for _ in 0..<3 {
                var response = Grpc_Health_V1_HealthCheckResponse()
                response.status = .serving
                try await writer.write(response)  // suspends while the client is not reading
            }
        }
    }
}

@Suite struct GettingStartedTests {
    @Test func gettingStartedRuns() async throws {
        let logger = testLogger
        let server = GRPCServer(
            configuration: .init(host: "127.0.0.1", port: 0),
            services: [GreeterService(), HealthService()],
            logger: logger)
        let serving = Task { try await server.run() }
        let port = try await server.listeningPort()

        let client = GRPCClient(
            configuration: .init(host: "127.0.0.1", port: port, transportSecurity: .plaintext),
            logger: logger)

        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = "world"
        let reply = try await client.unaryCall(Greeter.sayHello, request, options: CallOptions(timeout: .seconds(30)))
        print(reply.message.status, reply.trailingMetadata.first("x-greeted") ?? "")

        let count = try await client.serverStreaming(Greeter.countdown, request) { responses in
            var count = 0
            for try await _ in responses { count += 1 }
            return count
        }
        print("received \(count) messages")

        await client.close()
        server.beginGracefulShutdown()  // GOAWAY; in-flight calls finish
        try await serving.value

        #expect(reply.message.status == .serving)
        #expect(reply.trailingMetadata.first("x-greeted") == "world")
        #expect(count == 3)
    }
}
