import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import WireCore

/// Settings for one CQL connection.
public struct CQLConnectionConfiguration: Sendable {
    /// Where and how to connect: endpoint, connect timeout (TCP connect plus TLS handshake),
    /// `TCP_NODELAY` and TLS, through WireCore's ``WireCore/WireConnector``.
    public var transport: ConnectionConfiguration
    /// The highest version to try; the connection falls back to v4 when the server rejects v5.
    public var protocolVersion: CQLProtocolVersion
    /// Preferred compression; used only when the server offers it (snappy is ignored on v5).
    public var compression: CQLCompressionAlgorithm?
    /// Answers the server's AUTHENTICATE; `nil` fails the handshake when the server asks.
    public var authenticator: (any Authenticator)?
    /// `USE`d right after start-up.
    public var keyspace: String?
    /// Caps concurrent requests (max 32768).
    public var maxStreams: Int

    /// Creates a configuration from a WireCore transport configuration.
    public init(transport: ConnectionConfiguration, protocolVersion: CQLProtocolVersion = .v5,
                compression: CQLCompressionAlgorithm? = nil, authenticator: (any Authenticator)? = nil,
                keyspace: String? = nil, maxStreams: Int = CQLStreamIDPool.capacity) {
        self.transport = transport
        self.protocolVersion = protocolVersion
        self.compression = compression
        self.authenticator = authenticator
        self.keyspace = keyspace
        self.maxStreams = maxStreams
    }

    /// Creates a configuration for a TCP host, plaintext unless `tls` is given.
    public init(host: String, port: Int = 9042, protocolVersion: CQLProtocolVersion = .v5,
                compression: CQLCompressionAlgorithm? = nil, authenticator: (any Authenticator)? = nil,
                keyspace: String? = nil, tls: TLSSettings? = nil, connectTimeout: Duration = .seconds(10),
                maxStreams: Int = CQLStreamIDPool.capacity) {
        self.init(transport: ConnectionConfiguration(endpoint: .tcp(host: host, port: port), connectTimeout: connectTimeout, tls: tls),
                  protocolVersion: protocolVersion, compression: compression, authenticator: authenticator,
                  keyspace: keyspace, maxStreams: maxStreams)
    }

    /// The host connected to (the socket path for a Unix-socket endpoint).
    public var host: String {
        switch self.transport.endpoint {
        case .tcp(let host, _): host
        case .unixSocket(let path): path
        }
    }

    /// The TCP port (0 for a Unix-socket endpoint).
    public var port: Int {
        switch self.transport.endpoint {
        case .tcp(_, let port): port
        case .unixSocket: 0
        }
    }

    /// Limit for the TCP connect plus the TLS handshake.
    public var connectTimeout: Duration {
        get { self.transport.connectTimeout }
        set { self.transport.connectTimeout = newValue }
    }

    /// TLS settings; `nil` is plaintext.
    public var tls: TLSSettings? {
        get { self.transport.tls }
        set { self.transport.tls = newValue }
    }
}

/// One multiplexed connection to a CQL node. Thousands of requests may be in flight at once.
public final class CQLConnection: PooledConnection, Sendable {
    /// The negotiated protocol version.
    public let version: CQLProtocolVersion
    /// The negotiated compression, if any.
    public let compression: CQLCompressionAlgorithm?
    /// What the server advertised in SUPPORTED.
    public let supported: [String: [String]]
    /// The host connected to.
    public let host: String
    /// The port connected to.
    public let port: Int

    private let channel: any Channel
    private let handler: NIOLoopBound<CQLChannelHandler>
    private let eventSink: SinkBox
    private let outstanding = Atomic<Int>(0)
    private let currentKeyspace: Mutex<String?>

    /// Requests sent and not yet answered (cheap, for least-loaded selection).
    public var outstandingRequests: Int { self.outstanding.load(ordering: .relaxed) }

    private init(channel: any Channel, handler: NIOLoopBound<CQLChannelHandler>, version: CQLProtocolVersion,
                 compression: CQLCompressionAlgorithm?, supported: [String: [String]], host: String, port: Int,
                 eventSink: SinkBox, keyspace: String?) {
        self.currentKeyspace = Mutex(keyspace)
        self.channel = channel
        self.handler = handler
        self.version = version
        self.compression = compression
        self.supported = supported
        self.host = host
        self.port = port
        self.eventSink = eventSink
    }

    /// False once the channel closed.
    public var isActive: Bool { self.channel.isActive }

    /// For ``WireCore/ConnectionPool``: false once the channel closed (peer close or protocol violation).
    public var isUsable: Bool { self.channel.isActive }

    /// The keyspace the connection is in: set by the handshake's `USE` and by every SetKeyspace result.
    public var keyspace: String? { self.currentKeyspace.withLock { $0 } }

    /// Switches the connection to `keyspace` with `USE` unless it is already in it.
    public func use(keyspace: String) async throws {
        guard self.keyspace != keyspace else { return }
        _ = try await self.send(CQLQueryRequest(query: "USE \(quoteIdentifier(keyspace))", parameters: .init(consistency: .one)))
    }

    /// Connects, negotiates the protocol version (v5 first, then v4), compression and
    /// authentication, and optionally registers for events (delivered to `onEvent`).
    public static func connect(
        _ configuration: CQLConnectionConfiguration,
        events: [CQLEventType] = [],
        onEvent: (@Sendable (CQLEvent) -> Void)? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws -> CQLConnection {
        do {
            return try await self.connect(configuration, version: configuration.protocolVersion, events: events,
                                          onEvent: onEvent, eventLoopGroup: eventLoopGroup, logger: logger)
        } catch CQLHandshakeRetry.version(let lower) {
            logger.debug("server rejected protocol \(configuration.protocolVersion), retrying with \(lower)")
            return try await self.connect(configuration, version: lower, events: events, onEvent: onEvent,
                                          eventLoopGroup: eventLoopGroup, logger: logger)
        }
    }

    private enum CQLHandshakeRetry: Error { case version(CQLProtocolVersion) }

    private static func connect(
        _ configuration: CQLConnectionConfiguration, version: CQLProtocolVersion, events: [CQLEventType],
        onEvent: (@Sendable (CQLEvent) -> Void)?, eventLoopGroup: any EventLoopGroup, logger: Logger
    ) async throws -> CQLConnection {
        let sinkBox = SinkBox(onEvent)
        let maxStreams = configuration.maxStreams
        let channel = try await WireConnector.connect(configuration.transport, eventLoopGroup: eventLoopGroup) { channel in
            channel.eventLoop.makeCompletedFuture {
                let handler = CQLChannelHandler(version: version, maxStreams: maxStreams, logger: logger) { event in
                    sinkBox.deliver(event)
                }
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
        // the CQL handshake (OPTIONS, STARTUP, AUTH, USE, REGISTER) gets the connect timeout too:
        // a node that accepts the socket but never answers closes the channel at the deadline
        let handshakeTimedOut = TimeoutFlag()
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.connectTimeout)) {
            handshakeTimedOut.fired.store(true, ordering: .relaxed)
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        let boundHandler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: CQLChannelHandler.self), eventLoop: channel.eventLoop)
        }.get()
        do {
            var machine = CQLHandshakeStateMachine(
                version: version, preferredCompression: configuration.compression, keyspace: configuration.keyspace,
                events: events, hasAuthenticator: configuration.authenticator != nil)
            var actions = [machine.start()]
            var authSession: (any AuthenticationSession)?
            while !actions.isEmpty {
                let action = actions.removeFirst()
                var request: (any CQLRequest)?
                switch action {
                case .sendOptions:
                    request = CQLOptionsRequest()
                case .sendStartup(let options):
                    let compression = options.compression
                    try await channel.eventLoop.submit {
                        if version >= .v5 {
                            boundHandler.value.armSegmentSwitch(compressed: compression == .lz4)
                        } else if let compression {
                            boundHandler.value.enableFrameCompression(compression)
                        }
                    }.get()
                    request = CQLStartupRequest(compression: compression, driverName: "Wirestack CQLClient", driverVersion: "0.1")
                case .authenticate(let authenticatorClass):
                    authSession = try configuration.authenticator!.makeSession(authenticatorClass: authenticatorClass, host: configuration.host)
                    request = CQLAuthResponseRequest(token: try await authSession!.initialResponse())
                case .answerChallenge(let token):
                    request = CQLAuthResponseRequest(token: try await authSession!.evaluateChallenge(token))
                case .sendUse(let keyspace):
                    request = CQLQueryRequest(query: "USE \(quoteIdentifier(keyspace))", parameters: .init(consistency: .one))
                case .sendRegister(let types):
                    request = CQLRegisterRequest(events: types)
                case .enableSegmentsAndCompression, .enableFrameCompression:
                    break  // armed before STARTUP was sent
                case .retryWithVersion(let lower):
                    throw CQLHandshakeRetry.version(lower)
                case .ready(let compression):
                    return CQLConnection(channel: channel, handler: boundHandler, version: version, compression: compression,
                                         supported: machine.supported, host: configuration.host, port: configuration.port,
                                         eventSink: sinkBox, keyspace: configuration.keyspace)
                case .fail(let error):
                    throw error
                }
                if let request {
                    let response = try await send(request, channel: channel)
                    actions += machine.received(response.message)
                }
            }
            throw CQLHandshakeError.unexpectedResponse("handshake ended without READY")
        } catch {
            try? await channel.close()
            if handshakeTimedOut.fired.load(ordering: .relaxed) { throw ConnectError.timedOut(configuration.transport.endpoint) }
            throw error
        }
    }

    /// Set when the handshake deadline closed the channel.
    final class TimeoutFlag: Sendable {
        let fired = Atomic<Bool>(false)
    }

    final class SinkBox: Sendable {
        let sink: Mutex<(@Sendable (CQLEvent) -> Void)?>
        init(_ handler: (@Sendable (CQLEvent) -> Void)?) { self.sink = Mutex(handler) }
        func deliver(_ event: CQLEvent) {
            let handler = self.sink.withLock { $0 }
            handler?(event)
        }
    }

    /// Writes a request and waits for its response. Cancelling the waiting task fails the wait
    /// with `CancellationError` at once; the stream id stays reserved until the server answers
    /// (the late answer is dropped).
    /// With a `deadline`, an event-loop timer fails the wait with ``CQLConnectionError/timedOut``
    /// when it passes (no extra task per request).
    private static func send(_ request: any CQLRequest, channel: any Channel, tracing: Bool = false,
                             customPayload: [String: [UInt8]]? = nil, knownMetadata: CQLRowsMetadata? = nil,
                             deadline: Deadline? = nil) async throws -> CQLResponseFrame {
        try Task.checkCancellation()
        let promise = channel.eventLoop.makePromise(of: CQLResponseFrame.self)
        var timer: Scheduled<Void>?
        if let deadline {
            let remaining = deadline.remaining
            guard remaining > .zero else { throw CQLConnectionError.timedOut }
            timer = channel.eventLoop.scheduleTask(in: TimeAmount(remaining)) { promise.fail(CQLConnectionError.timedOut) }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            channel.writeAndFlush(CQLOutboundRequest(request: request, tracing: tracing, customPayload: customPayload,
                                                     knownMetadata: knownMetadata, promise: promise), promise: nil)
            return try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    /// The deadline of the request the current task runs: ``sendRaw(_:tracing:customPayload:knownMetadata:)``
    /// fails with ``CQLConnectionError/timedOut`` when it passes. ``CassandraSession`` sets it for
    /// each request (its timeout covers retries and speculative executions).
    @TaskLocal public static var requestDeadline: Deadline?

    /// Sends a request and returns the response frame; ERROR responses are returned, not thrown.
    /// Cancelling the calling task stops the wait with `CancellationError`; past
    /// ``requestDeadline`` the wait fails with ``CQLConnectionError/timedOut``.
    public func sendRaw(_ request: any CQLRequest, tracing: Bool = false, customPayload: [String: [UInt8]]? = nil,
                        knownMetadata: CQLRowsMetadata? = nil) async throws -> CQLResponseFrame {
        guard self.channel.isActive else { throw CQLConnectionError.closed }
        self.outstanding.add(1, ordering: .relaxed)
        defer { self.outstanding.subtract(1, ordering: .relaxed) }
        let frame = try await Self.send(request, channel: self.channel, tracing: tracing, customPayload: customPayload,
                                        knownMetadata: knownMetadata, deadline: Self.requestDeadline)
        if case .result(.setKeyspace(let keyspace)) = frame.message {
            self.currentKeyspace.withLock { $0 = keyspace }
        }
        return frame
    }

    /// Sends a request; an ERROR response is thrown as ``CQLServerError``.
    public func send(_ request: any CQLRequest, tracing: Bool = false, customPayload: [String: [UInt8]]? = nil,
                     knownMetadata: CQLRowsMetadata? = nil) async throws -> CQLResponseFrame {
        let response = try await self.sendRaw(request, tracing: tracing, customPayload: customPayload, knownMetadata: knownMetadata)
        if case .error(let error) = response.message { throw error }
        return response
    }

    /// Replaces the event callback.
    public func setEventHandler(_ handler: (@Sendable (CQLEvent) -> Void)?) {
        self.eventSink.sink.withLock { $0 = handler }
    }

    /// Requests currently in flight or waiting for a stream id.
    public func inFlightCount() async -> Int {
        (try? await self.channel.eventLoop.submit { self.handler.value.inFlightCount }.get()) ?? 0
    }

    /// Closes the connection; in-flight requests fail with ``CQLConnectionError/closed``.
    public func close() async {
        try? await self.channel.close()
    }
}

/// Double-quotes a CQL identifier.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
