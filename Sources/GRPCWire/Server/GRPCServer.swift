import NIOHPACK
import Atomics
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

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

    /// Server TLS: a PEM certificate chain and private key; ALPN `h2`.
    public struct ServerTLS: Sendable {
        /// The certificate chain file (PEM).
        public var certificateChainFile: String
        /// The private key file (PEM).
        public var privateKeyFile: String

        /// Creates TLS settings.
        public init(certificateChainFile: String, privateKeyFile: String) {
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
        }

        func makeContext() throws -> NIOSSLContext {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateChainFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.applicationProtocols = ["h2"]
            return try NIOSSLContext(configuration: tls)
        }
    }

    typealias StreamChannel = NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>
    struct Accepted: Sendable {
        let channel: any Channel
        let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<InboundStream>
        let activity: ServerConnectionActivity
    }
    struct InboundStream: Sendable {
        let streamID: Int
        let channel: StreamChannel
    }

    /// The configuration.
    public let configuration: Configuration
    private let router: ServiceRouter
    private let interceptors: [any ServerInterceptor]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let bound: EventLoopPromise<SocketAddress>
    private let listener = Mutex<(any Channel)?>(nil)
    private let connections = Mutex<[ObjectIdentifier: Accepted]>([:])
    private let shuttingDown = ManagedAtomic(false)

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
        if shuttingDown.exchange(true, ordering: .relaxed) { return }
        listener.withLock { $0 }?.close(promise: nil)
        for connection in connections.withLock({ Array($0.values) }) {
            drain(connection)
        }
    }

    /// Sends GOAWAY (last stream ID = the highest stream accepted), lets open calls finish, then
    /// closes the connection; force-closes it after ``Configuration/maxGraceTime``.
    private func drain(_ connection: Accepted) {
        let activity = connection.activity
        if activity.draining.exchange(true, ordering: .relaxed) { return }
        let channel = connection.channel
        let graceTime = configuration.maxGraceTime
        channel.eventLoop.execute {
            let lastStream = HTTP2StreamID(activity.lastStreamID.load(ordering: .relaxed))
            let goAway = HTTP2Frame(
                streamID: .rootStream, payload: .goAway(lastStreamID: lastStream, errorCode: .noError, opaqueData: nil))
            channel.writeAndFlush(goAway, promise: nil)
            if activity.activeStreams.load(ordering: .relaxed) == 0 {
                channel.close(promise: nil)
            } else if let graceTime {
                channel.eventLoop.scheduleTask(in: graceTime.timeAmount) { channel.close(promise: nil) }
            }
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

        let serverChannel: NIOAsyncChannel<Accepted, Never>
        do {
            serverChannel = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .bind(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        if let tls {
                            try sync.addHandler(NIOSSLServerHandler(context: tls))
                        }
                        let activity = ServerConnectionActivity()
                        let multiplexer = try sync.configureAsyncHTTP2Pipeline(
                            mode: .server, connectionManagerConfiguration: management, http2HandlerConfiguration: http2
                        ) { stream in
                            stream.eventLoop.makeCompletedFuture {
                                let id = (try? stream.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID))
                                    .map { Int($0) } ?? 0
                                // Counted here, on the event loop, so a drain never misses a stream whose task
                                // has not started yet; serveStream decrements.
                                activity.activeStreams.wrappingIncrement(ordering: .relaxed)
                                if id > activity.lastStreamID.load(ordering: .relaxed) {
                                    activity.lastStreamID.store(id, ordering: .relaxed)
                                }
                                return InboundStream(streamID: id, channel: try StreamChannel(wrappingChannelSynchronously: stream))
                            }
                        }
                        try sync.addHandler(PingStrikeHandler(policy: strikePolicy, activity: activity))
                        return Accepted(channel: channel, multiplexer: multiplexer, activity: activity)
                    }
                }
        } catch {
            if !boundCompleted.exchange(true, ordering: .relaxed) { bound.fail(error) }
            throw error
        }
        if !boundCompleted.exchange(true, ordering: .relaxed) {
            if let address = serverChannel.channel.localAddress {
                bound.succeed(address)
            } else {
                bound.fail(RPCError(code: .unavailable, message: "the server has no local address"))
            }
        }
        listener.withLock { $0 = serverChannel.channel }
        logger.info("gRPC server listening", metadata: ["address": "\(serverChannel.channel.localAddress.map { "\($0)" } ?? "?")"])
        if shuttingDown.load(ordering: .relaxed) { serverChannel.channel.close(promise: nil) }

        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await withThrowingDiscardingTaskGroup { group in
                    try await serverChannel.executeThenClose { inbound in
                        for try await accepted in inbound {
                            group.addTask {
                                await self.serveConnection(accepted)
                            }
                        }
                    }
                }
            } onCancel: {
                self.closeAll()
            }
        } onGracefulShutdown: {
            self.beginGracefulShutdown()
        }
    }

    private func closeAll() {
        listener.withLock { $0 }?.close(promise: nil)
        for connection in connections.withLock({ Array($0.values) }) { connection.channel.close(promise: nil) }
    }

    private func serveConnection(_ accepted: Accepted) async {
        let key = ObjectIdentifier(accepted.channel)
        connections.withLock { $0[key] = accepted }
        if shuttingDown.load(ordering: .relaxed) {
            drain(accepted)
        }
        let peer = accepted.channel.remoteAddress.map { "\($0)" } ?? "unknown"
        do {
            for try await stream in accepted.multiplexer.inbound {
                let task = Task {
                    await self.serveStream(stream, peer: peer, connection: accepted)
                }
                stream.channel.channel.closeFuture.whenComplete { _ in task.cancel() }
            }
        } catch {
            logger.debug("gRPC connection ended", metadata: ["error": "\(error)"])
        }
        try? await accepted.channel.closeFuture.get()
        connections.withLock { _ = $0.removeValue(forKey: key) }
    }

    private func serveStream(_ stream: InboundStream, peer: String, connection: Accepted) async {
        let activity = connection.activity
        defer {
            let remaining = activity.activeStreams.wrappingDecrementThenLoad(ordering: .relaxed)
            if remaining == 0 && activity.draining.load(ordering: .relaxed) {
                connection.channel.close(promise: nil)
            }
        }
        let channel = stream.channel.channel
        do {
            try await stream.channel.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                guard case .headers(let headers)? = try await iterator.next() else { return }
                let head: RequestHead
                do throws(RequestHead.Rejection) {
                    head = try RequestHead.decode(headers.headers)
                } catch {
                    try await reject(error, outbound: outbound)
                    return
                }
                guard let route = router.routes[head.path] else {
                    let error = RPCError(code: .unimplemented, message: "method \(head.path) is not implemented")
                    try await outbound.write(.headers(.init(headers: ResponseTrailers(error: error).encode(trailersOnly: true), endStream: true)))
                    return
                }
                if headers.endStream {
                    // No request body at all; the request stream is simply empty.
                }
                let responseEncoding = head.acceptedEncodings.first { configuration.compression.contains($0) && head.encoding == $0 }
                    ?? .identity
                var callLogger = logger
                callLogger[metadataKey: "grpc.method"] = "\(route.service)/\(route.method)"
                let context = ServerContext(
                    service: route.service, method: route.method, requestMetadata: head.metadata,
                    deadline: head.timeout.map { .after($0) }, peer: peer, logger: callLogger)
                let call = ServerCallStream(
                    channel: channel, context: context, inbound: iterator, outbound: outbound,
                    requestEncoding: head.encoding, responseEncoding: responseEncoding,
                    acceptedEncodings: configuration.compression,
                    maxReceiveMessageSize: configuration.maxReceiveMessageSize,
                    maxSendMessageSize: configuration.maxSendMessageSize, activity: activity)
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
        } catch {
            logger.trace("gRPC stream ended with an error", metadata: ["error": "\(error)"])
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

    private func reject(
        _ rejection: RequestHead.Rejection, outbound: NIOAsyncChannelOutboundWriter<HTTP2Frame.FramePayload>
    ) async throws {
        switch rejection {
        case .http(let status, _):
            var headers = HPACKHeaders()
            headers.add(name: ":status", value: String(status))
            try await outbound.write(.headers(.init(headers: headers, endStream: true)))
        case .grpc(let error):
            try await outbound.write(.headers(.init(headers: ResponseTrailers(error: error).encode(trailersOnly: true), endStream: true)))
        }
    }
}
