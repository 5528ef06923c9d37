import Atomics
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import WireCore
import ServiceLifecycle
import Synchronization

/// A gRPC client: one multiplexed HTTP/2 connection to one server, reconnected on demand.
///
/// Make calls with the typed methods (``unary(_:_:options:)``, ``serverStreaming(_:_:options:handle:)``,
/// ``clientStreaming(_:options:requests:)``, ``bidirectionalStreaming(_:options:requests:onResponse:)``).
/// As a ServiceLifecycle `Service`, ``run()`` keeps the client alive until graceful shutdown,
/// then lets in-flight calls finish and closes the connection.
public final class GRPCClient: Service, Sendable {
    /// How the client reaches the server.
    public struct Configuration: Sendable {
        /// The server host name or IP address.
        public var host: String
        /// The server port.
        public var port: Int
        /// Plaintext (h2c with prior knowledge) or TLS with ALPN `h2`.
        public var transportSecurity: TransportSecurity
        /// The `:authority` sent; defaults to `host:port`.
        public var authority: String?
        /// Connect timeout.
        public var connectTimeout: Duration = .seconds(10)
        /// The largest response message accepted; larger ones fail with RESOURCE_EXHAUSTED.
        public var maxReceiveMessageSize: Int = 4 << 20
        /// The largest request message sent; larger ones fail with RESOURCE_EXHAUSTED.
        public var maxSendMessageSize: Int = .max
        /// The default compression of request messages.
        public var compression: CompressionAlgorithm = .identity
        /// The response encodings advertised in `grpc-accept-encoding`.
        public var acceptedEncodings: [CompressionAlgorithm] = CompressionAlgorithm.supported
        /// Keepalive pings (gRFC A8); nil disables them.
        public var keepalive: Keepalive?
        /// The default timeout of calls whose options set none.
        public var defaultTimeout: Duration?
        /// The `user-agent` sent.
        public var userAgent: String = "grpc-swift-wirestack/0.1"

        /// Creates a configuration.
        public init(host: String, port: Int, transportSecurity: TransportSecurity = .plaintext) {
            self.host = host
            self.port = port
            self.transportSecurity = transportSecurity
        }
    }

    /// Client keepalive settings (gRFC A8).
    public struct Keepalive: Sendable {
        /// Time without reads after which a PING is sent.
        public var interval: Duration
        /// Time to wait for the PING ACK before closing the connection.
        public var timeout: Duration
        /// Whether to ping while no call is active.
        public var permitWithoutCalls: Bool

        /// Creates keepalive settings.
        public init(interval: Duration, timeout: Duration = .seconds(20), permitWithoutCalls: Bool = false) {
            self.interval = interval
            self.timeout = timeout
            self.permitWithoutCalls = permitWithoutCalls
        }
    }

    private enum ConnectionState {
        case idle
        case connecting(Task<ClientConnection, any Error>)
        case ready(ClientConnection)
        case shutdown
    }

    /// The configuration.
    public let configuration: Configuration
    private let interceptors: [any ClientInterceptor]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex<ConnectionState>(.idle)
    private let activeCalls = ManagedAtomic(0)
    /// The keepalive interval in use: the configured one, doubled after each GOAWAY `too_many_pings`.
    private let keepaliveInterval: Mutex<Duration?>
    private let tls: TLSSettings?
    private let authority: String
    private let scheme: String

    /// The keepalive interval the next connection uses: the configured interval, doubled after
    /// every GOAWAY `too_many_pings` from the server (gRFC A8); nil without keepalive.
    public var currentKeepaliveInterval: Duration? { keepaliveInterval.withLock { $0 } }

    /// Creates a client. It connects on the first call (TLS settings are checked then).
    public init(
        configuration: Configuration,
        interceptors: [any ClientInterceptor] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.interceptors = interceptors
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.keepaliveInterval = Mutex(configuration.keepalive?.interval)
        self.tls = configuration.transportSecurity.settings
        self.scheme = self.tls == nil ? "http" : "https"
        self.authority = configuration.authority ?? "\(configuration.host):\(configuration.port)"
    }

    /// Runs until graceful shutdown (or cancellation), then waits for in-flight calls and closes
    /// the connection.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Stops new calls (they fail with UNAVAILABLE), waits for in-flight calls, closes the connection.
    public func close() async {
        let previous = state.withLock { state -> ConnectionState in
            let previous = state
            state = .shutdown
            return previous
        }
        var waited = 0
        while activeCalls.load(ordering: .relaxed) > 0 && waited < 60_000 {
            try? await Task.sleep(for: .milliseconds(5))
            waited += 5
        }
        switch previous {
        case .ready(let connection): await connection.close()
        case .connecting(let task): try? await task.value.close()
        case .idle, .shutdown: break
        }
    }

    // MARK: connection

    /// Whether the client holds a connection that new calls may use (not draining after GOAWAY).
    var hasUsableConnection: Bool {
        state.withLock { state in
            if case .ready(let connection) = state { return connection.isUsable }
            return false
        }
    }

    func connection() async throws -> ClientConnection {
        enum Next { case use(ClientConnection), wait(Task<ClientConnection, any Error>), closed }
        let next = state.withLock { state -> Next in
            switch state {
            case .ready(let connection) where connection.isUsable:
                return .use(connection)
            case .connecting(let task):
                return .wait(task)
            case .shutdown:
                return .closed
            case .idle, .ready:
                if case .ready(let previous) = state, previous.state.tooManyPings.load(ordering: .relaxed) {
                    keepaliveInterval.withLock { interval in interval = interval.map { $0 * 2 } }
                }
                let configuration = self.configuration
                let tls = self.tls
                let group = self.eventLoopGroup
                let interval = keepaliveInterval.withLock { $0 }
                let task = Task {
                    try await ClientConnection.connect(
                        host: configuration.host, port: configuration.port, tls: tls,
                        connectTimeout: configuration.connectTimeout,
                        keepalive: configuration.keepalive.map {
                            .init(interval: (interval ?? $0.interval).timeAmount, timeout: $0.timeout.timeAmount,
                                  permitWithoutCalls: $0.permitWithoutCalls)
                        },
                        eventLoopGroup: group)
                }
                state = .connecting(task)
                return .wait(task)
            }
        }
        switch next {
        case .use(let connection):
            return connection
        case .closed:
            throw RPCError(code: .unavailable, message: "the client is shut down")
        case .wait(let task):
            do {
                let connection = try await task.value
                state.withLock { state in
                    if case .connecting = state { state = .ready(connection) }
                }
                return connection
            } catch {
                state.withLock { state in
                    if case .connecting = state { state = .idle }
                }
                logger.debug("gRPC connect failed", metadata: ["error": "\(error)"])
                var failure = RPCError(
                    code: .unavailable,
                    message: "cannot connect to \(configuration.host):\(configuration.port): \(error)")
                failure.requestNotSent = true
                throw failure
            }
        }
    }

    // MARK: the call core

    /// Runs one call: applies interceptors, opens a stream, enforces the deadline and task
    /// cancellation, and passes the stream to `body`. `nonisolated(nonsending)`: `body` (the
    /// caller's closures) runs in the caller's isolation, so an actor's or the main actor's
    /// closures may use its state.
    nonisolated(nonsending) func perform<Request, Response, Result: Sendable>(
        _ descriptor: MethodDescriptor<Request, Response>,
        options: CallOptions,
        body: (ClientCallStream) async throws -> Result
    ) async throws -> Result {
        if interceptors.isEmpty {
            return try await performOnStream(descriptor.path, options: options, body: body)
        }
        let info = ClientCallInfo(
            service: descriptor.service, method: descriptor.method, kind: descriptor.kind, options: options)
        let box = ResultBox<Result>()
        try await intercept(info, index: 0) { info in
            box.value = try await self.performOnStream(descriptor.path, options: info.options, body: body)
        }
        guard let value = box.value else {
            throw RPCError(code: .internal, message: "a client interceptor did not call next")
        }
        return value
    }

    private nonisolated(nonsending) func intercept(
        _ info: ClientCallInfo, index: Int, last: (ClientCallInfo) async throws -> Void
    ) async throws {
        if index == interceptors.count {
            try await last(info)
            return
        }
        try await interceptors[index].intercept(info) { info in
            try await self.intercept(info, index: index + 1, last: last)
        }
    }

    private nonisolated(nonsending) func performOnStream<Result: Sendable>(
        _ path: String, options: CallOptions, body: (ClientCallStream) async throws -> Result
    ) async throws -> Result {
        try Task.checkCancellation()
        let timeout = options.timeout ?? configuration.defaultTimeout
        if let timeout, timeout <= .zero {
            throw RPCError(code: .deadlineExceeded, message: "deadline exceeded before the call started")
        }
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let head = RequestHead(
            path: path, scheme: scheme, authority: authority, timeout: timeout,
            encoding: options.compression ?? configuration.compression,
            acceptedEncodings: configuration.acceptedEncodings, metadata: options.metadata,
            userAgent: configuration.userAgent)
        var attempt = 1
        while true {
            do {
                return try await attemptOnStream(head, deadline: deadline, body: body)
            } catch is RefusedAfterGoAway where attempt < Self.maxTransparentAttempts {
                // The connection had received GOAWAY before this call's HEADERS went out, so the
                // server never saw the call: retry it on a new connection (gRFC A6 transparent retry).
                attempt += 1
                logger.debug("gRPC call refused after GOAWAY; retrying on a new connection", metadata: ["attempt": "\(attempt)"])
            } catch let refused as RefusedAfterGoAway {
                throw refused.error
            }
        }
    }

    /// How often a call the server provably never processed is started (on a fresh connection
    /// each time) before its error is returned; the call's deadline bounds the attempts as well.
    static let maxTransparentAttempts = 10

    /// A call the HTTP/2 layer refused to start because the connection was going away.
    private struct RefusedAfterGoAway: Error {
        let error: RPCError
    }

    private nonisolated(nonsending) func attemptOnStream<Result: Sendable>(
        _ requestHead: RequestHead, deadline: ContinuousClock.Instant?, body: (ClientCallStream) async throws -> Result
    ) async throws -> Result {
        var head = requestHead
        if let deadline {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { throw RPCError(code: .deadlineExceeded, message: "deadline exceeded") }
            head.timeout = remaining
        }
        let timeout = head.timeout
        let connection = try await connection()
        let opened: ClientConnection.OpenedStream
        do {
            opened = try await connection.openStream()
        } catch {
            var failure = RPCError(code: .unavailable, message: "cannot open an HTTP/2 stream: \(error)")
            failure.requestNotSent = true
            if !connection.isUsable { throw RefusedAfterGoAway(error: failure) }
            throw failure
        }
        let channel = opened.channel
        activeCalls.wrappingIncrement(ordering: .relaxed)
        connection.state.activeCalls.wrappingIncrement(ordering: .relaxed)
        defer {
            activeCalls.wrappingDecrement(ordering: .relaxed)
            connection.state.activeCalls.wrappingDecrement(ordering: .relaxed)
            // A call that ended normally has closed its stream already (END_STREAM both ways); one
            // that did not is reset (RST_STREAM CANCEL). Nothing waits for the close.
            if channel.isActive { channel.close(promise: nil) }
        }
        let stream = ClientCallStream(
            channel: channel, inbox: opened.inbox, requestHead: head, connection: connection.state,
            batcher: connection.batcher,
            maxReceiveMessageSize: configuration.maxReceiveMessageSize,
            maxSendMessageSize: configuration.maxSendMessageSize)
        let timer = timeout.map { timeout in
            channel.eventLoop.scheduleTask(in: timeout.timeAmount) {
                stream.cancel(reason: .deadline)
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            do {
                return try await body(stream)
            } catch {
                let rpcError = (error as? RPCError) ?? stream.failure(error)
                if await stream.neverProcessed() {
                    throw RefusedAfterGoAway(error: rpcError)
                }
                throw rpcError
            }
        } onCancel: {
            stream.cancel(reason: .cancelled)
        }
    }
}

/// Plaintext or TLS.
public enum TransportSecurity: Sendable {
    /// HTTP/2 over cleartext TCP with prior knowledge (h2c).
    case plaintext
    /// HTTP/2 over TLS (WireCore ``WireCore/TLSSettings``); ALPN `h2` is always offered and required.
    case tls(TLSSettings)

    var settings: TLSSettings? {
        switch self {
        case .plaintext: return nil
        case .tls(let settings): return settings
        }
    }
}

final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        let nanos = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if nanos.overflow { return .nanoseconds(seconds < 0 ? .min : .max) }
        let total = nanos.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000)
        return .nanoseconds(total.overflow ? .max : total.partialValue)
    }
}
