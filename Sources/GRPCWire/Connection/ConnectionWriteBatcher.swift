import NIOCore
import Synchronization

/// Coalesces the writes of all streams of one HTTP/2 connection into one event-loop task and one
/// socket flush.
///
/// Every ``StreamFrameWriter`` of the connection schedules its drain here instead of on the event
/// loop directly. One event-loop task then drains every stream that has frames queued, while the
/// connection's ``FlushCoalescingHandler`` holds back the flushes each stream's write causes, and
/// flushes the socket once at the end. With many concurrent calls on a connection (64 unary calls
/// in flight, say) that is one `writev` for all the HEADERS and DATA frames that piled up while
/// the event loop was busy, instead of one per stream.
final class ConnectionWriteBatcher: Sendable {
    private struct Pending {
        var writers: [StreamFrameWriter] = []
        var scheduled = false
    }

    let eventLoop: any EventLoop
    private let pending = Mutex(Pending())
    private let coalescer: NIOLoopBound<FlushCoalescingHandler>

    /// Creates the batcher of a connection whose pipeline holds `coalescer` (on `eventLoop`).
    init(eventLoop: any EventLoop, coalescer: FlushCoalescingHandler) {
        self.eventLoop = eventLoop
        self.coalescer = NIOLoopBound(coalescer, eventLoop: eventLoop)
    }

    /// Drains `writer` in the next batch (call once per scheduled drain of the writer).
    func schedule(_ writer: StreamFrameWriter) {
        let first = pending.withLock { pending -> Bool in
            pending.writers.append(writer)
            if pending.scheduled { return false }
            pending.scheduled = true
            return true
        }
        if first {
            eventLoop.execute { self.run() }
        }
    }

    /// Runs on the event loop: drains every scheduled writer, then flushes once.
    private func run() {
        let writers = pending.withLock { pending -> [StreamFrameWriter] in
            pending.scheduled = false
            var writers: [StreamFrameWriter] = []
            swap(&writers, &pending.writers)
            return writers
        }
        let coalescer = self.coalescer.value
        coalescer.hold()
        for writer in writers { writer.drain() }
        coalescer.release()
    }
}

/// Sits between the socket (or TLS) and the HTTP/2 handler and holds back flushes while a
/// ``ConnectionWriteBatcher`` batch runs, so the batch costs one flush. Outside a batch every
/// flush passes straight through.
final class FlushCoalescingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any

    private var context: ChannelHandlerContext?
    private var holding = false
    private var flushPending = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func flush(context: ChannelHandlerContext) {
        if holding {
            flushPending = true
        } else {
            context.flush()
        }
    }

    /// Starts holding flushes back.
    func hold() {
        holding = true
    }

    /// Stops holding flushes back and performs the one held back, if any.
    func release() {
        holding = false
        if flushPending {
            flushPending = false
            context?.flush()
        }
    }
}
