import NIOCore
import NIOPosix
import Testing
@testable import RedisWire

/// The handshake against servers that do not speak RESP3.
///
/// Every Redis the peers scripts start is 7.x and answers `HELLO 3`, so an old server is played
/// here by a loopback listener that answers byte for byte as Redis 5 does (`HELLO` is an unknown
/// command) or as a server without RESP3 support does (`NOPROTO`), and records what the client
/// sent.
@Suite("HELLO fallback against a server without RESP3", .serialized)
struct HandshakeFallbackTests {
    /// Answers commands like an old Redis server and records them.
    final class OldServerHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let helloReply: String
        let received: Locked<[[String]]>
        private var cumulation = ByteBuffer()

        init(helloReply: String, received: Locked<[[String]]>) {
            self.helloReply = helloReply
            self.received = received
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            cumulation.writeBuffer(&incoming)
            while let command = try? RESPDecoder().decode(from: &cumulation) {
                let words = (command.elements ?? []).compactMap(\.string)
                received.withLock { $0.append(words) }
                let reply: String
                switch words.first?.uppercased() {
                case "HELLO": reply = helloReply
                case "AUTH":
                    let accepted = words == ["AUTH", "app", "secret"] || words == ["AUTH", "secret"]   // ACL user, or requirepass
                    reply = accepted ? "+OK\r\n" : "-WRONGPASS invalid username-password pair\r\n"
                case "CLIENT", "SELECT": reply = "+OK\r\n"
                case "GET": reply = "$3\r\nold\r\n"
                default: reply = "-ERR unknown command '\(words.first ?? "")'\r\n"
                }
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
            }
        }
    }

    /// Runs `body` with the port of an old-server listener answering `HELLO` with `helloReply`.
    static func withOldServer(helloReply: String, _ body: (Int, Locked<[[String]]>) async throws -> Void) async throws {
        let received = Locked<[[String]]>([])
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(OldServerHandler(helloReply: helloReply, received: received))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(try #require(server.localAddress?.port), received)
        } catch {
            try? await server.close()
            throw error
        }
        try await server.close()
    }

    @Test(.timeLimit(.minutes(1)), arguments: [
        "-ERR unknown command `HELLO`, with args beginning with: `3`, `AUTH`, \r\n",   // Redis 5
        "-NOPROTO unsupported protocol version\r\n",                                   // no RESP3
    ])
    func fallsBackToRESP2AndStillAuthenticatesNamesAndSelects(helloReply: String) async throws {
        try await Self.withOldServer(helloReply: helloReply) { port, received in
            let configuration = try RedisConnectionConfiguration(url: "redis://app:secret@127.0.0.1:\(port)/3?name=legacy")
            let connection = try await RedisConnection.connect(configuration: configuration, logger: PeerEnvironment.logger)
            #expect(connection.protocolVersion == .resp2)
            #expect(connection.serverInfo == .null)
            #expect(try await connection.send(RedisCommand("GET", ["k"])).string == "old")
            await connection.close()
            #expect(received.value == [
                ["HELLO", "3", "AUTH", "app", "secret", "SETNAME", "legacy"],
                ["AUTH", "app", "secret"],
                ["CLIENT", "SETNAME", "legacy"],
                ["SELECT", "3"],
                ["GET", "k"],
            ])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func passwordOnlyAuthAfterTheFallback() async throws {
        try await Self.withOldServer(helloReply: "-NOPROTO unsupported protocol version\r\n") { port, received in
            let configuration = try RedisConnectionConfiguration(url: "redis://secret@127.0.0.1:\(port)")
            let connection = try await RedisConnection.connect(configuration: configuration, logger: PeerEnvironment.logger)
            #expect(connection.protocolVersion == .resp2)
            await connection.close()
            #expect(received.value == [["HELLO", "3", "AUTH", "default", "secret"], ["AUTH", "secret"]])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func otherHelloErrorsFailTheHandshake() async throws {
        try await Self.withOldServer(helloReply: "-WRONGPASS invalid username-password pair or user is disabled.\r\n") { port, _ in
            let configuration = try RedisConnectionConfiguration(url: "redis://app:wrong@127.0.0.1:\(port)")
            await #expect {
                _ = try await RedisConnection.connect(configuration: configuration, logger: PeerEnvironment.logger)
            } throws: { error in
                guard case RedisConnectionError.handshakeFailed(let message) = error else { return false }
                return message.contains("WRONGPASS")
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func wrongPasswordOnTheRESP2PathFailsTheHandshake() async throws {
        try await Self.withOldServer(helloReply: "-NOPROTO unsupported protocol version\r\n") { port, received in
            let configuration = try RedisConnectionConfiguration(url: "redis://app:wrong@127.0.0.1:\(port)")
            await #expect {
                _ = try await RedisConnection.connect(configuration: configuration, logger: PeerEnvironment.logger)
            } throws: { error in
                guard case RedisConnectionError.handshakeFailed(let message) = error else { return false }
                return message.hasPrefix("AUTH") && message.contains("WRONGPASS")
            }
            #expect(received.value.map { $0.first ?? "" } == ["HELLO", "AUTH"])
        }
    }
}
