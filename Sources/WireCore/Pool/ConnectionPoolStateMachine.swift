import DequeModule

/// The pool's logic without I/O: events in (lease, release, connect results, ticks), actions out
/// (hand a connection to a waiter, fail a waiter, connect, close, keep-alive).
///
/// `Waiter` is what the pool resumes (a continuation); tests use plain values. Time is passed in.
@usableFromInline
struct ConnectionPoolStateMachine<Connection: PooledConnection, Waiter: Sendable>: Sendable {
    @usableFromInline typealias Instant = ContinuousClock.Instant
    @usableFromInline typealias WaiterID = UInt64

    /// What the caller must do after an event, in this order: resume, fail, then start I/O.
    struct Actions: Sendable {
        /// Hand `connection` to the waiter.
        var lease: [(id: WaiterID, waiter: Waiter, connection: Connection)] = []
        /// Fail the waiter.
        var fail: [(id: WaiterID, waiter: Waiter, error: ConnectionPoolError)] = []
        /// Number of new connections to open; report each with `connectSucceeded` / `connectFailed`.
        var connect = 0
        /// Close these; report each with `connectionClosed()`.
        var close: [Connection] = []
        /// Run the keep-alive hook; report with `keepAliveFinished`.
        var keepAlive: [Connection] = []
        /// The waiter passed to `lease` was queued (the caller arms its lease timer).
        var waiterQueued = false
        /// Shutdown finished: every connection is closed.
        var shutdownCompleted = false
        /// The circuit breaker opened with this error (for logging).
        var breakerOpened: (any Error)?
        /// A connect succeeded while the breaker was open or half-open: it closed again.
        var breakerClosed = false
    }

    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline let connection: Connection
        @usableFromInline var leases = 0
        @usableFromInline var keepAliveInFlight = false
        /// No new leases; closed once its last lease is released.
        @usableFromInline var retired = false
        /// When the last lease was released (meaningful while `leases == 0`).
        @usableFromInline var idleSince: Instant
        /// Last lease, release or keep-alive.
        @usableFromInline var lastActivity: Instant

        var isIdle: Bool { leases == 0 && !keepAliveInFlight }
    }

    @usableFromInline
    enum Lifecycle: Sendable {
        case running
        case shuttingDown
        case shutDown
    }

    @usableFromInline let configuration: ConnectionPoolConfiguration
    // Internal setters (not private(set)) only for the inlinable fast paths below.
    @usableFromInline var entries: [Entry] = []
    @usableFromInline private(set) var waiters = Deque<(id: WaiterID, waiter: Waiter)>()
    @usableFromInline private(set) var pendingConnects = 0
    private(set) var closing = 0
    private(set) var lastError: (any Error)?
    /// The circuit breaker around connects (half-open: one trial connect in flight).
    private(set) var breaker: CircuitBreakerStateMachine
    @usableFromInline private(set) var lifecycle = Lifecycle.running
    /// Draws the breaker's backoff; replaceable in tests.
    var backoffDelay: @Sendable (Backoff, Int) -> Duration = { backoff, attempt in backoff.delay(forAttempt: attempt) }

    init(configuration: ConnectionPoolConfiguration) {
        self.configuration = configuration
        self.breaker = CircuitBreakerStateMachine(failureThreshold: configuration.circuitBreakerThreshold)
    }

    /// Consecutive connect failures while the breaker was closed.
    var consecutiveFailures: Int { breaker.consecutiveFailures }
    /// Breaker openings since the last successful connect (the backoff attempt number).
    var breakerOpenings: Int { breaker.openings }

    // MARK: - Derived state

    /// Connections open, opening or closing: what `maxConnections` limits.
    var totalConnections: Int { entries.count + pendingConnects + closing }

    var isShutDown: Bool {
        if case .shutDown = lifecycle { return true }
        return false
    }

    var statistics: ConnectionPoolStatistics {
        let circuitOpen = !breaker.isClosed
        return ConnectionPoolStatistics(
            connections: entries.count,
            leasedConnections: entries.count(where: { $0.leases > 0 }),
            leases: entries.reduce(0) { $0 + $1.leases },
            waiters: waiters.count,
            pendingConnects: pendingConnects,
            closing: closing,
            circuitOpen: circuitOpen
        )
    }

    // MARK: - Events

    /// A caller asks for a connection.
    mutating func lease(id: WaiterID, waiter: Waiter, now: Instant) -> Actions {
        var actions = Actions()
        guard case .running = lifecycle else {
            actions.fail.append((id, waiter, .poolClosed))
            return actions
        }
        // Fair: a new caller only takes a free slot if nobody is queued ahead of it.
        if waiters.isEmpty, let index = takeAvailableEntry(now: now, actions: &actions) {
            actions.lease.append((id, waiter, entries[index].connection))
        } else if breaker.isCoolingDown(now: now) {
            // No free connection and the breaker forbids connecting: fail fast.
            actions.fail.append((id, waiter, .circuitOpen(lastError: lastError ?? ConnectionPoolError.leaseTimedOut)))
        } else {
            waiters.append((id, waiter))
            actions.waiterQueued = true
        }
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// The common case of ``lease(id:waiter:now:)`` without building ``Actions``: nobody is
    /// queued, a usable connection has a free slot and there is nothing else to do (the minimum
    /// of connections is met). Takes the slot ``lease(id:waiter:now:)`` would take and returns
    /// its connection, or returns nil and changes nothing: then the full `lease` must run.
    ///
    /// Inlinable (like ``releaseIfSimple(_:now:)``) so that it is specialized for the
    /// connection type in the module that leases: unspecialized, the generic metadata lookups
    /// cost more than the pool's logic.
    @inlinable
    mutating func leaseIfAvailable(now: Instant) -> Connection? {
        guard case .running = lifecycle, waiters.isEmpty, minimumMet,
            let index = bestFreeEntry(), entries[index].connection.isUsable
        else { return nil }
        recordLease(at: index, now: now)
        return entries[index].connection
    }

    /// The common case of ``release(_:now:)`` without building ``Actions``: nobody is queued
    /// and the connection stays (usable, not retired, pool running, minimum met). Returns false
    /// and changes nothing otherwise: then the full `release` must run.
    @inlinable
    mutating func releaseIfSimple(_ connection: Connection, now: Instant) -> Bool {
        guard case .running = lifecycle, waiters.isEmpty, minimumMet,
            let index = index(of: connection), !entries[index].retired, entries[index].leases > 0,
            connection.isUsable
        else { return false }
        recordRelease(at: index, now: now)
        return true
    }

    /// Whether the live (not retired) and pending connections reach the configured minimum, so
    /// no connect is owed.
    @inlinable
    var minimumMet: Bool {
        entries.count(where: { !$0.retired }) + pendingConnects >= configuration.minConnections
    }

    /// The entry a new lease takes: not retired, a free slot (a keep-alive in flight holds one),
    /// fewest leases, then most recently active. Usability is the caller's check.
    @inlinable
    func bestFreeEntry() -> Int? {
        let capacity = configuration.leasesPerConnection
        var best: Int?
        for index in entries.indices {
            let entry = entries[index]
            guard !entry.retired, entry.leases + (entry.keepAliveInFlight ? 1 : 0) < capacity else { continue }
            if let current = best {
                let other = entries[current]
                if entry.leases < other.leases || (entry.leases == other.leases && entry.lastActivity > other.lastActivity) {
                    best = index
                }
            } else {
                best = index
            }
        }
        return best
    }

    /// Counts a lease of `entries[index]`.
    @inlinable
    mutating func recordLease(at index: Int, now: Instant) {
        entries[index].leases += 1
        entries[index].lastActivity = now
    }

    /// Counts a release of `entries[index]`.
    @inlinable
    mutating func recordRelease(at index: Int, now: Instant) {
        entries[index].leases -= 1
        entries[index].lastActivity = now
        if entries[index].leases == 0 { entries[index].idleSince = now }
    }

    /// A queued caller's task was cancelled.
    mutating func cancel(id: WaiterID) -> Actions {
        removeWaiter(id: id, error: .cancelled)
    }

    /// A queued caller's deadline passed.
    mutating func timeout(id: WaiterID) -> Actions {
        removeWaiter(id: id, error: .leaseTimedOut)
    }

    /// A caller gives back a leased connection.
    mutating func release(_ connection: Connection, now: Instant) -> Actions {
        var actions = Actions()
        guard let index = index(of: connection), entries[index].leases > 0 else { return actions }
        recordRelease(at: index, now: now)
        if !connection.isUsable { entries[index].retired = true }
        closeIfDone(index: index, actions: &actions)
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// A connect started by `actions.connect` produced a connection.
    mutating func connectSucceeded(_ connection: Connection, now: Instant) -> Actions {
        var actions = Actions()
        pendingConnects -= 1
        if breaker.recordSuccess() { actions.breakerClosed = true }
        guard case .running = lifecycle else {
            closing += 1
            actions.close.append(connection)
            return actions
        }
        entries.append(Entry(connection: connection, idleSince: now, lastActivity: now))
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// A connect started by `actions.connect` failed.
    mutating func connectFailed(_ error: any Error, now: Instant) -> Actions {
        var actions = Actions()
        pendingConnects -= 1
        lastError = error
        guard case .running = lifecycle else {
            checkShutdown(actions: &actions)
            return actions
        }
        // While half-open the only connect in flight is the trial (see mayConnect).
        let trial: Bool
        if case .halfOpen = breaker.state { trial = true } else { trial = false }
        let (backoff, delay) = (configuration.circuitBreakerBackoff, backoffDelay)
        if breaker.recordFailure(probe: trial, now: now, coolDown: { delay(backoff, $0) }) {
            failWaiters(breakerOpenedBy: error, actions: &actions)
        }
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// A `close` action finished.
    mutating func connectionClosed(now: Instant) -> Actions {
        var actions = Actions()
        closing -= 1
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// A keep-alive action finished; a failure closes the connection.
    mutating func keepAliveFinished(_ connection: Connection, success: Bool, now: Instant) -> Actions {
        var actions = Actions()
        guard let index = index(of: connection) else { return actions }
        entries[index].keepAliveInFlight = false
        entries[index].lastActivity = now
        if !success || !connection.isUsable { entries[index].retired = true }
        closeIfDone(index: index, actions: &actions)
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// Periodic maintenance: drop unusable idle connections, reap idle ones beyond the minimum,
    /// start keep-alives, refill to the minimum, and end an expired breaker period.
    mutating func tick(now: Instant) -> Actions {
        var actions = Actions()
        guard case .running = lifecycle else { return actions }
        // Idle connections the peer closed.
        for index in entries.indices.reversed() where entries[index].isIdle && !entries[index].connection.isUsable {
            entries[index].retired = true
            closeIfDone(index: index, actions: &actions)
        }
        // Idle reaping, oldest idle first, keeping minConnections.
        var live = entries.count(where: { !$0.retired })
        let expired = entries.indices
            .filter { entries[$0].isIdle && !entries[$0].retired && entries[$0].idleSince.duration(to: now) >= configuration.idleTimeout }
            .sorted { entries[$0].idleSince < entries[$1].idleSince }
            .map { ObjectIdentifier(entries[$0].connection) }
        for id in expired where live > configuration.minConnections {
            guard let index = entries.firstIndex(where: { ObjectIdentifier($0.connection) == id }) else { continue }
            entries[index].retired = true
            closeIfDone(index: index, actions: &actions)
            live -= 1
        }
        // Keep-alive on idle connections.
        if let interval = configuration.keepAliveInterval {
            for index in entries.indices
            where entries[index].isIdle && !entries[index].retired && entries[index].lastActivity.duration(to: now) >= interval {
                entries[index].keepAliveInFlight = true
                entries[index].lastActivity = now
                actions.keepAlive.append(entries[index].connection)
            }
        }
        rebalance(now: now, actions: &actions)
        return actions
    }

    /// Stop taking leases: fail the queue, close idle connections now and leased ones on release.
    mutating func shutdown() -> Actions {
        var actions = Actions()
        guard case .running = lifecycle else { return actions }
        lifecycle = .shuttingDown
        while let (id, waiter) = waiters.popFirst() {
            actions.fail.append((id, waiter, .poolClosed))
        }
        for index in entries.indices.reversed() {
            closeIfDone(index: index, actions: &actions)
        }
        checkShutdown(actions: &actions)
        return actions
    }

    // MARK: - Internals

    @inlinable
    func index(of connection: Connection) -> Int? {
        let id = ObjectIdentifier(connection)
        return entries.firstIndex { ObjectIdentifier($0.connection) == id }
    }

    private mutating func removeWaiter(id: WaiterID, error: ConnectionPoolError) -> Actions {
        var actions = Actions()
        if let position = waiters.firstIndex(where: { $0.id == id }) {
            let removed = waiters.remove(at: position)
            actions.fail.append((removed.id, removed.waiter, error))
        }
        return actions
    }

    /// Closes the entry at `index` if it may go: retired or shutting down, with no lease and no
    /// keep-alive in flight.
    private mutating func closeIfDone(index: Int, actions: inout Actions) {
        let entry = entries[index]
        let shuttingDown: Bool
        if case .running = lifecycle { shuttingDown = false } else { shuttingDown = true }
        guard entry.isIdle, entry.retired || shuttingDown else { return }
        entries.remove(at: index)
        closing += 1
        actions.close.append(entry.connection)
    }

    /// The index of a connection with a free lease slot (fewest leases, then most recently used),
    /// with one lease taken; unusable connections met on the way are retired.
    private mutating func takeAvailableEntry(now: Instant, actions: inout Actions) -> Int? {
        while let index = bestFreeEntry() {
            if entries[index].connection.isUsable {
                recordLease(at: index, now: now)
                return index
            }
            entries[index].retired = true
            closeIfDone(index: index, actions: &actions)
        }
        return nil
    }

    /// Whether a new connect may start now (moving an expired open breaker to half-open, once no
    /// connect is in flight).
    private mutating func mayConnect(now: Instant) -> Bool {
        switch breaker.state {
        case .closed:
            return true
        case .open where pendingConnects > 0 || breaker.isCoolingDown(now: now), .halfOpen(probing: true):
            return false
        case .open, .halfOpen(probing: false):
            guard case .allowed = breaker.admit(now: now) else { return false }
            return true
        }
    }

    private mutating func connect(actions: inout Actions) {
        pendingConnects += 1
        actions.connect += 1
    }

    /// Serves queued waiters from free slots, then opens connections for unmet demand and for
    /// `minConnections`.
    private mutating func rebalance(now: Instant, actions: inout Actions) {
        guard case .running = lifecycle else {
            checkShutdown(actions: &actions)
            return
        }
        while !waiters.isEmpty, let index = takeAvailableEntry(now: now, actions: &actions) {
            let (id, waiter) = waiters.removeFirst()
            actions.lease.append((id, waiter, entries[index].connection))
        }
        let capacity = configuration.leasesPerConnection
        while waiters.count > pendingConnects * capacity,
            totalConnections < configuration.maxConnections,
            mayConnect(now: now)
        {
            connect(actions: &actions)
        }
        while !minimumMet,
            totalConnections < configuration.maxConnections,
            mayConnect(now: now)
        {
            connect(actions: &actions)
        }
    }

    private mutating func failWaiters(breakerOpenedBy error: any Error, actions: inout Actions) {
        actions.breakerOpened = error
        while let (id, waiter) = waiters.popFirst() {
            actions.fail.append((id, waiter, .circuitOpen(lastError: error)))
        }
    }

    private mutating func checkShutdown(actions: inout Actions) {
        guard case .shuttingDown = lifecycle, entries.isEmpty, pendingConnects == 0, closing == 0 else { return }
        lifecycle = .shutDown
        actions.shutdownCompleted = true
    }
}
