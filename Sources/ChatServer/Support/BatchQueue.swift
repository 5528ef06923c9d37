import Synchronization

/// A multi-producer, single-consumer queue whose consumer takes everything queued at once: the
/// basis of group commit (one transaction per drained batch) and of a connection's outbound
/// queue (one wake-up of the writer per batch of frames, not one per frame).
///
/// Unbounded by default; with a `capacity`, an append that would exceed it is refused (and
/// nothing is queued), which a connection's writer treats as "the client fell too far behind".
final class BatchQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var waiter: CheckedContinuation<[Element]?, Never>?
        var finished = false
        var overflowed = false
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// A queue holding at most `capacity` items (unbounded by default).
    init(capacity: Int = .max) {
        self.capacity = capacity
    }

    /// Enqueues items; `false` (and nothing queued) after ``finish()`` or when the items would
    /// exceed the capacity.
    @discardableResult
    func append(contentsOf items: [Element]) -> Bool {
        let (accepted, waiter): (Bool, CheckedContinuation<[Element]?, Never>?) = state.withLock { state in
            guard !state.finished, state.items.count + items.count <= capacity else { return (false, nil) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            state.items.append(contentsOf: items)
            return (true, nil)
        }
        waiter?.resume(returning: items)
        return accepted
    }

    /// Enqueues one item; `false` after ``finish()`` or when the queue is full (which
    /// ``overflowed`` then records).
    @discardableResult
    func append(_ item: Element) -> Bool {
        let (accepted, waiter): (Bool, CheckedContinuation<[Element]?, Never>?) = state.withLock { state in
            guard !state.finished else { return (false, nil) }
            guard state.items.count < capacity else {
                state.overflowed = true
                return (false, nil)
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return (true, waiter)
            }
            state.items.append(item)
            return (true, nil)
        }
        waiter?.resume(returning: [item])
        return accepted
    }

    /// Waits for items and takes up to `limit` of them; `nil` once finished and empty.
    func next(limit: Int = .max) async -> [Element]? {
        // Fast path: items are ready (no continuation, no suspension).
        let ready: [Element]?? = state.withLock { state in Self.take(&state, limit: limit) }
        if let ready { return ready }
        return await withCheckedContinuation { continuation in
            let ready: [Element]?? = state.withLock { state in
                if let taken = Self.take(&state, limit: limit) { return taken }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// ``next(limit:)``, then, when it brought fewer than `limit` items and the queue is still
    /// open, waits `linger` once and adds what was queued meanwhile (up to `limit` in all): fewer,
    /// larger batches for at most `linger` more latency. `nil` once finished and empty.
    func next(limit: Int, linger: Duration) async -> [Element]? {
        guard var batch = await next(limit: limit) else { return nil }
        if linger > .zero, batch.count < limit, !isFinished {
            try? await Task.sleep(for: linger)
            if let more = poll(limit: limit - batch.count) { batch += more }
        }
        return batch
    }

    /// Takes up to `limit` items queued now without waiting; `nil` if none is queued (or finished).
    private func poll(limit: Int) -> [Element]? {
        state.withLock { state in
            guard !state.items.isEmpty else { return nil }
            return Self.take(&state, limit: limit) ?? nil
        }
    }

    /// Takes up to `limit` queued items; `.some(nil)` once finished and empty; `nil` if none is queued.
    private static func take(_ state: inout State, limit: Int) -> [Element]?? {
        if !state.items.isEmpty {
            if state.items.count <= limit {
                var taken: [Element] = []
                swap(&taken, &state.items)
                return .some(taken)
            }
            let head = Array(state.items.prefix(limit))
            state.items.removeFirst(limit)
            return .some(head)
        }
        if state.finished { return .some(nil) }
        return .none
    }

    /// Whether an item was ever refused because the queue was full.
    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// Whether ``finish()`` was called.
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Number of queued items.
    var count: Int { state.withLock { $0.items.count } }

    /// Stops accepting items; the consumer drains what is left, then gets `nil`.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[Element]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.items.isEmpty ? state.waiter : nil
        }
        waiter?.resume(returning: nil)
    }
}
