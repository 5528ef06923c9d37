import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A generic async connection pool: min/max connections, several leases per connection for
/// multiplexed protocols, idle reaping, keep-alive, lease deadlines, FIFO-fair waiting, a circuit
/// breaker after repeated connect failures, and graceful shutdown.
///
/// Leasing works on its own; ``run()`` adds the timed maintenance (keeping ``ConnectionPoolConfiguration/minConnections``
/// open, closing idle connections, keep-alives, retrying after the breaker's pause) and should run
/// for the pool's lifetime, typically from a ServiceLifecycle service's `run()`.
///
/// ```swift
/// let pool = ConnectionPool(configuration: .init(maxConnections: 4), logger: logger) {
///     try await MyConnection.connect(to: endpoint)
/// }
/// try await pool.withConnection { connection in try await connection.ping() }
/// ```
public final class ConnectionPool<Connection: PooledConnection>: Sendable {
    @usableFromInline typealias Waiter = CheckedContinuation<Connection, any Error>
    @usableFromInline typealias Machine = ConnectionPoolStateMachine<Connection, Waiter>

    @usableFromInline
    struct State: Sendable {
        @usableFromInline var machine: Machine
        var timers: [Machine.WaiterID: Scheduled<Void>] = [:]
        var nextWaiterID: Machine.WaiterID = 0
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Actions plus the shutdown waiters to resume, taken under the lock.
    struct Work: Sendable {
        var actions: Machine.Actions
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The pool's configuration.
    public let configuration: ConnectionPoolConfiguration
    private let logger: Logger
    private let factory: @Sendable () async throws -> Connection
    private let keepAlive: (@Sendable (Connection) async throws -> Void)?
    private let timerLoop: any EventLoop
    @usableFromInline let state: Mutex<State>

    /// Creates a pool. Nothing connects until the first lease or ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: Limits and timings.
    ///   - logger: Receives connect failures and circuit-breaker changes.
    ///   - factory: Opens one connection (it should apply its own connect timeout).
    ///   - keepAlive: Run on connections idle for ``ConnectionPoolConfiguration/keepAliveInterval``;
    ///     throwing closes that connection.
    public init(
        configuration: ConnectionPoolConfiguration,
        logger: Logger,
        factory: @escaping @Sendable () async throws -> Connection,
        keepAlive: (@Sendable (Connection) async throws -> Void)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.factory = factory
        self.keepAlive = keepAlive
        self.timerLoop = MultiThreadedEventLoopGroup.singleton.next()
        self.state = Mutex(State(machine: Machine(configuration: configuration)))
    }

    /// Counters for monitoring and tests.
    public var statistics: ConnectionPoolStatistics {
        state.withLock { $0.machine.statistics }
    }

    // MARK: - Leasing

    /// Leases a connection, waiting in FIFO order behind earlier callers when none is free.
    ///
    /// - Parameter deadline: Give up at this point; defaults to ``ConnectionPoolConfiguration/leaseTimeout`` from now.
    /// - Throws: ``ConnectionPoolError``: `.leaseTimedOut`, `.poolClosed`, `.circuitOpen` (fails
    ///   fast while the breaker is open), `.cancelled` when the waiting task is cancelled.
    /// - Returns: A connection that must be given back with ``release(_:)``.
    @inlinable
    public func lease(deadline: Deadline? = nil) async throws -> Connection {
        // Fast path: a free slot and nobody queued. One lock, no continuation, no actions
        // (inlinable: specialized for the connection type where it is called).
        if let connection = state.withLock({ $0.machine.leaseIfAvailable(now: .now) }) {
            return connection
        }
        return try await leaseQueued(deadline: deadline)
    }

    /// ``lease(deadline:)`` when the fast path did not apply: through the state machine, waiting
    /// in the queue if needed.
    @usableFromInline
    func leaseQueued(deadline: Deadline?) async throws -> Connection {
        let deadline = deadline ?? .after(configuration.leaseTimeout)
        let id = state.withLock { state in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: Waiter) in
                let work = state.withLock { state -> Work in
                    let actions = state.machine.lease(id: id, waiter: continuation, now: .now)
                    if actions.waiterQueued {
                        let timerDeadline = NIODeadline.now() + TimeAmount(deadline.remaining)
                        state.timers[id] = timerLoop.scheduleTask(deadline: timerDeadline) { [self] in
                            self.handle { $0.timeout(id: id) }
                        }
                    }
                    return Self.finish(actions, in: &state)
                }
                execute(work)
                // A cancellation that raced with queueing: the handler may have run before the waiter existed.
                if Task.isCancelled {
                    handle { $0.cancel(id: id) }
                }
            }
        } onCancel: {
            handle { $0.cancel(id: id) }
        }
    }

    /// Gives back a leased connection. An unusable one (``PooledConnection/isUsable`` false) is
    /// closed and replaced.
    @inlinable
    public func release(_ connection: Connection) {
        // Fast path: nobody waiting and the connection stays. One lock, no actions.
        if state.withLock({ $0.machine.releaseIfSimple(connection, now: .now) }) { return }
        releaseThroughMachine(connection)
    }

    /// ``release(_:)`` when the fast path did not apply.
    @usableFromInline
    func releaseThroughMachine(_ connection: Connection) {
        handle { $0.release(connection, now: .now) }
    }

    /// Leases a connection for the duration of `body` and releases it afterwards, also when `body` throws.
    public func withConnection<T: Sendable>(
        deadline: Deadline? = nil,
        _ body: (Connection) async throws -> T
    ) async throws -> T {
        let connection = try await lease(deadline: deadline)
        defer { release(connection) }
        return try await body(connection)
    }

    // MARK: - Lifecycle

    /// Runs maintenance (min connections, idle reaping, keep-alive, breaker retries) until the pool
    /// is shut down. Cancelling the calling task starts ``shutdown()`` and returns once it finished.
    public func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.maintain() }
                await self.waitUntilShutDown()
                group.cancelAll()
            }
        } onCancel: {
            beginShutdown()
        }
    }

    /// Stops new leases (they fail with ``ConnectionPoolError/poolClosed``) and fails queued ones,
    /// waits for outstanding leases to be released, then closes every connection.
    public func shutdown() async {
        beginShutdown()
        await waitUntilShutDown()
    }

    private func beginShutdown() {
        handle { $0.shutdown() }
    }

    private func waitUntilShutDown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.machine.isShutDown { return true }
                state.shutdownWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private var tickInterval: Duration {
        var interval = configuration.idleTimeout
        if let keepAlive = configuration.keepAliveInterval { interval = min(interval, keepAlive) }
        interval = min(interval, configuration.circuitBreakerBackoff.base)
        return max(.milliseconds(5), min(.seconds(1), interval / 4))
    }

    private func maintain() async {
        let interval = tickInterval
        while !Task.isCancelled {
            handle { $0.tick(now: .now) }
            try? await Task.sleep(for: interval)
        }
    }

    // MARK: - Running actions

    /// Feeds one event to the state machine under the lock and performs the resulting actions.
    private func handle(_ event: (inout Machine) -> Machine.Actions) {
        let work = state.withLock { state -> Work in
            let actions = event(&state.machine)
            return Self.finish(actions, in: &state)
        }
        execute(work)
    }

    /// Under the lock: disarm the timers of waiters that leave the queue, collect shutdown waiters.
    private static func finish(_ actions: Machine.Actions, in state: inout State) -> Work {
        for (id, _, _) in actions.lease {
            state.timers.removeValue(forKey: id)?.cancel()
        }
        for (id, _, _) in actions.fail {
            state.timers.removeValue(forKey: id)?.cancel()
        }
        var work = Work(actions: actions)
        if actions.shutdownCompleted {
            work.shutdownWaiters = state.shutdownWaiters
            state.shutdownWaiters = []
        }
        return work
    }

    private func execute(_ work: Work) {
        let actions = work.actions
        if let error = actions.breakerOpened {
            logger.warning(
                "connection pool circuit breaker opened; leases fail fast until the retry",
                metadata: ["error": "\(error)"])
        }
        if actions.breakerClosed {
            logger.info("connection pool connected again; circuit breaker closed")
        }
        for (_, waiter, connection) in actions.lease {
            waiter.resume(returning: connection)
        }
        for (_, waiter, error) in actions.fail {
            waiter.resume(throwing: error)
        }
        for _ in 0..<actions.connect {
            Task { await self.openConnection() }
        }
        for connection in actions.close {
            Task {
                await connection.close()
                self.handle { $0.connectionClosed(now: .now) }
            }
        }
        if let keepAlive {
            for connection in actions.keepAlive {
                Task {
                    let success: Bool
                    do {
                        try await keepAlive(connection)
                        success = true
                    } catch {
                        self.logger.debug("keep-alive failed; closing the connection", metadata: ["error": "\(error)"])
                        success = false
                    }
                    self.handle { $0.keepAliveFinished(connection, success: success, now: .now) }
                }
            }
        } else {
            for connection in actions.keepAlive {
                handle { $0.keepAliveFinished(connection, success: true, now: .now) }
            }
        }
        for waiter in work.shutdownWaiters {
            waiter.resume()
        }
    }

    private func openConnection() async {
        do {
            let connection = try await factory()
            handle { $0.connectSucceeded(connection, now: .now) }
        } catch {
            logger.debug("connection pool failed to connect", metadata: ["error": "\(error)"])
            handle { $0.connectFailed(error, now: .now) }
        }
    }
}
