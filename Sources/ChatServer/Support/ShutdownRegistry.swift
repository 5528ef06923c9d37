import Synchronization

/// Things that stay open until a graceful shutdown ends them all (real-time connections, listen
/// calls): each is registered and ended with `finish`; anything registered once the shutdown has
/// begun is ended at once instead.
final class ShutdownRegistry<Entry: Sendable>: Sendable {
    private let state = Mutex<(next: Int, open: [Int: Entry], closed: Bool)>((0, [:], false))
    private let finish: @Sendable (Entry) -> Void

    /// A registry whose entries `finish` ends.
    init(finish: @escaping @Sendable (Entry) -> Void) {
        self.finish = finish
    }

    /// Registers `entry` (or ends it at once after ``finishAll()``); returns a token for ``remove(_:)``.
    func add(_ entry: Entry) -> Int {
        let (token, closed) = state.withLock { state -> (Int, Bool) in
            state.next += 1
            if !state.closed { state.open[state.next] = entry }
            return (state.next, state.closed)
        }
        if closed { finish(entry) }
        return token
    }

    /// Unregisters an entry (it ended by itself).
    func remove(_ token: Int) {
        _ = state.withLock { $0.open.removeValue(forKey: token) }
    }

    /// Number of registered entries.
    var count: Int { state.withLock { $0.open.count } }

    /// The registered entries.
    var entries: [Entry] { state.withLock { Array($0.open.values) } }

    /// Ends every registered entry, and any registered later.
    func finishAll() {
        let open = state.withLock { state -> [Entry] in
            state.closed = true
            defer { state.open.removeAll() }
            return Array(state.open.values)
        }
        for entry in open { finish(entry) }
    }
}
