import Synchronization
import WireCore

/// A pooled-connection test double: counts how many holders it has and whether it was closed.
final class TestConnection: PooledConnection, CustomStringConvertible {
    let id: Int
    private let usable = Atomic<Bool>(true)
    private let closedFlag = Atomic<Bool>(false)
    private let holders = Atomic<Int>(0)
    private let maxHoldersSeen = Atomic<Int>(0)
    private let tracker: ConnectionTracker

    init(id: Int, tracker: ConnectionTracker) {
        self.id = id
        self.tracker = tracker
    }

    var isUsable: Bool { usable.load(ordering: .acquiring) && !isClosed }
    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }
    var maxHolders: Int { maxHoldersSeen.load(ordering: .acquiring) }
    var description: String { "TestConnection(\(id))" }

    func markUnusable() { usable.store(false, ordering: .releasing) }

    /// Call when a lease starts using the connection; returns the number of holders now.
    @discardableResult
    func enter() -> Int {
        let now = holders.add(1, ordering: .acquiringAndReleasing).newValue
        maxHoldersSeen.max(now, ordering: .acquiringAndReleasing)
        return now
    }

    func leave() { holders.subtract(1, ordering: .acquiringAndReleasing) }

    func close() async {
        let (exchanged, _) = closedFlag.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        if exchanged { tracker.didClose(self) }
    }
}

/// The test connection factory: counts connections, injects connect failures and delays.
final class ConnectionTracker: Sendable {
    struct State {
        var created = 0
        var attempts = 0
        var open = 0
        var maxOpen = 0
        var closed = 0
        var failConnects = false
        /// When set, every n-th connect attempt fails.
        var failEveryNthConnect: Int?
        var connections: [TestConnection] = []
    }

    let state = Mutex(State())
    let connectDelay: Duration

    init(connectDelay: Duration = .milliseconds(1)) {
        self.connectDelay = connectDelay
    }

    var snapshot: State { state.withLock { $0 } }

    func setFailing(_ failing: Bool) { state.withLock { $0.failConnects = failing } }

    func failEvery(_ n: Int) { state.withLock { $0.failEveryNthConnect = n } }

    func make() async throws -> TestConnection {
        let failing = state.withLock { state -> Bool in
            state.attempts += 1
            if let n = state.failEveryNthConnect, state.attempts % n == 0 { return true }
            return state.failConnects
        }
        try await Task.sleep(for: connectDelay)
        if failing { throw InjectedConnectError() }
        return state.withLock { state in
            state.created += 1
            state.open += 1
            state.maxOpen = max(state.maxOpen, state.open)
            let connection = TestConnection(id: state.created, tracker: self)
            state.connections.append(connection)
            return connection
        }
    }

    func didClose(_ connection: TestConnection) {
        state.withLock { state in
            state.open -= 1
            state.closed += 1
        }
    }
}

struct InjectedConnectError: Error, Equatable {}

/// Polls `condition` every few milliseconds for up to `timeout` (generous: the whole test process
/// shares two cores with other test suites).
func eventually(timeout: Duration = .seconds(15), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// A lock-protected value shared between test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}
