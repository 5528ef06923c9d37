import Logging
import NIOCore
import WireCore

/// What callers write into the channel: already-encoded commands (encoding happens on the
/// caller's thread) and where their replies go.
enum RedisOutbound: Sendable {
    /// One command and the promise its reply completes.
    case command(ByteBuffer, EventLoopPromise<RESPValue>, RedisReplyShape)
    /// `count` commands written together (an explicit pipeline) and one promise for all replies.
    case batch(ByteBuffer, count: Int, EventLoopPromise<[RESPValue]>)
}

/// Collects the replies of one pipeline on the event loop and completes its promise once.
final class RedisBatchCollector {
    private var values: [RESPValue]
    private let expected: Int
    private let promise: EventLoopPromise<[RESPValue]>
    private var done = false

    init(expected: Int, promise: EventLoopPromise<[RESPValue]>) {
        self.expected = expected
        self.promise = promise
        self.values = []
        self.values.reserveCapacity(expected)
    }

    func append(_ value: RESPValue) {
        guard !done else { return }
        values.append(value)
        if values.count == expected {
            done = true
            promise.succeed(values)
        }
    }

    func fail(_ error: any Error) {
        guard !done else { return }
        done = true
        promise.fail(error)
    }
}

/// Where one command's reply goes.
enum RedisReplySink {
    case single(EventLoopPromise<RESPValue>)
    case batch(RedisBatchCollector)

    func succeed(_ value: RESPValue) {
        switch self {
        case .single(let p): p.succeed(value)
        case .batch(let c): c.append(value)
        }
    }

    func fail(_ error: any Error) {
        switch self {
        case .single(let p): p.fail(error)
        case .batch(let c): c.fail(error)
        }
    }
}

/// The NIO handler that runs ``RedisConnectionStateMachine`` on one channel.
///
/// Outbound commands are encoded into one buffer and flushed once per event-loop tick, so
/// commands issued concurrently by many tasks leave in one `write` (automatic pipelining).
/// Inbound bytes are decoded with ``RESPDecoder``; a decoding error fails every in-flight
/// command with ``RedisConnectionError/protocolViolation(_:)`` and closes this channel only.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisOutbound
    typealias OutboundOut = ByteBuffer

    private var stateMachine = RedisConnectionStateMachine<RedisReplySink>()
    private let decoder: RESPDecoder
    private var cumulation: ByteBuffer?
    private var outbound: ByteBuffer
    private var flushScheduled = false
    /// Number of socket writes issued (observed by tests of automatic pipelining).
    private(set) var flushCount = 0
    private let pushHandler: @Sendable (RESPValue) -> Void
    private let logger: Logger

    init(limits: RESPDecoderLimits, logger: Logger, pushHandler: @escaping @Sendable (RESPValue) -> Void) {
        self.decoder = RESPDecoder(limits: limits)
        self.outbound = ByteBufferAllocator().buffer(capacity: 4096)
        self.pushHandler = pushHandler
        self.logger = logger
    }

    /// Sets the negotiated RESP version (must run on the event loop).
    func setProtocolVersion(_ version: Int) {
        stateMachine.protocolVersion = version
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.succeed()
        switch unwrapOutboundIn(data) {
        case .command(let bytes, let reply, let shape):
            switch stateMachine.enqueue(.single(reply), shape: shape) {
            case .write:
                outbound.writeImmutableBuffer(bytes)
            case .fail(let sink, let error):
                sink.fail(error)
                return
            }
        case .batch(let bytes, let count, let replies):
            let collector = RedisBatchCollector(expected: count, promise: replies)
            for _ in 0..<count {
                if case .fail(let sink, let error) = stateMachine.enqueue(.batch(collector)) {
                    sink.fail(error)
                    return
                }
            }
            outbound.writeImmutableBuffer(bytes)
        }
        if !flushScheduled {
            flushScheduled = true
            // Flush after the tasks already queued on the loop (other callers' commands) ran.
            context.eventLoop.assumeIsolated().execute {
                self.flushOutbound(context: context)
            }
        }
    }

    func flush(context: ChannelHandlerContext) {
        // Flushing is coalesced in `write`; explicit flushes are absorbed.
    }

    private func flushOutbound(context: ChannelHandlerContext) {
        flushScheduled = false
        guard outbound.readableBytes > 0 else { return }
        flushCount &+= 1
        let out = outbound
        outbound = context.channel.allocator.buffer(capacity: Swift.max(4096, out.readableBytes))
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if cumulation == nil {
            cumulation = incoming
        } else {
            cumulation!.writeBuffer(&incoming)
        }
        while true {
            let value: RESPValue?
            do {
                value = try decoder.decode(from: &cumulation!)
            } catch {
                logger.error("malformed Redis reply, closing connection", metadata: ["error": "\(error)"])
                let (failed, connError) = stateMachine.decodeFailed("\(error)")
                for p in failed { p.fail(connError) }
                cumulation = nil
                context.close(promise: nil)
                return
            }
            guard let value else { break }
            handle(value, context: context)
            if stateMachine.isClosed { return }
        }
        if let c = cumulation, c.readableBytes == 0 {
            cumulation = nil
        } else if cumulation!.readerIndex > 65536 {
            cumulation!.discardReadBytes()
        }
    }

    private func handle(_ value: RESPValue, context: ChannelHandlerContext) {
        switch stateMachine.received(value) {
        case .reply(let sink, let v):
            sink.succeed(v)
        case .push(let v):
            pushHandler(v)
        case .pushAndReply(let v, let sink):
            pushHandler(v)
            sink?.succeed(v)
        case .protocolViolation(let failed, let error):
            logger.error("unexpected Redis reply, closing connection", metadata: ["error": "\(error)"])
            for p in failed { p.fail(error) }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let failed = stateMachine.closed(reason: "connection closed by peer or network")
        for p in failed { p.fail(RedisConnectionError.connectionClosed(reason: "connection lost")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("Redis channel error", metadata: ["error": "\(error)"])
        let failed = stateMachine.closed(reason: "\(error)")
        for p in failed { p.fail(RedisConnectionError.connectionClosed(reason: "\(error)")) }
        context.close(promise: nil)
    }
}
