import Synchronization

/// An unbounded multi-producer, single-consumer queue whose consumer takes everything queued at
/// once: the basis of group commit (one transaction per drained batch).
final class BatchQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var waiter: CheckedContinuation<[Element]?, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    /// Enqueues items; `false` (and nothing queued) after ``finish()``.
    @discardableResult
    func append(contentsOf items: [Element]) -> Bool {
        let (accepted, waiter): (Bool, CheckedContinuation<[Element]?, Never>?) = state.withLock { state in
            guard !state.finished else { return (false, nil) }
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

    /// Enqueues one item; `false` after ``finish()``.
    @discardableResult
    func append(_ item: Element) -> Bool { append(contentsOf: [item]) }

    /// Waits for items and takes up to `limit` of them; `nil` once finished and empty.
    func next(limit: Int = .max) async -> [Element]? {
        await withCheckedContinuation { continuation in
            let ready: [Element]?? = state.withLock { state in
                if !state.items.isEmpty {
                    if state.items.count <= limit {
                        defer { state.items.removeAll(keepingCapacity: true) }
                        return .some(state.items)
                    }
                    let head = Array(state.items.prefix(limit))
                    state.items.removeFirst(limit)
                    return .some(head)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

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
