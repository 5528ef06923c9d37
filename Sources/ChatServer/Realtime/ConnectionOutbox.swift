import NIOCore
import Synchronization

/// The outbound queue of one real-time connection, written on the connection's event loop with
/// one flush per batch.
///
/// Frames are queued from any thread (the backplane's delivery, other connections' requests, the
/// connection's own reader). The first frame queued while nothing is being written schedules one
/// drain on the event loop, which takes everything queued, hands it to ``write`` (which writes the
/// frames to the channel and flushes once) and waits for that flush before the next batch: a
/// burst costs one event-loop hop and one socket write, not one per frame, and no task exists
/// for the writing at all (an idle listening client costs its socket and its reader only).
/// Pushes inside an ``OutboxDrainBatch`` defer the drain to the end of that batch.
///
/// The queue is bounded: a client that falls ``capacity`` frames behind (its socket does not take
/// what was flushed) is refused further frames and its connection is closed once what is queued
/// has been written (it catches up from history). ``finish()`` stops accepting frames and closes
/// the connection after the queued ones are written; ``closed()`` waits for that.
final class ConnectionOutbox<Frame: Sendable>: Sendable {
    private struct State {
        var frames: [Frame] = []
        /// A drain is scheduled or a written batch has not completed yet.
        var writing = false
        var finished = false
        var closing = false
        var done = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private enum Next { case queued, startWriter, refused(startCloser: Bool) }
    private enum Step { case write([Frame]), idle, close }

    /// Most frames queued at once.
    let capacity: Int
    private let state = Mutex(State())
    private let eventLoop: any EventLoop
    private let write: @Sendable ([Frame]) -> EventLoopFuture<Void>
    private let close: @Sendable () async -> Void

    /// An outbox whose batches `write` writes on `eventLoop` (called there; the future completes
    /// once the batch is on the socket or failed) and whose connection `close` closes.
    init(capacity: Int, eventLoop: any EventLoop, write: @escaping @Sendable ([Frame]) -> EventLoopFuture<Void>,
         close: @escaping @Sendable () async -> Void) {
        self.capacity = capacity
        self.eventLoop = eventLoop
        self.write = write
        self.close = close
    }

    /// Queues a frame; `false` when finished or full (a full queue finishes the outbox, which
    /// closes the connection once the queued frames are written).
    @discardableResult
    func push(_ frame: Frame) -> Bool {
        let next = state.withLock { state -> Next in
            if state.finished { return .refused(startCloser: false) }
            if state.frames.count >= capacity {
                state.finished = true
                return .refused(startCloser: Self.claimWriter(&state))
            }
            state.frames.append(frame)
            return Self.claimWriter(&state) ? .startWriter : .queued
        }
        switch next {
        case .queued: return true
        case .startWriter:
            scheduleDrain()
            return true
        case .refused(let startCloser):
            if startCloser { scheduleDrain() }
            return false
        }
    }

    /// Stops accepting frames; the connection is closed once the queued frames are written.
    func finish() {
        let start = state.withLock { state -> Bool in
            if state.finished { return false }
            state.finished = true
            return Self.claimWriter(&state)
        }
        if start { scheduleDrain() }
    }

    /// Waits until the outbox finished and the connection was closed.
    func closed() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Marks a drain as pending; `true` if the caller must schedule it.
    private static func claimWriter(_ state: inout State) -> Bool {
        if state.writing || state.closing || state.done { return false }
        state.writing = true
        return true
    }

    private func scheduleDrain() {
        if let batch = OutboxDrainBatch.current {
            // One drain per outbox and one wake-up per event loop for the whole batch.
            batch.add(on: eventLoop) { self.drain() }
        } else {
            // Also on the event loop: frames queued while it handles a tick's reads (requests
            // answered by RealtimeRequestHandler) go out in one write after those reads.
            eventLoop.execute { self.drain() }
        }
    }

    /// On the event loop: writes what is queued as one batch and drains again once it is written;
    /// with nothing queued, stops (or, once finished, closes the connection).
    private func drain() {
        let step = state.withLock { state -> Step in
            if !state.frames.isEmpty {
                var batch: [Frame] = []
                swap(&batch, &state.frames)
                return .write(batch)
            }
            state.writing = false
            if state.finished && !state.closing && !state.done {
                state.closing = true
                return .close
            }
            return .idle
        }
        switch step {
        case .write(let batch):
            write(batch).hop(to: eventLoop).whenComplete { result in
                if case .failure = result {
                    // The connection is gone: drop what is queued and close.
                    self.state.withLock { state in
                        state.finished = true
                        state.frames.removeAll()
                    }
                }
                // A fresh event-loop task, so a connection that always has frames queued never
                // recurses.
                self.eventLoop.execute { self.drain() }
            }
        case .idle:
            return
        case .close:
            // Rare (overflow, shutdown, the reader ended): the closing handshake is async.
            Task {
                await self.close()
                let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    state.done = true
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
    }
}
