import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import WireCore

/// A loopback echo server (TCP on 127.0.0.1:0 or a Unix socket), optionally TLS, that records the
/// SNI names its TLS clients sent.
final class EchoServer: Sendable {
    let channel: any Channel
    let endpoint: Endpoint
    private let recorder: SNIRecorder

    private init(channel: any Channel, endpoint: Endpoint, recorder: SNIRecorder) {
        self.channel = channel
        self.endpoint = endpoint
        self.recorder = recorder
    }

    /// Server names the TLS clients sent in SNI (`nil` for none), in handshake order.
    var receivedServerNames: [String?] { recorder.names.withLock { $0 } }

    /// Starts an echo server. `tls` turns on TLS with that server configuration.
    static func start(unixSocketPath: String? = nil, tls: TLSConfiguration? = nil) async throws -> EchoServer {
        let recorder = SNIRecorder()
        var context: NIOSSLContext?
        if var tls {
            tls.sslContextCallback = { values, promise in
                recorder.names.withLock { $0.append(values.serverHostname) }
                promise.succeed(NIOSSLContextConfigurationOverride())
            }
            context = try NIOSSLContext(configuration: tls)
        }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [context] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    try channel.pipeline.syncOperations.addHandler(EchoHandler())
                }
            }
        let channel: any Channel
        let endpoint: Endpoint
        if let unixSocketPath {
            channel = try await bootstrap.bind(unixDomainSocketPath: unixSocketPath, cleanupExistingSocketFile: true).get()
            endpoint = .unixSocket(path: unixSocketPath)
        } else {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
            endpoint = .tcp(host: "127.0.0.1", port: channel.localAddress!.port!)
        }
        return EchoServer(channel: channel, endpoint: endpoint, recorder: recorder)
    }

    var port: Int {
        if case .tcp(_, let port) = endpoint { return port }
        return 0
    }

    func stop() async {
        try? await channel.close()
    }
}

final class SNIRecorder: Sendable {
    let names = Mutex<[String?]>([])
}

/// Writes back everything it reads.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Client-side handler: collects bytes until `expected` arrived.
final class CollectHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let expected: Int
    private let promise: EventLoopPromise<ByteBuffer>
    private var collected = ByteBuffer()

    init(expected: Int, promise: EventLoopPromise<ByteBuffer>) {
        self.expected = expected
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        collected.writeBuffer(&buffer)
        if collected.readableBytes >= expected { promise.succeed(collected) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

/// Connects with `configuration`, sends `text` and returns what came back.
func echoRoundTrip(_ configuration: ConnectionConfiguration, text: String) async throws -> String {
    let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: ByteBuffer.self)
    let expected = text.utf8.count
    let channel = try await WireConnector.connect(configuration) { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(CollectHandler(expected: expected, promise: promise))
        }
    }
    defer { channel.close(promise: nil) }
    try await channel.writeAndFlush(ByteBuffer(string: text))
    let reply = try await promise.futureResult.get()
    return String(buffer: reply)
}
