import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization
import WireCore

/// One HTTP/2 connection of a client, over which calls open streams.
final class ClientConnection: Sendable {
    /// A new stream: its channel (frames out go to it through a ``StreamFrameWriter``) and the
    /// inbox its frames arrive in.
    struct OpenedStream: Sendable {
        let channel: any Channel
        let inbox: StreamInbox
    }

    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    let state: ClientConnectionState
    /// Batches the writes of all the connection's streams into one event-loop task and one flush.
    let batcher: ConnectionWriteBatcher

    init(
        channel: any Channel, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>, state: ClientConnectionState,
        batcher: ConnectionWriteBatcher
    ) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.state = state
        self.batcher = batcher
    }

    /// Whether new calls may use this connection.
    var isUsable: Bool {
        channel.isActive && !state.draining.load(ordering: .relaxed) && !state.closed.load(ordering: .relaxed)
    }

    /// Opens a new HTTP/2 stream.
    func openStream() async throws -> OpenedStream {
        try await multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture {
                let inbox = StreamInbox(eventLoop: channel.eventLoop)
                try channel.pipeline.syncOperations.addHandler(StreamInboxHandler(inbox: inbox))
                return OpenedStream(channel: channel, inbox: inbox)
            }
        }
    }

    static func http2Configuration() -> NIOHTTP2Handler.Configuration {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 1000),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 16),
        ]
        configuration.stream.targetWindowSize = 1 << 20
        configuration.stream.outboundBufferSizeHighWatermark = 1 << 20
        configuration.stream.outboundBufferSizeLowWatermark = 1 << 19
        return configuration
    }

    /// Connects through WireCore's connector (TCP, TLS with ALPN `h2`) and configures an
    /// HTTP/2 client pipeline.
    static func connect(
        host: String, port: Int, tls: TLSSettings?,
        connectTimeout: Duration, keepalive: ClientConnectionHandler.Keepalive?,
        eventLoopGroup: any EventLoopGroup
    ) async throws -> ClientConnection {
        let state = ClientConnectionState()
        var tls = tls
        if tls != nil { tls!.applicationProtocols = ["h2"] }
        let configuration = ConnectionConfiguration(
            endpoint: .tcp(host: host, port: port), connectTimeout: connectTimeout, tcpNoDelay: true, tls: tls)
        let multiplexerBox = MultiplexerBox()
        let channel = try await WireConnector.connect(configuration, eventLoopGroup: eventLoopGroup) { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                let coalescer = FlushCoalescingHandler()
                try sync.addHandler(coalescer)
                let multiplexer = try sync.configureAsyncHTTP2Pipeline(
                    mode: .client, configuration: http2Configuration()
                ) { stream in
                    stream.eventLoop.makeSucceededVoidFuture()
                }
                try sync.addHandler(ClientConnectionHandler(keepalive: keepalive, state: state))
                let batcher = ConnectionWriteBatcher(eventLoop: channel.eventLoop, coalescer: coalescer)
                multiplexerBox.value.withLock { $0 = (multiplexer, batcher) }
            }
        }
        if tls != nil {
            let negotiated = try await WireConnector.negotiatedApplicationProtocol(on: channel)
            guard negotiated == "h2" else {
                try? await channel.close()
                throw RPCError(
                    code: .unavailable,
                    message: "the server did not negotiate ALPN h2 (got \(negotiated ?? "none"))")
            }
        }
        guard let (multiplexer, batcher) = multiplexerBox.value.withLock({ $0 }) else {
            try? await channel.close()
            throw RPCError(code: .internal, message: "the HTTP/2 pipeline was not configured")
        }
        return ClientConnection(channel: channel, multiplexer: multiplexer, state: state, batcher: batcher)
    }

    func close() async {
        try? await channel.close()
    }
}

/// Carries the multiplexer and the write batcher out of the channel initializer.
private final class MultiplexerBox: Sendable {
    let value = Mutex<(NIOHTTP2Handler.AsyncStreamMultiplexer<Void>, ConnectionWriteBatcher)?>(nil)
}
