import Synchronization

/// The outbound queue of one real-time connection, written by a task that exists only while there
/// is something to write.
///
/// Frames are queued from any thread (the backplane's delivery, other connections' requests) and
/// written in order by one writer task at a time, which takes everything queued per wake-up. An
/// idle connection has no writer task at all: a listening client costs its socket and its reader,
/// not a parked task as well. The queue is bounded; a client that falls ``capacity`` frames behind
/// is refused further frames and its connection is closed once what is queued has been written
/// (it catches up from history).
///
/// ``finish()`` stops accepting frames and closes the connection after the queued ones are
/// written; ``closed()`` waits for that.
final class ConnectionOutbox<Frame: Sendable>: Sendable {
    private struct State {
        var frames: [Frame] = []
        /// A writer task is running (or starting).
        var writing = false
        var finished = false
        var done = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private enum Next { case queued, startWriter, refused(startCloser: Bool) }
    private enum Step { case write([Frame]), idle, close }

    /// Most frames queued at once.
    let capacity: Int
    private let state = Mutex(State())
    private let write: @Sendable ([Frame]) async throws -> Void
    private let close: @Sendable () async -> Void

    /// An outbox writing batches through `write` and closing the connection through `close`.
    init(capacity: Int, write: @escaping @Sendable ([Frame]) async throws -> Void, close: @escaping @Sendable () async -> Void) {
        self.capacity = capacity
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
            startWriter()
            return true
        case .refused(let startCloser):
            if startCloser { startWriter() }
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
        if start { startWriter() }
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

    /// Marks a writer as running; `true` if the caller must start it.
    private static func claimWriter(_ state: inout State) -> Bool {
        if state.writing || state.done { return false }
        state.writing = true
        return true
    }

    private func startWriter() {
        Task { await self.drain() }
    }

    /// The writer: writes batches until the queue is empty, then ends (or, once finished, closes
    /// the connection).
    private func drain() async {
        while true {
            let step = state.withLock { state -> Step in
                if !state.frames.isEmpty {
                    var batch: [Frame] = []
                    swap(&batch, &state.frames)
                    return .write(batch)
                }
                if state.finished { return .close }
                state.writing = false
                return .idle
            }
            switch step {
            case .write(let batch):
                do {
                    try await write(batch)
                } catch {
                    // The connection is gone: drop what is queued and close.
                    state.withLock { state in
                        state.finished = true
                        state.frames.removeAll()
                    }
                }
            case .idle:
                return
            case .close:
                await close()
                let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                    state.done = true
                    state.writing = false
                    defer { state.waiters.removeAll() }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
                return
            }
        }
    }
}
