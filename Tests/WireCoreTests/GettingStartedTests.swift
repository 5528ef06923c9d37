import Logging
import NIOCore
import Testing
import WireCore

// The code of Sources/WireCore/WireCore.docc/GettingStarted.md, compiled and run against a local
// echo server. Keep the two in sync.

// MARK: - From GettingStarted.md

/// A pooled connection: one channel plus the stream of bytes the server sends back.
final class EchoConnection: PooledConnection {
    let channel: any Channel
    private let inbound: AsyncStream<ByteBuffer>

    private init(channel: any Channel, inbound: AsyncStream<ByteBuffer>) {
        self.channel = channel
        self.inbound = inbound
    }

    var isUsable: Bool { channel.isActive }

    func close() async { try? await channel.close() }

    /// Opens a connection with WireCore's connector (TCP or Unix socket, optional TLS).
    static func connect(_ configuration: ConnectionConfiguration) async throws -> EchoConnection {
        let (inbound, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await WireConnector.connect(configuration) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(InboundStreamHandler(continuation))
            }
        }
        return EchoConnection(channel: channel, inbound: inbound)
    }

    /// Sends `text` and reads back as many bytes.
    func echo(_ text: String) async throws -> String {
        try await channel.writeAndFlush(ByteBuffer(string: text))
        var reply = ByteBuffer()
        for await var chunk in inbound {
            reply.writeBuffer(&chunk)
            if reply.readableBytes >= text.utf8.count { break }
        }
        return String(buffer: reply)
    }
}

/// Feeds what the channel reads into an `AsyncStream`.
final class InboundStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let continuation: AsyncStream<ByteBuffer>.Continuation

    init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}

func gettingStarted(port: Int) async throws -> [String] {
    let connection = ConnectionConfiguration(
        endpoint: .tcp(host: "127.0.0.1", port: port),
        connectTimeout: .seconds(2),
        tls: nil  // or TLSSettings(trustRoots: .file("ca.pem")) for TLS
    )
    let pool = ConnectionPool(
        configuration: ConnectionPoolConfiguration(maxConnections: 4, idleTimeout: .seconds(30)),
        logger: Logger(label: "getting-started"),
        factory: { try await EchoConnection.connect(connection) }
    )
    return try await withThrowingTaskGroup(of: [String].self) { group in
        group.addTask {
            await pool.run()  // maintenance until shutdown
            return []
        }
        // Ten concurrent requests share at most four connections.
        var replies: [String] = []
        for index in 0..<10 {
            group.addTask {
                let reply = try await pool.withConnection { try await $0.echo("hello \(index)") }
                return [reply]
            }
        }
        for _ in 0..<10 { replies += try await group.next() ?? [] }
        await pool.shutdown()  // waits for leases, closes the connections; run() returns
        try await group.waitForAll()
        return replies.sorted()
    }
}

// MARK: - The test

@Suite struct GettingStartedTests {
    @Test func gettingStartedRunsAgainstALocalEchoServer() async throws {
        let server = try await EchoServer.start()
        defer { Task { await server.stop() } }
        let replies = try await gettingStarted(port: server.port)
        #expect(replies == (0..<10).map { "hello \($0)" }.sorted())
    }
}
