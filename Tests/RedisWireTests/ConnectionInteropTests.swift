import NIOCore
import NIOPosix
import Synchronization
import Testing
import WireCore
@testable import RedisWire

@Suite("Connection against a real Redis", .serialized)
struct ConnectionInteropTests {
    @Test func helloNegotiatesRESP3AndFallsBackWhenForced() async throws {
        guard let c3 = try await PeerEnvironment.connect() else { return }
        #expect(c3.protocolVersion == .resp3)
        let info = try [String: RESPValue](fromRESP: c3.serverInfo)
        #expect(try info["proto"].map { try Int(fromRESP: $0) } == 3)
        #expect(info["server"]?.string == "redis")
        await c3.close()
        guard let c2 = try await PeerEnvironment.connect(protocolVersion: .resp2) else { return }
        #expect(c2.protocolVersion == .resp2)
        // In RESP2 a map reply (CONFIG GET) is a flat array.
        let reply = try await c2.send("CONFIG", "GET", "port")
        guard case .array = reply else { Issue.record("expected a RESP2 array, got \(reply)"); return }
        await c2.close()
    }

    @Test func aclUserAuthInBothProtocolsAndWrongPasswordFails() async throws {
        guard let url = PeerEnvironment.redisURL else { return }
        for version in [RESPVersion.resp3, .resp2] {
            var config = try RedisConnectionConfiguration(url: url)
            config.username = "swift"
            config.password = "swiftpass"
            config.protocolVersion = version
            config.clientName = "rediswire-acl-\(version.rawValue)"
            let c = try await RedisConnection.connect(configuration: config, logger: PeerEnvironment.logger)
            #expect(try await c.send("ACL", "WHOAMI").string == "swift")
            #expect(try await c.send("CLIENT", "GETNAME").string == "rediswire-acl-\(version.rawValue)")
            await c.close()
            config.password = "wrong"
            await #expect(throws: RedisConnectionError.self) {
                _ = try await RedisConnection.connect(configuration: config, logger: PeerEnvironment.logger)
            }
        }
    }

    @Test func selectIsolatesDatabases() async throws {
        guard let url = PeerEnvironment.redisURL else { return }
        let key = PeerEnvironment.prefix() + "k"
        var config = try RedisConnectionConfiguration(url: url)
        config.database = 5
        let db5 = try await RedisConnection.connect(configuration: config, logger: PeerEnvironment.logger)
        config.database = 0
        let db0 = try await RedisConnection.connect(configuration: config, logger: PeerEnvironment.logger)
        try await db5.set(key, to: "five")
        #expect(try await db5.get(key) == "five")
        #expect(try await db0.get(key) == nil)
        try await db5.delete(key)
        await db5.close()
        await db0.close()
    }

    @Test func everyRESP3TypeFromDebugProtocol() async throws {
        guard let c = try await PeerEnvironment.connect() else { return }
        defer { Task { await c.close() } }
        #expect(try await c.send("DEBUG", "PROTOCOL", "string") == .bulk("Hello World"))
        #expect(try await c.send("DEBUG", "PROTOCOL", "integer") == .integer(12345))
        #expect(try await c.send("DEBUG", "PROTOCOL", "double") == .double(3.141))
        #expect(try await c.send("DEBUG", "PROTOCOL", "bignum") == .bigNumber("1234567999999999999999999999999999999"))
        #expect(try await c.send("DEBUG", "PROTOCOL", "null") == .null)
        #expect(try await c.send("DEBUG", "PROTOCOL", "array") == .array([.integer(0), .integer(1), .integer(2)]))
        #expect(try await c.send("DEBUG", "PROTOCOL", "set") == .set([.integer(0), .integer(1), .integer(2)]))
        #expect(try await c.send("DEBUG", "PROTOCOL", "map") == .map([
            RESPMapEntry(key: .integer(0), value: .boolean(false)),
            RESPMapEntry(key: .integer(1), value: .boolean(true)),
            RESPMapEntry(key: .integer(2), value: .boolean(false)),
        ]))
        #expect(try await c.send("DEBUG", "PROTOCOL", "true") == .boolean(true))
        #expect(try await c.send("DEBUG", "PROTOCOL", "false") == .boolean(false))
        #expect(try await c.send("DEBUG", "PROTOCOL", "verbatim") == .verbatimString(format: "txt", text: "This is a verbatim\nstring"))
        let attrib = try await c.send("DEBUG", "PROTOCOL", "attrib")
        guard case .attributed(let attrs, let value) = attrib else { Issue.record("expected attribute, got \(attrib)"); return }
        #expect(attrs.first?.key == .bulk("key-popularity"))
        #expect(value == .bulk("Some real reply following the attribute"))
        // `push` sends a push and then replies with a normal value.
        #expect(try await c.send("DEBUG", "PROTOCOL", "push") == .bulk("Some real reply following the push reply"))
    }

    @Test func resp2ReplyShapesFromDebugProtocol() async throws {
        guard let c = try await PeerEnvironment.connect(protocolVersion: .resp2) else { return }
        defer { Task { await c.close() } }
        #expect(try await c.send("DEBUG", "PROTOCOL", "double") == .bulk("3.141"))
        #expect(try await c.send("DEBUG", "PROTOCOL", "null") == .null)
        #expect(try await c.send("DEBUG", "PROTOCOL", "true") == .integer(1))
        #expect(try await c.send("DEBUG", "PROTOCOL", "map") == .array([.integer(0), .integer(0), .integer(1), .integer(1), .integer(2), .integer(0)]))
    }

    @Test func concurrentCommandsArePipelinedOnOneConnection() async throws {
        guard let c = try await PeerEnvironment.connect() else { return }
        let prefix = PeerEnvironment.prefix()
        let writesBefore = try await c.flushCount()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<500 {
                group.addTask {
                    try await c.set(prefix + "\(i)", to: i)
                    #expect(try await c.get(prefix + "\(i)") == "\(i)")
                }
            }
            try await group.waitForAll()
        }
        let writes = try await c.flushCount() - writesBefore
        // 1000 commands left in far fewer writes than commands.
        #expect(writes < 1000, "flushes: \(writes)")
        _ = try await c.delete((0..<500).map { prefix + "\($0)" })
        await c.close()
    }

    @Test func connectionLossFailsInFlightCommands() async throws {
        guard let c = try await PeerEnvironment.connect(clientName: "rediswire-victim"),
              let admin = try await PeerEnvironment.connect() else { return }
        let id = try await c.send(RedisCommand("CLIENT", "ID"), as: Int.self)
        let key = PeerEnvironment.prefix() + "never"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    _ = try await c.send(RedisCommand("BLPOP", .string(key), "10"))
                    Issue.record("BLPOP should fail when the connection is killed")
                } catch let error as RedisConnectionError {
                    guard case .connectionClosed = error else { Issue.record("wrong error \(error)"); return }
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await admin.send("CLIENT", "KILL", "ID", .integer(Int64(id))) == .integer(1))
            try await group.waitForAll()
        }
        #expect(!c.isUsable)
        await #expect(throws: RedisConnectionError.self) { _ = try await c.send("PING") }
        #expect(try await admin.ping() == "PONG")
        await admin.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func timedOutCommandClosesTheConnectionSoLaterRepliesAreNotMisattributed() async throws {
        guard let c = try await PeerEnvironment.connect() else { return }
        let key = PeerEnvironment.prefix() + "never"
        var blpop = RedisCommand("BLPOP", [.string(key), "1"], keyIndices: [0])
        blpop.timeout = .milliseconds(200)
        // GET is pipelined behind the BLPOP on the same connection. When BLPOP times out the
        // connection closes: the GET fails too instead of receiving BLPOP's late nil reply.
        async let blocked: RESPValue = c.send(blpop)
        try await Task.sleep(for: .milliseconds(20))
        async let queued: RESPValue = c.send(RedisCommand("GET", .string(key)))
        do {
            _ = try await blocked
            Issue.record("BLPOP should time out")
        } catch let error as RedisConnectionError {
            guard case .timedOut = error else { Issue.record("wrong error \(error)"); return }
        }
        do {
            let value = try await queued
            Issue.record("the queued GET must not get a reply, got \(value)")
        } catch let error as RedisConnectionError {
            guard case .connectionClosed = error else { Issue.record("wrong error \(error)"); return }
        }
        #expect(await eventually { !c.isUsable })
        // Commands after the close are reported as never sent (safe to retry).
        do {
            _ = try await c.send("PING")
            Issue.record("PING on a closed connection must fail")
        } catch let error as RedisConnectionError {
            guard case .notSent = error else { Issue.record("wrong error \(error)"); return }
            #expect(!error.commandMayHaveRun)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func clientDefaultTimeoutFailsCommandsToAHangingServer() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SilentServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var config = RedisClientConfiguration(connection: .tcp(host: "127.0.0.1", port: server.localAddress!.port!))
        config.commandTimeout = .milliseconds(300)
        try await PeerEnvironment.withClient(config) { client in
            for _ in 0..<2 {   // each attempt on a new connection: the timed-out one was closed
                do {
                    _ = try await client.ping()
                    Issue.record("a hanging server must time out")
                } catch let error as RedisConnectionError {
                    guard case .timedOut(let command, let after) = error else { Issue.record("wrong error \(error)"); return }
                    #expect(command == "PING" && after == .milliseconds(300))
                }
            }
            // A scoped timeout overrides the default.
            do {
                try await RedisCommand.withTimeout(.milliseconds(100)) { _ = try await client.get("k") }
                Issue.record("a hanging server must time out")
            } catch let error as RedisConnectionError {
                guard case .timedOut(_, let after) = error else { Issue.record("wrong error \(error)"); return }
                #expect(after == .milliseconds(100))
            }
        }
        try await server.close()
    }

    @Test func eventLoopAffinityRunsTheCallerOnTheConnectionsLoop() async throws {
        guard let c = try await PeerEnvironment.connect() else { return }
        let prefix = PeerEnvironment.prefix()
        let onLoop = try await c.withEventLoopAffinity {
            var allOnLoop = c.channel.eventLoop.inEventLoop
            for i in 0..<50 {
                try await c.set(prefix + "\(i % 5)", to: i)
                #expect(try await c.get(prefix + "\(i % 5)") == "\(i)")
                allOnLoop = allOnLoop && c.channel.eventLoop.inEventLoop
            }
            return allOnLoop
        }
        #expect(onLoop)
        _ = try await c.delete((0..<5).map { prefix + "\($0)" })
        await c.close()
    }

    @Test func malformedReplyClosesOnlyThatConnection() async throws {
        guard let good = try await PeerEnvironment.connect() else { return }
        // A fake server that answers the first command with an invalid type byte.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(GarbageServerHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = server.localAddress!.port!
        var config = RedisConnectionConfiguration.tcp(host: "127.0.0.1", port: port)
        config.protocolVersion = .resp2
        let bad = try await RedisConnection.connect(configuration: config, logger: PeerEnvironment.logger)
        do {
            _ = try await bad.send("PING")
            Issue.record("garbage must fail the command")
        } catch let error as RedisConnectionError {
            guard case .protocolViolation = error else { Issue.record("wrong error \(error)"); return }
        }
        #expect(await eventually { !bad.isUsable })
        #expect(try await good.ping() == "PONG")
        await good.close()
        try await server.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func connectionLossMidPipelineFailsEveryCommandOfThatPipeline() async throws {
        // A server that answers three commands of whatever arrives and then closes.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PartialThenCloseServerHandler(replies: 3))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        var config = RedisConnectionConfiguration.tcp(host: "127.0.0.1", port: server.localAddress!.port!)
        config.protocolVersion = .resp2
        let c = try await RedisConnection.connect(configuration: config, logger: PeerEnvironment.logger)
        let commands = (0..<16).map { RedisCommand("GET", .string("k\($0)")) }
        do {
            let replies = try await c.pipeline(commands)
            Issue.record("a pipeline cut off after 3 of 16 replies must fail, got \(replies.count) replies")
        } catch let error as RedisConnectionError {
            guard case .connectionClosed(let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(!reason.isEmpty)
            #expect(error.commandMayHaveRun)
        }
        #expect(await eventually { !c.isUsable })
        // A pipeline after the close was never sent.
        do {
            _ = try await c.pipeline(commands)
            Issue.record("a pipeline on a closed connection must fail")
        } catch let error as RedisConnectionError {
            guard case .notSent = error else { Issue.record("wrong error \(error)"); return }
        }
        try await server.close()
    }
}

/// Answers `replies` commands with a bulk string each, then closes the connection.
final class PartialThenCloseServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let replies: Int
    private var done = false
    init(replies: Int) { self.replies = replies }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        done = true
        let bytes = String(repeating: "$1\r\nv\r\n", count: replies)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

/// Answers the first command (`HELLO`) with an error, as a RESP2-only server would, and
/// never answers anything after that: a server that hangs.
final class SilentServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var answered = false
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "-ERR unknown command 'HELLO'\r\n")), promise: nil)
    }
}

/// Replies `?garbage` to anything.
final class GarbageServerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "?garbage\r\n")), promise: nil)
    }
}

extension RedisConnection {
    /// Number of flushes (socket writes) the handler issued (test hook for pipelining).
    func flushCount() async throws -> Int {
        try await channel.eventLoop.submit { [handler] in handler.value.flushCount }.get()
    }
}
