import Logging
import NIOCore
import WireCore

/// Where the reply (or replies) of one submission go; handed from the caller's task to the
/// event loop.
enum RedisReplyTarget: Sendable {
    /// One command's reply.
    case single(UnsafeContinuation<RESPValue, any Error>)
    /// The replies of `count` commands written together (an explicit pipeline).
    case batch(UnsafeContinuation<[RESPValue], any Error>, count: Int)
}

/// Collects the replies of one pipeline on the event loop and resumes its caller once.
final class RedisBatchCollector {
    private var values: [RESPValue]
    private let expected: Int
    private let continuation: UnsafeContinuation<[RESPValue], any Error>
    private var done = false

    init(expected: Int, continuation: UnsafeContinuation<[RESPValue], any Error>) {
        self.expected = expected
        self.continuation = continuation
        self.values = []
        self.values.reserveCapacity(expected)
    }

    func append(_ value: RESPValue) {
        guard !done else { return }
        values.append(value)
        if values.count == expected {
            done = true
            continuation.resume(returning: values)
        }
    }

    func fail(_ error: any Error) {
        guard !done else { return }
        done = true
        continuation.resume(throwing: error)
    }
}

/// Where one command's reply goes. Every sink is completed exactly once: by its reply, or by
/// the failure of the connection (the state machine hands each request out once).
enum RedisReplySink {
    case single(UnsafeContinuation<RESPValue, any Error>)
    case batch(RedisBatchCollector)

    func succeed(_ value: RESPValue) {
        switch self {
        case .single(let c): c.resume(returning: value)
        case .batch(let c): c.append(value)
        }
    }

    func fail(_ error: any Error) {
        switch self {
        case .single(let c): c.resume(throwing: error)
        case .batch(let c): c.fail(error)
        }
    }
}

/// The reply timer of one submission (see ``RedisConnectionConfiguration/commandTimeout``).
final class RedisReplyTimer {
    let command: String
    let timeout: Duration
    var scheduled: Scheduled<Void>?

    init(command: String, timeout: Duration) {
        self.command = command
        self.timeout = timeout
    }

    func cancel() {
        scheduled?.cancel()
        scheduled = nil
    }
}

/// One request the connection waits for a reply to.
struct RedisPendingRequest {
    var sink: RedisReplySink
    /// Set on the last request of a submission that has a timeout.
    var timer: RedisReplyTimer?
}

/// The NIO handler that runs ``RedisConnectionStateMachine`` on one channel.
///
/// Callers hand commands to ``submit(to:shape:timer:encode:)`` on the event loop (no
/// promise, no pipeline traversal per command). A command to an idle connection is written at
/// once; commands issued while others are in flight are collected into one buffer and flushed
/// once per event-loop tick, so commands issued concurrently by many tasks leave in one
/// `write` (automatic pipelining). Inbound bytes are decoded with ``RESPDecoder``; a
/// decoding error fails every in-flight command with
/// ``RedisConnectionError/protocolViolation(_:)`` and closes this channel only. A reply timer
/// that fires fails its command with ``RedisConnectionError/timedOut(command:after:)`` and
/// closes the channel, failing the commands behind it, so no late reply is misattributed.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var stateMachine = RedisConnectionStateMachine<RedisPendingRequest>()
    private let decoder: RESPDecoder
    private var cumulation: ByteBuffer?
    private var outbound: ByteBuffer
    private var flushScheduled = false
    private var context: ChannelHandlerContext?
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

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        failAll(stateMachine.closed(reason: "handler removed"), error: RedisConnectionError.connectionClosed(reason: "connection closed"))
    }

    // MARK: outbound

    /// Queues commands (`encode` writes them to the outbound buffer) and where their replies go
    /// (on the event loop). Fails the target with ``RedisConnectionError/notSent(reason:)`` if
    /// the connection is already closed.
    ///
    /// A submission to an idle connection (nothing in flight, no flush pending) is written at
    /// once: a caller waiting for each reply before its next command (one round trip at a time)
    /// pays no extra event-loop task per command. Commands submitted while others are in flight
    /// are collected and flushed together after the tasks already queued on the loop ran
    /// (automatic pipelining).
    func submit(to target: RedisReplyTarget, shape: RedisReplyShape, timer: RedisReplyTimer?, encode: (inout ByteBuffer) -> Void) {
        guard let context, !stateMachine.isClosed else {
            let error = RedisConnectionError.notSent(reason: "the connection is closed")
            switch target {
            case .single(let c): c.resume(throwing: error)
            case .batch(let c, _): c.resume(throwing: error)
            }
            return
        }
        let idle = stateMachine.inFlightCount == 0 && !flushScheduled
        switch target {
        case .single(let c):
            if case .fail(let request, let error) = stateMachine.enqueue(RedisPendingRequest(sink: .single(c), timer: timer), shape: shape) {
                request.sink.fail(error)
                return
            }
        case .batch(let c, let count):
            // One entry answered `count` times, one collector, one resume for the whole pipeline.
            let collector = RedisBatchCollector(expected: count, continuation: c)
            let request = RedisPendingRequest(sink: .batch(collector), timer: timer)
            if case .fail(let request, let error) = stateMachine.enqueue(request, replies: count) {
                request.sink.fail(error)
                return
            }
        }
        if let timer {
            timer.scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timer.timeout)) {
                self.timerFired(timer)
            }
        }
        encode(&outbound)
        if idle {
            flushOutbound()
        } else if !flushScheduled {
            flushScheduled = true
            // Flush after the tasks already queued on the loop (other callers' commands) ran.
            context.eventLoop.assumeIsolated().execute {
                self.flushOutbound()
            }
        }
    }

    private func flushOutbound() {
        flushScheduled = false
        guard let context, outbound.readableBytes > 0 else { return }
        flushCount &+= 1
        context.writeAndFlush(wrapOutboundOut(outbound), promise: nil)
        if outbound.capacity > 1 << 20 {
            outbound = context.channel.allocator.buffer(capacity: 4096)   // don't keep a huge buffer after a big write
        } else {
            outbound.clear()   // reuses the storage when the socket took the bytes at once (the usual case)
        }
    }

    private func timerFired(_ timer: RedisReplyTimer) {
        guard timer.scheduled != nil, !stateMachine.isClosed else { return }
        timer.scheduled = nil
        logger.debug("Redis command timed out, closing the connection", metadata: ["command": "\(timer.command)", "timeout": "\(timer.timeout)"])
        let failed = stateMachine.closed(reason: "\(timer.command) timed out after \(timer.timeout)")
        // The timed-out submission first, so a pipeline reports the timeout, not the close
        // (a batch collector ignores the later failures of its other requests).
        let (timedOut, others) = (failed.filter { $0.timer === timer }, failed.filter { $0.timer !== timer })
        failAll(timedOut, error: RedisConnectionError.timedOut(command: timer.command, after: timer.timeout))
        failAll(others, error: RedisConnectionError.connectionClosed(reason: "\(timer.command) timed out on this connection, which was closed"))
        context?.close(promise: nil)
    }

    private func failAll(_ requests: [RedisPendingRequest], error: any Error) {
        for request in requests {
            request.timer?.cancel()
            request.sink.fail(error)
        }
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Decode from a local buffer (the stored cumulation is taken out, so appending does not
        // copy).
        var buffer = unwrapInboundIn(data)
        if var pending = cumulation {
            cumulation = nil
            pending.writeImmutableBuffer(buffer)
            buffer = pending
        }
        // Every complete reply in the read, in one pass (a pipeline's replies arrive together).
        do {
            try decoder.decodeValues(from: &buffer) { value in
                handle(value, context: context)
                return !stateMachine.isClosed
            }
        } catch {
            logger.error("malformed Redis reply, closing connection", metadata: ["error": "\(error)"])
            let (failed, connError) = stateMachine.decodeFailed("\(error)")
            failAll(failed, error: connError)
            context.close(promise: nil)
            return
        }
        if stateMachine.isClosed { return }
        if buffer.readableBytes > 0 {
            if buffer.readerIndex > 65536 { buffer.discardReadBytes() }
            cumulation = buffer
        }
    }

    private func handle(_ value: RESPValue, context: ChannelHandlerContext) {
        switch stateMachine.received(value) {
        case .reply(let request, let v, let last):
            if last { request.timer?.cancel() }
            request.sink.succeed(v)
        case .push(let v):
            pushHandler(v)
        case .pushAndReply(let v, let request):
            pushHandler(v)
            if let request {
                request.timer?.cancel()
                request.sink.succeed(v)
            }
        case .protocolViolation(let failed, let error):
            logger.error("unexpected Redis reply, closing connection", metadata: ["error": "\(error)"])
            failAll(failed, error: error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(stateMachine.closed(reason: "connection closed by peer or network"),
                error: RedisConnectionError.connectionClosed(reason: "connection lost"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("Redis channel error", metadata: ["error": "\(error)"])
        failAll(stateMachine.closed(reason: "\(error)"), error: RedisConnectionError.connectionClosed(reason: "\(error)"))
        context.close(promise: nil)
    }
}
