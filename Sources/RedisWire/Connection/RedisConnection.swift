import Logging
import NIOCore
import NIOPosix
import WireCore

/// What a reply timer needs, carried from the caller to the event loop.
struct RedisReplyTimerSpec: Sendable {
    var command: String
    var timeout: Duration
}

/// One connection to a Redis server.
///
/// Many tasks may send on one connection at the same time: commands are queued in order and
/// written together (automatic pipelining), and each caller gets its own reply. If the
/// connection is lost, every command still waiting fails with
/// ``RedisConnectionError/connectionClosed(reason:)`` (commands sent after it closed fail with
/// ``RedisConnectionError/notSent(reason:)``); a malformed reply closes this
/// connection only.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<RedisChannelHandler>
    /// The RESP version negotiated by the handshake.
    public let protocolVersion: RESPVersion
    /// The server's `HELLO` reply (RESP3) — server name, version, role, modules — or `.null` in RESP2.
    public let serverInfo: RESPValue
    /// Default reply timeout (``RedisConnectionConfiguration/commandTimeout``).
    let commandTimeout: Duration?
    /// Runs tasks on the channel's event loop (see ``withEventLoopAffinity(_:)``).
    let taskExecutor: EventLoopTaskExecutor
    let logger: Logger

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, protocolVersion: RESPVersion,
                 serverInfo: RESPValue, commandTimeout: Duration?, logger: Logger) {
        self.channel = channel
        self.handler = handler
        self.protocolVersion = protocolVersion
        self.serverInfo = serverInfo
        self.commandTimeout = commandTimeout
        self.taskExecutor = EventLoopTaskExecutor(channel.eventLoop)
        self.logger = logger
    }

    /// Connects, negotiates the protocol (`HELLO 3`, falling back to RESP2), authenticates,
    /// names the connection and selects the database.
    /// - Parameters:
    ///   - configuration: where and how to connect.
    ///   - logger: receives connection-level events.
    ///   - eventLoopGroup: the NIO event loops to use.
    ///   - onPush: called on the connection's event loop for every out-of-band push (pub/sub
    ///     messages and confirmations, client-side-cache invalidations).
    public static func connect(
        configuration: RedisConnectionConfiguration,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onPush: @escaping @Sendable (RESPValue) -> Void = { _ in }
    ) async throws -> RedisConnection {
        let limits = configuration.decoderLimits
        let channel: any Channel
        do {
            channel = try await WireConnector.connect(configuration.transport, eventLoopGroup: eventLoopGroup) { channel in
                channel.eventLoop.makeCompletedFuture(withResultOf: {
                    let handler = RedisChannelHandler(limits: limits, logger: logger, pushHandler: onPush)
                    try channel.pipeline.syncOperations.addHandler(handler)
                })
            }
        } catch {
            throw RedisConnectionError.connectFailed("\(configuration.transport.endpoint): \(error)")
        }
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
        }.get()
        let provisional = RedisConnection(channel: channel, handler: handler, protocolVersion: .resp2, serverInfo: .null,
                                          commandTimeout: configuration.commandTimeout ?? configuration.transport.connectTimeout, logger: logger)
        do {
            let (version, info) = try await provisional.handshake(configuration)
            if version == .resp3 {
                try await channel.eventLoop.submit { handler.value.setProtocolVersion(3) }.get()
            }
            return RedisConnection(channel: channel, handler: handler, protocolVersion: version, serverInfo: info,
                                   commandTimeout: configuration.commandTimeout, logger: logger)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private func handshake(_ configuration: RedisConnectionConfiguration) async throws -> (RESPVersion, RESPValue) {
        var version = RESPVersion.resp2
        var info = RESPValue.null
        var authenticated = false
        var named = false
        if configuration.protocolVersion == .resp3 {
            var args: [RedisArgument] = ["3"]
            if let password = configuration.password {
                args += ["AUTH", .string(configuration.username ?? "default"), .string(password)]
            }
            if let name = configuration.clientName { args += ["SETNAME", .string(name)] }
            let reply = try await sendRaw(RedisCommand("HELLO", args))
            if reply.isError {
                let message = errorText(reply)
                if message.hasPrefix("NOPROTO") || message.lowercased().contains("unknown command") {
                    logger.debug("server does not speak RESP3; falling back to RESP2", metadata: ["reply": "\(message)"])
                } else {
                    throw RedisConnectionError.handshakeFailed("HELLO 3: \(message)")
                }
            } else {
                version = .resp3
                info = reply
                authenticated = true
                named = true
            }
        }
        if !authenticated, let password = configuration.password {
            var args: [RedisArgument] = []
            if let user = configuration.username { args.append(.string(user)) }
            args.append(.string(password))
            let reply = try await sendRaw(RedisCommand("AUTH", args))
            if reply.isError { throw RedisConnectionError.handshakeFailed("AUTH: \(errorText(reply))") }
        }
        if !named, let name = configuration.clientName {
            let reply = try await sendRaw(RedisCommand("CLIENT", "SETNAME", .string(name)))
            if reply.isError { throw RedisConnectionError.handshakeFailed("CLIENT SETNAME: \(errorText(reply))") }
        }
        if configuration.database != 0 {
            let reply = try await sendRaw(RedisCommand("SELECT", .integer(Int64(configuration.database))))
            if reply.isError { throw RedisConnectionError.handshakeFailed("SELECT \(configuration.database): \(errorText(reply))") }
        }
        return (version, info)
    }

    /// Whether the connection can still carry commands.
    public var isUsable: Bool { channel.isActive }

    /// Completes when the connection has closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Sends a command and returns its reply; an error reply is thrown as ``RedisServerError``.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await sendRaw(command)
        switch reply {
        case .simpleError(let m), .bulkError(let m): throw RedisServerError(message: m)
        case .attributed(_, let inner): if inner.isError { throw RedisServerError(message: errorText(inner)) }
        default: break
        }
        return reply
    }

    /// Sends a command and returns its reply, error replies included, as a value.
    public func sendRaw(_ command: RedisCommand) async throws -> RESPValue {
        let timer = command.effectiveTimeout(connectionDefault: commandTimeout).map { RedisReplyTimerSpec(command: command.name, timeout: $0) }
        return try await withUnsafeThrowingContinuation { continuation in
            submit(to: .single(continuation), shape: .single, timer: timer, encodedLength: RESPEncoder.encodedLength(command)) {
                RESPEncoder.encode(command, into: &$0)
            }
        }
    }

    /// Sends all commands in one write and returns each reply in order (error replies as
    /// values). Connection failures are thrown.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        // One timer for the whole pipeline when every command has a timeout (the longest);
        // the task-local scope is read once, not per command.
        let scoped = RedisCommand.scopedTimeout
        var longest: Duration?
        for i in commands.indices {
            guard let timeout = commands[i].effectiveTimeout(connectionDefault: commandTimeout, scoped: scoped) else {
                longest = nil
                break
            }
            longest = max(longest ?? timeout, timeout)
        }
        let timer = longest.map { RedisReplyTimerSpec(command: "pipeline of \(commands.count) commands", timeout: $0) }
        return try await withUnsafeThrowingContinuation { continuation in
            submit(to: .batch(continuation, count: commands.count), shape: .single, timer: timer,
                   encodedLength: RESPEncoder.encodedLength(commands)) {
                RESPEncoder.encode(commands, into: &$0)
            }
        }
    }

    /// Sends a (P/S)SUBSCRIBE or (P/S)UNSUBSCRIBE command; completes after the server confirmed
    /// every channel. Messages arrive through the connection's push handler.
    func sendSubscription(_ command: String, channels: [String]) async throws {
        precondition(!channels.isEmpty)
        let encoded = RedisCommand(command, channels.map { .string($0) })
        let timer = (RedisCommand.scopedTimeout ?? commandTimeout).map { RedisReplyTimerSpec(command: command, timeout: $0) }
        let shape = RedisReplyShape.subscription(kind: command.lowercased(), confirmations: channels.count, channels: channels)
        let reply = try await withUnsafeThrowingContinuation { continuation in
            submit(to: .single(continuation), shape: shape, timer: timer, encodedLength: RESPEncoder.encodedLength(encoded)) {
                RESPEncoder.encode(encoded, into: &$0)
            }
        }
        if reply.isError { throw RedisServerError(message: errorText(reply)) }
    }

    /// Hands a submission to the handler on the event loop. On the loop (a caller running
    /// with ``withEventLoopAffinity(_:)``) the command is encoded straight into the handler's
    /// outbound buffer; from another thread it is encoded here, off the loop, and handed over.
    private func submit(to target: RedisReplyTarget, shape: RedisReplyShape, timer: RedisReplyTimerSpec?,
                        encodedLength: Int, encode: (inout ByteBuffer) -> Void) {
        let handler = self.handler
        if channel.eventLoop.inEventLoop {
            handler.value.submit(to: target, shape: shape, timer: timer.map { RedisReplyTimer(command: $0.command, timeout: $0.timeout) },
                                 encode: encode)
        } else {
            var buffer = channel.allocator.buffer(capacity: encodedLength)
            encode(&buffer)
            let bytes = buffer
            channel.eventLoop.execute {
                handler.value.submit(to: target, shape: shape, timer: timer.map { RedisReplyTimer(command: $0.command, timeout: $0.timeout) }) {
                    $0.writeImmutableBuffer(bytes)
                }
            }
        }
    }

    /// Closes the connection; commands still waiting fail.
    public func close() async {
        try? await channel.close()
    }
}

func errorText(_ value: RESPValue) -> String {
    switch value.withoutAttributes {
    case .simpleError(let m), .bulkError(let m): return m
    default: return "\(value)"
    }
}
