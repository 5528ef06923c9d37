import Atomics
import NIOCore
import NIOHTTP2
import Synchronization

/// Writes the frames of one HTTP/2 stream from any task, with coalesced flushes and a bound on
/// the bytes in flight.
///
/// Frames queue in call order; one event-loop hop writes everything queued and flushes once, so a
/// fast producer of small messages costs one hop and one socket write per batch, not per message.
/// A writer suspends while more than `highWatermark` bytes are queued or written to the stream but
/// not yet out on the socket (an exhausted HTTP/2 flow-control window keeps them there), and
/// resumes once that drops to `lowWatermark`.
///
/// The bound covers the bytes still waiting for the event loop, not only those the channel has
/// seen. Back-pressure from channel writability alone arrives too late: a producer that only
/// enqueues can run millions of writes ahead of the event loop before the channel reports itself
/// unwritable. That backlog kept an event loop busy for seconds after the client cancelled such
/// a stream, stalling every other connection on the loop.
final class StreamFrameWriter: Sendable {
    /// One frame to write, its cost against the watermarks, and an optional completion promise.
    struct Item {
        var frame: HTTP2Frame.FramePayload
        var promise: EventLoopPromise<Void>?

        /// The bytes the frame holds in buffers: payload plus frame header and bookkeeping.
        var cost: Int {
            switch frame {
            case .data(let data):
                if case .byteBuffer(let buffer) = data.data { return buffer.readableBytes + 64 }
                return 64
            default:
                return 256
            }
        }
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Item] = []
        var drainScheduled = false
        /// Bytes queued plus bytes written to the stream whose write has not completed.
        var inFlight = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        /// Set once a write failed or the stream closed; every later write fails with it.
        var failure: (any Error)?
    }

    private let channel: any Channel
    private let highWatermark: Int
    private let lowWatermark: Int
    private let state = Mutex(State())
    /// Checked on the event loop right before the stream's first frame is written; an error
    /// fails the whole stream without writing anything (a client refusing to open a stream on a
    /// connection that received GOAWAY meanwhile).
    private let gate: (@Sendable () -> (any Error)?)?
    private let gateOpen = ManagedAtomic(false)
    /// The connection's batcher: drains of all its streams share one event-loop task and one flush.
    private let batcher: ConnectionWriteBatcher?

    init(
        channel: any Channel, batcher: ConnectionWriteBatcher? = nil,
        highWatermark: Int = 512 << 10, lowWatermark: Int = 256 << 10,
        gate: (@Sendable () -> (any Error)?)? = nil
    ) {
        self.channel = channel
        self.batcher = batcher
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
        self.gate = gate
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    /// Queues `items` and returns once they are within the in-flight bound (not when written).
    /// Throws the stream's failure once the stream is closed.
    func write(_ items: [Item]) async throws {
        if case .wait = try enqueue(items) { try await waitForRoom() }
    }

    enum Enqueued { case done, wait }

    /// Queues `items` without waiting; returns whether the caller should wait for room.
    @discardableResult
    func enqueue(_ items: [Item]) throws -> Enqueued {
        enum Next { case done, wait, failed(any Error) }
        var schedule = false
        let next = state.withLock { state -> Next in
            if let failure = state.failure { return .failed(failure) }
            for item in items { state.inFlight += item.cost }
            state.queue.append(contentsOf: items)
            if !state.drainScheduled {
                state.drainScheduled = true
                schedule = true
            }
            return state.inFlight > highWatermark ? .wait : .done
        }
        switch next {
        case .failed(let error):
            for item in items { item.promise?.fail(error) }
            throw error
        case .done, .wait:
            if schedule {
                if let batcher {
                    batcher.schedule(self)
                } else {
                    channel.eventLoop.execute { self.drain() }
                }
            }
            if case .wait = next { return .wait }
            return .done
        }
    }

    /// Queues one frame and waits until it has been written to the socket (or failed).
    func writeAndWait(_ frames: [HTTP2Frame.FramePayload]) async throws {
        guard !frames.isEmpty else { return }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        var items = frames.map { Item(frame: $0, promise: nil) }
        items[items.count - 1].promise = promise
        try await write(items)
        try await promise.futureResult.get()
    }

    private func waitForRoom() async throws {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = Task.isCancelled
                let resume = state.withLock { state -> Result<Void, any Error>? in
                    if let failure = state.failure { return .failure(failure) }
                    if cancelled { return .failure(CancellationError()) }
                    if state.inFlight <= lowWatermark { return .success(()) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The largest DATA frame the drain builds by joining queued messages.
    static let maxCoalescedBytes = 16 * 1024

    /// Runs on the event loop: writes everything queued, flushes once (through the connection's
    /// ``FlushCoalescingHandler``, which turns the flushes of one batch into one).
    ///
    /// Consecutive DATA frames are joined into frames of up to ``maxCoalescedBytes`` (gRPC
    /// messages are a byte stream; frame boundaries carry no meaning). A stream of small messages
    /// then costs the peer one frame per 16 KiB instead of one per message: grpcio, for one, took
    /// seconds to discard a cancelled stream's window full of one-message frames, stalling the
    /// calls queued behind them on the connection.
    func drain() {
        var items: [Item] = []
        state.withLock { state in
            state.drainScheduled = false
            swap(&items, &state.queue)
        }
        guard !items.isEmpty else { return }
        if let gate, !gateOpen.exchange(true, ordering: .relaxed), let error = gate() {
            var cost = 0
            for item in items {
                cost += item.cost
                item.promise?.fail(error)
            }
            fail(error, releasing: cost)
            channel.close(promise: nil)
            return
        }
        var cost = 0
        var frames: [(frame: HTTP2Frame.FramePayload, promises: [EventLoopPromise<Void>])] = []
        var run: ByteBuffer?
        var runPromises: [EventLoopPromise<Void>] = []
        func closeRun(endStream: Bool) {
            guard let bytes = run else { return }
            frames.append((.data(.init(data: .byteBuffer(bytes), endStream: endStream)), runPromises))
            run = nil
            runPromises = []
        }
        for item in items {
            cost += item.cost
            guard case .data(let data) = item.frame, case .byteBuffer(var bytes) = data.data, data.paddingBytes == nil else {
                closeRun(endStream: false)
                frames.append((item.frame, item.promise.map { [$0] } ?? []))
                continue
            }
            if let current = run, current.readableBytes + bytes.readableBytes > Self.maxCoalescedBytes {
                closeRun(endStream: false)
            }
            if run == nil {
                run = bytes
            } else {
                run!.writeBuffer(&bytes)
            }
            if let promise = item.promise { runPromises.append(promise) }
            if data.endStream { closeRun(endStream: true) }
        }
        closeRun(endStream: false)

        let batchCost = cost
        for (index, entry) in frames.enumerated() {
            let isLast = index == frames.count - 1
            var promise: EventLoopPromise<Void>?
            if isLast || entry.promises.count > 1 {
                let combined = channel.eventLoop.makePromise(of: Void.self)
                let promises = entry.promises
                combined.futureResult.whenComplete { result in
                    if isLast { self.completed(cost: batchCost, result: result) }
                    for promise in promises { promise.completeWith(result) }
                }
                promise = combined
            } else {
                promise = entry.promises.first
            }
            if isLast {
                channel.writeAndFlush(entry.frame, promise: promise)
            } else {
                channel.write(entry.frame, promise: promise)
            }
        }
    }

    private func completed(cost: Int, result: Result<Void, any Error>) {
        if case .failure(let error) = result {
            fail(error, releasing: cost)
            return
        }
        let waiters = state.withLock { state -> [Waiter] in
            state.inFlight -= cost
            guard state.inFlight <= lowWatermark else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Fails every suspended and later write; frames still queued fail when the drain writes
    /// them to the closed stream.
    private func fail(_ error: any Error, releasing cost: Int = 0) {
        let waiters = state.withLock { state -> [Waiter] in
            state.inFlight -= cost
            if state.failure == nil { state.failure = error }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: error) }
    }
}
