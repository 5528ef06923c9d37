import GRPCWire
import Logging
import ServiceLifecycle
import WireCore

/// How calls to another process's role behave.
public struct RemoteCallSettings: Sendable {
    /// Deadline of one call, retries included.
    public var timeout: Duration = .seconds(5)
    /// Attempts of one call at most (the first included).
    public var maxAttempts = 4
    /// Delay between attempts (WireCore's exponential backoff with jitter).
    public var backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
    /// When the breaker opens and how long it stays open.
    public var breaker = CircuitBreakerConfiguration(failureThreshold: 5, coolDown: .seconds(5))

    /// The defaults (the reference's 5 s call timeout, 4 attempts).
    public init() {}

    /// The settings of `deployment` (timeout, breaker threshold and cool-down).
    public init(deployment: ChatDeployment) {
        timeout = .milliseconds(deployment.internalTimeoutMilliseconds)
        breaker = CircuitBreakerConfiguration(failureThreshold: deployment.breakerThreshold,
                                              coolDown: .milliseconds(deployment.breakerCoolDownMilliseconds))
    }
}

/// A role run by another process, reached over GRPCWire: one multiplexed HTTP/2 connection,
/// a deadline per call, retries with backoff, and a circuit breaker.
///
/// - A call is retried on UNAVAILABLE when it is idempotent (queries), or when the request
///   never left this process (no connection, no stream); other errors are not retried.
/// - UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL and UNKNOWN count as failures for the breaker;
///   other statuses are answers from a healthy role. While the breaker is open, calls throw
///   ``RemoteRoleError`` with ``RemoteRoleError/Kind/circuitOpen(_:)`` without being sent.
public final class RemoteRole: Service, Sendable {
    /// The role.
    public let role: ChatRole
    /// `host:port` of its internal gRPC server.
    public let address: String
    /// The breaker guarding calls to it.
    public let breaker: CircuitBreaker
    let client: GRPCClient
    let settings: RemoteCallSettings
    let logger: Logger

    /// A client of `role` at `address` (`host:port`); connects on the first call.
    public init(role: ChatRole, address: String, settings: RemoteCallSettings, logger: Logger) throws {
        let hosts = try ChatDeployment.hostList(address, defaultPort: 0)
        guard hosts.count == 1, hosts[0].port != 0 else {
            throw ChatDeployment.SettingError(description: "\(role)-address must be host:port, got '\(address)'")
        }
        self.role = role
        self.address = address
        self.settings = settings
        self.logger = logger
        var configuration = GRPCClient.Configuration(host: hosts[0].host, port: hosts[0].port)
        configuration.connectTimeout = min(settings.timeout, .seconds(2))
        configuration.maxReceiveMessageSize = 16 << 20
        self.client = GRPCClient(configuration: configuration, interceptors: [TracingClientInterceptor()], logger: logger)
        self.breaker = CircuitBreaker(name: "the \(role) role at \(address)", configuration: settings.breaker, onStateChange: { [logger] state in
            switch state {
            case .open: logger.warning("circuit breaker opened: calls fail fast", metadata: ["role": "\(role)", "address": "\(address)"])
            case .halfOpen: logger.info("circuit breaker half-open: probing", metadata: ["role": "\(role)", "address": "\(address)"])
            case .closed: logger.info("circuit breaker closed", metadata: ["role": "\(role)", "address": "\(address)"])
            }
        })
    }

    /// Keeps the client until graceful shutdown, then closes its connection.
    public func run() async throws {
        try await client.run()
    }

    /// Makes a unary call.
    /// - Parameter idempotent: whether the call may run twice (then UNAVAILABLE is always retried).
    public func call<Request: Sendable, Response: Sendable>(
        _ method: MethodDescriptor<Request, Response>, _ request: Request, idempotent: Bool
    ) async throws(RemoteRoleError) -> Response {
        let deadline = Deadline.after(settings.timeout)
        var attempt = 0
        while true {
            let probe: Bool
            do {
                probe = try breaker.acquire()
            } catch {
                throw RemoteRoleError(role: role, address: address, kind: .circuitOpen(error))
            }
            let remaining = deadline.remaining
            guard remaining > .zero else {
                breaker.record(.abandoned, probe: probe)
                throw RemoteRoleError(role: role, address: address, kind: .deadlineExceeded)
            }
            let rpcError: RPCError
            do {
                let response = try await client.unary(method, request, options: CallOptions(timeout: remaining))
                breaker.record(.success, probe: probe)
                return response
            } catch let error as RPCError {
                rpcError = error
            } catch {
                rpcError = RPCError(code: Task.isCancelled ? .cancelled : .unknown, message: "\(error)")
            }
            if rpcError.code == .cancelled {
                breaker.record(.abandoned, probe: probe)
                throw RemoteRoleError(role: role, address: address, kind: .failed(rpcError))
            }
            let countsAgainst: Set<StatusCode> = [.unavailable, .deadlineExceeded, .internal, .unknown]
            breaker.record(countsAgainst.contains(rpcError.code) ? .failure(rpcError.description) : .success, probe: probe)
            switch rpcError.code {
            case .deadlineExceeded:
                throw RemoteRoleError(role: role, address: address, kind: .deadlineExceeded)
            case .unavailable:
                attempt += 1
                let retry = (idempotent || rpcError.requestNotSent) && attempt < settings.maxAttempts
                let delay = settings.backoff.delay(forAttempt: attempt - 1)
                guard retry, deadline.remaining > delay else {
                    throw RemoteRoleError(role: role, address: address, kind: .unavailable(rpcError))
                }
                logger.debug("retrying a call to another role", metadata: ["role": "\(role)", "method": "\(method.fullName)", "attempt": "\(attempt)", "error": "\(rpcError)"])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw RemoteRoleError(role: role, address: address, kind: .unavailable(rpcError))
                }
            default:
                throw RemoteRoleError(role: role, address: address, kind: .failed(rpcError))
            }
        }
    }
}
