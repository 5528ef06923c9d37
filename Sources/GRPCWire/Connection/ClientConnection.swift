import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL

/// One HTTP/2 connection of a client, over which calls open streams.
final class ClientConnection: Sendable {
    typealias StreamChannel = NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>

    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    let state: ClientConnectionState

    init(channel: any Channel, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>, state: ClientConnectionState) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.state = state
    }

    /// Whether new calls may use this connection.
    var isUsable: Bool {
        channel.isActive && !state.draining.load(ordering: .relaxed) && !state.closed.load(ordering: .relaxed)
    }

    /// Opens a new HTTP/2 stream.
    func openStream() async throws -> StreamChannel {
        try await multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture {
                try StreamChannel(wrappingChannelSynchronously: channel)
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

    /// Connects and configures an HTTP/2 client pipeline.
    static func connect(
        host: String, port: Int, tls: NIOSSLContext?, serverName: String?,
        connectTimeout: Duration, keepalive: ClientConnectionHandler.Keepalive?,
        eventLoopGroup: any EventLoopGroup
    ) async throws -> ClientConnection {
        let state = ClientConnectionState()
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000
                + Int64(connectTimeout.components.attoseconds / 1_000_000_000)))
        let (channel, multiplexer) = try await bootstrap.connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                if let tls {
                    try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                }
                let multiplexer = try sync.configureAsyncHTTP2Pipeline(
                    mode: .client, configuration: http2Configuration()
                ) { stream in
                    stream.eventLoop.makeSucceededVoidFuture()
                }
                try sync.addHandler(ClientConnectionHandler(keepalive: keepalive, state: state))
                return (channel, multiplexer)
            }
        }
        return ClientConnection(channel: channel, multiplexer: multiplexer, state: state)
    }

    func close() async {
        try? await channel.close()
    }
}
