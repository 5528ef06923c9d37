import NIOHPACK
import Atomics
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Tracing
import WireCore

/// A gRPC server over HTTP/2: plaintext (h2c prior knowledge) or TLS with ALPN `h2`.
///
/// As a ServiceLifecycle `Service`, ``run()`` serves until graceful shutdown, then stops
/// accepting connections, sends GOAWAY on every connection and lets in-flight calls finish.
public final class GRPCServer: Service, Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// The address to bind (loopback by default).
        public var host: String
        /// The port to bind; 0 picks a free port (see ``GRPCServer/listeningPort()``).
        public var port: Int
        /// TLS settings; nil serves plaintext.
        public var tls: ServerTLS?
        /// The largest request message accepted; larger ones fail with RESOURCE_EXHAUSTED.
        public var maxReceiveMessageSize: Int = 4 << 20
        /// The largest response message sent.
        public var maxSendMessageSize: Int = .max
        /// Compression algorithms the server accepts and may use for responses.
        public var compression: [CompressionAlgorithm] = CompressionAlgorithm.supported
        /// Keepalive pings to clients and the ping strike policy (gRFC A8).
        public var keepalive = Keepalive()
        /// Gracefully close a connection idle for this long; nil never.
        public var maxConnectionIdle: Duration?
        /// Gracefully close a connection this old; nil never.
        public var maxConnectionAge: Duration?
        /// During graceful shutdown, force-close connections whose calls take longer than this.
        public var maxGraceTime: Duration? = .seconds(30)
        /// The largest number of concurrent streams per connection.
        public var maxConcurrentStreams: Int = 1000
        /// Asked before every accept and told of every connection opened and closed (a
        /// connection or descriptor budget); nil accepts without limit. See ``ServerConnectionDelegate``.
        public var connectionDelegate: (any ServerConnectionDelegate)?
        /// While ``connectionDelegate`` refuses, how often the listener asks it again (it also asks
        /// whenever one of its connections closes).
        public var connectionRecheckInterval: Duration = .milliseconds(100)

        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int, tls: ServerTLS? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
        }
    }

    /// Server keepalive and ping strike policy (gRFC A8).
    public struct Keepalive: Sendable {
        /// Ping clients after this long without reads; nil disables server pings.
        public var interval: Duration? = .seconds(7200)
        /// Time for the client to acknowledge a ping before the connection is closed.
        public var timeout: Duration = .seconds(20)
        /// The minimum interval between client pings (`permitKeepaliveTime`).
        public var minimumReceivedPingInterval: Duration = .seconds(300)
        /// Whether clients may ping while no call is active.
        public var permitWithoutCalls: Bool = false
        /// Bad pings tolerated before GOAWAY `too_many_pings`.
        public var maxPingStrikes: Int = 2

        /// Default settings (gRPC core defaults).
        public init() {}
    }

    /// Server TLS: a PEM certificate chain and private key; ALPN `h2`; optionally mutual TLS.
    public struct ServerTLS: Sendable {
        /// The certificate chain file (PEM).
        public var certificateChainFile: String
        /// The private key file (PEM).
        public var privateKeyFile: String
        /// CA certificates (PEM file) that client certificates must chain to. When set, every
        /// client must present a certificate that verifies against them (mutual TLS), or the
        /// handshake fails; handlers see it as ``ServerContext/peerCertificate``.
        public var clientCertificateTrustRootsFile: String?

        /// Creates TLS settings; pass `clientCertificateTrustRootsFile` to require client certificates.
        public init(certificateChainFile: String, privateKeyFile: String, clientCertificateTrustRootsFile: String? = nil) {
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
            self.clientCertificateTrustRootsFile = clientCertificateTrustRootsFile
        }

        func makeContext() throws -> NIOSSLContext {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.applicationProtocols = ["h2"]
            if let clientCertificateTrustRootsFile {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCertificateTrustRootsFile))
                // Required and verified against the roots; client certificates name no host to check.
                tls.certificateVerification = .noHostnameVerification
            }
            return try NIOSSLContext(configuration: tls)
        }
    }

    /// An accepted connection. It has no task of its own: its HTTP/2 handler starts a call task
    /// per inbound stream, from the event loop (an idle connection costs no task stack).
    struct Accepted: Sendable {
        let channel: any Channel
        let activity: ServerConnectionActivity
        /// Batches the response writes of all the connection's calls into one event-loop task and one flush.
        let batcher: ConnectionWriteBatcher
        /// The client's address, for ``ServerContext/peer``.
        let peer: String
        /// The tracer in effect where ``GRPCServer/run()`` was called (bootstrapped or bound with
        /// `withTracer`); call tasks start on the event loop, outside that task, so they bind it again.
        let tracer: (any Tracer)?
    }
    /// An inbound HTTP/2 stream: its channel and the ``StreamInbox`` its frames arrive in.
    /// Outbound frames go straight to the stream channel through a ``StreamFrameWriter``.
    struct InboundStream: Sendable {
        let streamID: Int
        let channel: any Channel
        let inbox: StreamInbox
    }

    /// The configuration.
    public let configuration: Configuration
    private let router: ServiceRouter
    private let routeLoggers: [String: Logger]
    private let interceptors: [any ServerInterceptor]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let bound: EventLoopPromise<SocketAddress>
    private let listener = Mutex<(any Channel)?>(nil)
    private let connections = Mutex<[ObjectIdentifier: Accepted]>([:])
    /// Open connections plus running call tasks: ``run()`` returns once it drops to zero.
    private let work = CallTasks()
    private let shuttingDown = ManagedAtomic(false)
    /// Set once ``run()`` is cancelled: a connection registered after that is closed at once.
    private let cancelled = ManagedAtomic(false)

    /// Creates a server for `services`.
    public init(
        configuration: Configuration,
        services: [any GRPCService],
        interceptors: [any ServerInterceptor] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        var router = ServiceRouter()
        for service in services { service.register(with: &router) }
        self.router = router
        // One logger per method, made once: a call copies it instead of building its metadata.
        var routeLoggers: [String: Logger] = [:]
        for (path, route) in router.routes {
            var routeLogger = logger
            routeLogger[metadataKey: "grpc.method"] = "\(route.service)/\(route.method)"
            routeLoggers[path] = routeLogger
        }
        self.routeLoggers = routeLoggers
        self.interceptors = interceptors
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.bound = eventLoopGroup.next().makePromise(of: SocketAddress.self)
    }

    private let boundCompleted = ManagedAtomic(false)

    deinit {
        if !boundCompleted.exchange(true, ordering: .relaxed) {
            bound.fail(RPCError(code: .unavailable, message: "the server was released before it bound"))
        }
    }

    /// The bound port, once ``run()`` is listening.
    public func listeningPort() async throws -> Int {
        try await bound.futureResult.get().port ?? configuration.port
    }

    /// Starts a graceful shutdown: stop accepting, GOAWAY on every connection, let calls finish.
    public func beginGracefulShutdown() {
        if shuttingDown.exchange(true, ordering: .sequentiallyConsistent) { return }
        listener.withLock { $0 }?.close(promise: nil)
        for connection in connections.withLock({ Array($0.values) }) {
            drain(connection)
        }
    }

    /// Drains one connection the way RFC 9113 section 6.8 recommends, through NIO's connection
    /// management handler: GOAWAY with the maximum stream ID and a PING; once the client acknowledges
    /// the PING (so it has seen the GOAWAY and opens no more streams here) a second GOAWAY names the
    /// last stream accepted. Open calls then finish and the connection closes when the last stream
    /// closes. (NIO answers a stream opened after the first GOAWAY with REFUSED_STREAM, which
    /// tells the client the call was not processed; GRPCClient retries such calls on a new
    /// connection, and itself opens no stream once it has read a GOAWAY.)
    /// ``Configuration/maxGraceTime`` bounds the whole drain, also for a client that never
    /// acknowledges the PING.
    private func drain(_ connection: Accepted) {
        if connection.activity.draining.exchange(true, ordering: .relaxed) { return }
        let channel = connection.channel
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        if let graceTime = configuration.maxGraceTime {
            channel.eventLoop.scheduleTask(in: graceTime.timeAmount) { channel.close(promise: nil) }
        }
    }

    /// Binds and serves until graceful shutdown or cancellation.
    public func run() async throws {
        let tls = try configuration.tls?.makeContext()
        let configuration = self.configuration
        var http2Configuration = NIOHTTP2Handler.Configuration()
        http2Configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 16),
        ]
        http2Configuration.stream.targetWindowSize = 1 << 20
        http2Configuration.stream.outboundBufferSizeHighWatermark = 1 << 20
        http2Configuration.stream.outboundBufferSizeLowWatermark = 1 << 19
        let http2 = http2Configuration
        let management = NIOHTTP2ServerConnectionManagementHandler.Configuration(
            maxIdleTime: configuration.maxConnectionIdle?.timeAmount,
            maxAge: configuration.maxConnectionAge?.timeAmount,
            maxGraceTime: configuration.maxGraceTime?.timeAmount,
            keepalive: configuration.keepalive.interval.map {
                .init(pingInterval: $0.timeAmount, ackTimeout: configuration.keepalive.timeout.timeAmount)
            })
        let strikePolicy = PingStrikeHandler.Policy(
            minimumReceivedPingInterval: configuration.keepalive.minimumReceivedPingInterval.timeAmount,
            permitWithoutCalls: configuration.keepalive.permitWithoutCalls,
            maxPingStrikes: configuration.keepalive.maxPingStrikes)

        let tracer = WireTracing.activeTracer
        var bootstrap = ServerBootstrap(group: eventLoopGroup)
        if let delegate = configuration.connectionDelegate {
            let recheckInterval = configuration.connectionRecheckInterval.timeAmount
            bootstrap = bootstrap
                // One accept per read, so the delegate is asked before each connection.
                .serverChannelOption(.maxMessagesPerRead, value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            AcceptGateHandler(delegate: delegate, recheckInterval: recheckInterval))
                    }
                }
        }
        let serverChannel: any Channel
        do {
            serverChannel = try await bootstrap
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                // Start with small receive buffers (a call's first read is a few hundred bytes); the
                // adaptive allocator grows them for connections that read more. An idle connection
                // keeps its last buffer, so this is memory per idle client.
                .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536))
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.configureConnection(
                            channel, tls: tls, http2: http2, management: management, strikePolicy: strikePolicy,
                            tracer: tracer)
                    }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            if !boundCompleted.exchange(true, ordering: .relaxed) { bound.fail(error) }
            throw error
        }
        if !boundCompleted.exchange(true, ordering: .relaxed) {
            if let address = serverChannel.localAddress {
                bound.succeed(address)
            } else {
                bound.fail(RPCError(code: .unavailable, message: "the server has no local address"))
            }
        }
        listener.withLock { $0 = serverChannel }
        logger.info("gRPC server listening", metadata: ["address": "\(serverChannel.localAddress.map { "\($0)" } ?? "?")"])
        if shuttingDown.load(ordering: .relaxed) { serverChannel.close(promise: nil) }

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                // The listener closes on graceful shutdown or cancellation; then every connection
                // drains (or is closed) and every call task ends.
                try? await serverChannel.closeFuture.get()
                await self.work.waitForAll()
            } onCancel: {
                self.closeAll()
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    /// Sets up an accepted connection's pipeline (on its event loop): TLS, flush coalescing, HTTP/2
    /// with connection management (idle, age, keepalive, graceful GOAWAY), the ping strike policy.
    /// Each inbound stream gets a ``StreamInbox`` and a call task, started right here.
    private func configureConnection(
        _ channel: any Channel, tls: NIOSSLContext?, http2: NIOHTTP2Handler.Configuration,
        management: NIOHTTP2ServerConnectionManagementHandler.Configuration, strikePolicy: PingStrikeHandler.Policy,
        tracer: (any Tracer)?
    ) throws {
        let sync = channel.pipeline.syncOperations
        if let tls {
            try sync.addHandler(NIOSSLServerHandler(context: tls))
        }
        let activity = ServerConnectionActivity()
        let coalescer = FlushCoalescingHandler()
        try sync.addHandler(coalescer)
        let accepted = Accepted(
            channel: channel, activity: activity,
            batcher: ConnectionWriteBatcher(eventLoop: channel.eventLoop, coalescer: coalescer),
            peer: channel.remoteAddress.map { "\($0)" } ?? "unknown", tracer: tracer)
        let manager = NIOHTTP2ServerConnectionManagementHandler(eventLoop: channel.eventLoop, configuration: management)
        let handler = NIOHTTP2Handler(
            mode: .server, eventLoop: channel.eventLoop, connectionConfiguration: http2.connection,
            streamConfiguration: http2.stream, streamDelegate: manager.http2StreamDelegate
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try self.startCall(on: stream, connection: accepted)
            }
        }
        try sync.addHandler(handler)
        try sync.addHandler(manager)
        try sync.addHandler(PingStrikeHandler(policy: strikePolicy, activity: activity))
        // Registered here, before any stream, so a shutdown or cancellation always reaches it.
        register(accepted)
    }

    /// Runs on the stream's event loop when the client opens a stream: counts it (so a drain never
    /// misses a call whose task has not started yet; serveStream decrements), gives it an inbox
    /// and starts its call task, cancelled when the stream closes.
    private func startCall(on stream: any Channel, connection: Accepted) throws {
        let activity = connection.activity
        let id = (try? stream.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)).map { Int($0) } ?? 0
        activity.activeStreams.wrappingAdd(1, ordering: .relaxed)
        if id > activity.lastStreamID.load(ordering: .relaxed) {
            activity.lastStreamID.store(id, ordering: .relaxed)
        }
        let inbox = StreamInbox(eventLoop: stream.eventLoop)
        try stream.pipeline.syncOperations.addHandler(StreamInboxHandler(inbox: inbox))
        let inbound = InboundStream(streamID: id, channel: stream, inbox: inbox)
        work.started()
        let task = Task {
            if let tracer = connection.tracer {
                await withTracer(tracer) { await self.serveStream(inbound, connection: connection) }
            } else {
                await self.serveStream(inbound, connection: connection)
            }
            self.work.ended()
        }
        stream.closeFuture.whenComplete { _ in task.cancel() }
    }

    private func closeAll() {
        cancelled.store(true, ordering: .sequentiallyConsistent)
        listener.withLock { $0 }?.close(promise: nil)
        for connection in connections.withLock({ Array($0.values) }) { connection.channel.close(promise: nil) }
    }

    /// Tracks an accepted connection until it closes. One accepted while shutting down has no
    /// calls yet and is closed at once.
    private func register(_ accepted: Accepted) {
        let key = ObjectIdentifier(accepted.channel)
        work.started()
        connections.withLock { $0[key] = accepted }
        let channel = accepted.channel
        channel.closeFuture.whenComplete { _ in
            self.connections.withLock { _ = $0.removeValue(forKey: key) }
            self.work.ended()
        }
        // A connection accepted just before the listener closed may register after closeAll() or
        // drain() took their snapshot of the connections: it would never be closed, and run()
        // waits for every connection.
        if shuttingDown.load(ordering: .sequentiallyConsistent) || cancelled.load(ordering: .sequentiallyConsistent) {
            channel.eventLoop.execute { channel.close(promise: nil) }
        }
    }

    private func serveStream(_ stream: InboundStream, connection: Accepted) async {
        let activity = connection.activity
        defer { activity.activeStreams.wrappingSubtract(1, ordering: .relaxed) }
        let channel = stream.channel
        // A call that ended normally has closed its stream (END_STREAM both ways); one that did not
        // is reset. Nothing waits for the close.
        defer { if channel.isActive { channel.close(promise: nil) } }
        do {
            try await serveCall(stream, channel: channel, connection: connection)
        } catch {
            logger.trace("gRPC stream ended with an error", metadata: ["error": "\(error)"])
        }
    }

    private func serveCall(_ stream: InboundStream, channel: any Channel, connection: Accepted) async throws {
        let activity = connection.activity
        guard case .headers(let headers)? = try await stream.inbox.next() else { return }
        let head: RequestHead
        do throws(RequestHead.Rejection) {
            head = try RequestHead.decode(headers.headers)
        } catch {
            try await reject(error, channel: channel)
            return
        }
        guard let route = router.routes[head.path] else {
            let error = RPCError(code: .unimplemented, message: "method \(head.path) is not implemented")
            try await channel.writeAndFlush(
                HTTP2Frame.FramePayload.headers(.init(headers: ResponseTrailers(error: error).encode(trailersOnly: true), endStream: true)))
            return
        }
        let responseEncoding = head.acceptedEncodings.first { configuration.compression.contains($0) && head.encoding == $0 }
            ?? .identity
        let callLogger = routeLoggers[head.path] ?? logger
        // With mutual TLS the handshake is complete once a stream arrived.
        let peerCertificate = configuration.tls?.clientCertificateTrustRootsFile == nil
            ? nil : try? await connection.channel.nioSSL_peerCertificate().get()
        let context = ServerContext(
            service: route.service, method: route.method, requestMetadata: head.metadata,
            deadline: head.timeout.map { .after($0) }, peer: connection.peer, peerCertificate: peerCertificate,
            logger: callLogger)
        let call = ServerCallStream(
            channel: channel, context: context, inbox: stream.inbox,
            requestEncoding: head.encoding, responseEncoding: responseEncoding,
            acceptedEncodings: configuration.compression,
            maxReceiveMessageSize: configuration.maxReceiveMessageSize,
            maxSendMessageSize: configuration.maxSendMessageSize, activity: activity,
            batcher: connection.batcher)
        if headers.endStream {
            call.markRequestEnded()
        }
        let timer = head.timeout.map { timeout in
            channel.eventLoop.scheduleTask(in: timeout.timeAmount) { call.expire() }
        }
        defer { timer?.cancel() }
        do {
            if interceptors.isEmpty {
                try await route.handle(call)
            } else {
                try await intercept(context: context, index: 0) { try await route.handle(call) }
            }
        } catch let error as RPCError {
            await call.finish(with: error)
        } catch is CancellationError {
            await call.finish(with: RPCError(code: .cancelled, message: "the call was cancelled"))
        } catch {
            await call.finish(with: RPCError(code: .unknown, message: "\(error)"))
        }
    }

    private func intercept(context: ServerContext, index: Int, last: () async throws -> Void) async throws {
        if index == interceptors.count {
            try await last()
            return
        }
        try await interceptors[index].intercept(context: context) {
            try await self.intercept(context: context, index: index + 1, last: last)
        }
    }

    private func reject(_ rejection: RequestHead.Rejection, channel: any Channel) async throws {
        switch rejection {
        case .http(let status, _):
            var headers = HPACKHeaders()
            headers.add(name: ":status", value: String(status))
            try await channel.writeAndFlush(HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: true)))
        case .grpc(let error):
            try await channel.writeAndFlush(
                HTTP2Frame.FramePayload.headers(.init(headers: ResponseTrailers(error: error).encode(trailersOnly: true), endStream: true)))
        }
    }
}
/// Counts running work (a server's open connections and call tasks), so ``GRPCServer/run()`` can
/// wait for all of it to end.
final class CallTasks: Sendable {
    private struct State {
        var running = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Call before starting a piece of work.
    func started() {
        state.withLock { $0.running += 1 }
    }

    /// Call when a piece of work ends.
    func ended() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.running -= 1
            guard state.running == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Returns once nothing is running (call once: after the listener closed, when no new work can begin
    /// except on work still running).
    func waitForAll() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}
