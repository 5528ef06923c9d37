import Logging
import NIOCore
import WireCore

/// What callers write into the channel: one or more commands, each with the promise its reply
/// completes. Several commands in one value are encoded into one write (explicit pipelines).
struct RedisOutbound: Sendable {
    struct Entry: Sendable {
        var command: RedisCommand
        var promise: EventLoopPromise<RESPValue>
        var shape: RedisReplyShape
    }
    var entries: [Entry]
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

    private var stateMachine = RedisConnectionStateMachine<EventLoopPromise<RESPValue>>()
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
        let request = unwrapOutboundIn(data)
        var wrote = false
        for entry in request.entries {
            switch stateMachine.enqueue(entry.promise, shape: entry.shape) {
            case .write:
                RESPEncoder.encode(entry.command, into: &outbound)
                wrote = true
            case .fail(let p, let error):
                p.fail(error)
            }
        }
        promise?.succeed()
        if wrote && !flushScheduled {
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
        case .reply(let promise, let v):
            promise.succeed(v)
        case .push(let v):
            pushHandler(v)
        case .pushAndReply(let v, let promise):
            pushHandler(v)
            promise?.succeed(v)
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
