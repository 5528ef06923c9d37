import Synchronization

/// The standard health service `grpc.health.v1.Health` (Check and Watch).
///
/// ```swift
/// let health = HealthService()
/// health.setStatus(.serving, forService: "chat.Messaging")
/// let server = GRPCServer(configuration: .init(port: 0), services: [health, ...], logger: logger)
/// ```
/// The empty service name `""` stands for the whole server and starts as SERVING.
public final class HealthService: GRPCService {
    /// `grpc.health.v1.Health/Check`.
    public static let check = MethodDescriptor<Grpc_Health_V1_HealthCheckRequest, Grpc_Health_V1_HealthCheckResponse>(
        service: "grpc.health.v1.Health", method: "Check", kind: .unary)
    /// `grpc.health.v1.Health/Watch`.
    public static let watch = MethodDescriptor<Grpc_Health_V1_HealthCheckRequest, Grpc_Health_V1_HealthCheckResponse>(
        service: "grpc.health.v1.Health", method: "Watch", kind: .serverStreaming)

    /// A serving status.
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: ServingStatus] = ["": .serving]
        var watchers: [String: [Int: AsyncStream<ServingStatus>.Continuation]] = [:]
        var nextWatcher = 0
    }
    private let state = Mutex(State())

    /// Creates the service; the server as a whole (`""`) is SERVING.
    public init() {}

    /// Sets the status of `service` and notifies its watchers.
    public func setStatus(_ status: ServingStatus, forService service: String) {
        let watchers = state.withLock { state in
            state.statuses[service] = status
            return Array((state.watchers[service] ?? [:]).values)
        }
        for watcher in watchers { watcher.yield(status) }
    }

    /// Marks every service NOT_SERVING (call when starting graceful shutdown).
    public func enterNotServing() {
        let all = state.withLock { state in Array(state.statuses.keys) }
        for service in all { setStatus(.notServing, forService: service) }
    }

    /// The current status of `service`, nil when unknown.
    public func status(forService service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Registers Check and Watch.
    public func register(with router: inout ServiceRouter) {
        router.unary(Self.check) { [self] request, _ in
            guard let status = self.status(forService: request.service) else {
                throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
            }
            var response = Grpc_Health_V1_HealthCheckResponse()
            response.status = status
            return response
        }
        router.serverStreaming(Self.watch) { [self] request, writer, _ in
            let (stream, continuation) = AsyncStream.makeStream(
                of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
            let id = self.state.withLock { state -> Int in
                let id = state.nextWatcher
                state.nextWatcher += 1
                state.watchers[request.service, default: [:]][id] = continuation
                continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
                return id
            }
            defer {
                _ = self.state.withLock { state in state.watchers[request.service]?.removeValue(forKey: id) }
            }
            var last: ServingStatus?
            for await status in stream where status != last {
                last = status
                var response = Grpc_Health_V1_HealthCheckResponse()
                response.status = status
                try await writer.write(response)
            }
        }
    }
}
