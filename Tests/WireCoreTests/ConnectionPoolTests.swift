import Logging
import Synchronization
import Testing
@testable import WireCore

/// The pool under real concurrency, with a test connection factory injecting failures.
@Suite struct ConnectionPoolTests {
    let logger = Logger(label: "wirestack.test.pool")

    func makePool(
        _ configuration: ConnectionPoolConfiguration,
        tracker: ConnectionTracker,
        keepAlive: (@Sendable (TestConnection) async throws -> Void)? = nil
    ) -> ConnectionPool<TestConnection> {
        // Tests that leave leaseTimeout at its 10 s default are not about timeouts: give them 60 s so
        // a test process starved by blocking work in other suites does not fail them spuriously.
        var configuration = configuration
        if configuration.leaseTimeout == .seconds(10) { configuration.leaseTimeout = .seconds(60) }
        return ConnectionPool(configuration: configuration, logger: logger, factory: { try await tracker.make() }, keepAlive: keepAlive)
    }

    @Test func twoHundredTasksNeverExceedMaxConnections() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 8, leaseTimeout: .seconds(30)), tracker: tracker)
        let served = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await pool.withConnection { connection in
                        let holders = connection.enter()
                        try await Task.sleep(for: .milliseconds(2))
                        connection.leave()
                        return holders
                    }
                }
            }
            var served = 0
            for try await holders in group {
                #expect(holders == 1, "a connection with leasesPerConnection 1 was shared")
                served += 1
            }
            return served
        }
        #expect(served == 200)
        let state = tracker.snapshot
        #expect(state.maxOpen <= 8)
        #expect(state.created <= 8)
        #expect(state.connections.allSatisfy { $0.maxHolders == 1 })
        let stats = pool.statistics
        #expect(stats.leases == 0 && stats.waiters == 0)
        await pool.shutdown()
        #expect(tracker.snapshot.open == 0)
    }

    @Test func twoHundredTasksWithInjectedConnectFailuresAndBrokenConnections() async throws {
        let tracker = ConnectionTracker()
        tracker.failEvery(3)  // every third connect fails
        let pool = makePool(
            .init(maxConnections: 8, leaseTimeout: .seconds(30), circuitBreakerThreshold: 10), tracker: tracker)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let connection = try await pool.lease()
                    #expect(connection.isUsable)
                    #expect(connection.enter() == 1)
                    try await Task.sleep(for: .milliseconds(1))
                    connection.leave()
                    // Every tenth user breaks its connection (as a protocol error would).
                    if index % 10 == 0 { connection.markUnusable() }
                    pool.release(connection)
                }
            }
            try await group.waitForAll()
        }
        let state = tracker.snapshot
        #expect(state.maxOpen <= 8)
        #expect(state.attempts - state.created == state.attempts / 3, "every third connect failed and was retried")
        #expect(state.created >= 20, "the 20 broken connections were replaced")
        #expect(!pool.statistics.circuitOpen)
        await pool.shutdown()
        #expect(tracker.snapshot.open == 0)
        #expect(tracker.snapshot.connections.allSatisfy { $0.isClosed })
    }

    @Test func sharedConnectionsUnderLoad() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 3, leasesPerConnection: 4, leaseTimeout: .seconds(30)), tracker: tracker)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await pool.withConnection { connection in
                        connection.enter()
                        try await Task.sleep(for: .milliseconds(1))
                        connection.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        let state = tracker.snapshot
        #expect(state.maxOpen <= 3)
        #expect(state.connections.allSatisfy { $0.maxHolders <= 4 })
        #expect(state.connections.contains { $0.maxHolders > 1 }, "multiplexed connections were never shared")
        await pool.shutdown()
    }

    @Test func leasesPerConnectionShareOneConnection() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 2, leasesPerConnection: 3), tracker: tracker)
        var leased: [TestConnection] = []
        for _ in 0..<6 {
            leased.append(try await pool.lease())
        }
        #expect(Set(leased.map(\.id)).count == 2)
        #expect(tracker.snapshot.created == 2)
        await #expect {
            _ = try await pool.lease(deadline: .after(.milliseconds(50)))
        } throws: { error in
            if case ConnectionPoolError.leaseTimedOut = error { return true }
            return false
        }
        pool.release(leased.removeLast())
        let again = try await pool.lease(deadline: .after(.seconds(60)))
        leased.append(again)
        #expect(tracker.snapshot.created == 2)
        for connection in leased { pool.release(connection) }
        await pool.shutdown()
    }

    @Test func waitersAreServedInFIFOOrder() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 1, leaseTimeout: .seconds(30)), tracker: tracker)
        let held = try await pool.lease()
        let order = Locked<[Int]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask {
                    let connection = try await pool.lease()
                    order.withLock { $0.append(index) }
                    pool.release(connection)
                }
                // Each waiter is queued before the next one starts.
                #expect(await eventually { pool.statistics.waiters == index + 1 })
            }
            pool.release(held)
            try await group.waitForAll()
        }
        #expect(order.withLock { $0 } == Array(0..<12))
        #expect(tracker.snapshot.created == 1)
        await pool.shutdown()
    }

    @Test func leaseTimesOut() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 1, leaseTimeout: .milliseconds(80)), tracker: tracker)
        let held = try await pool.lease(deadline: .after(.seconds(60)))
        let start = ContinuousClock.now
        await #expect {
            _ = try await pool.lease()  // the configured leaseTimeout
        } throws: { error in
            if case ConnectionPoolError.leaseTimedOut = error { return true }
            return false
        }
        #expect(ContinuousClock.now - start >= .milliseconds(80))
        await #expect {
            _ = try await pool.lease(deadline: .after(.milliseconds(20)))
        } throws: { error in
            if case ConnectionPoolError.leaseTimedOut = error { return true }
            return false
        }
        #expect(pool.statistics.waiters == 0)
        pool.release(held)
        let again = try await pool.lease(deadline: .after(.seconds(60)))
        #expect(again === held)
        pool.release(again)
        await pool.shutdown()
    }

    @Test func cancellingAWaitingLeaseRemovesTheWaiter() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 1, leaseTimeout: .seconds(30)), tracker: tracker)
        let held = try await pool.lease()
        let waiting = Task { try await pool.lease() }
        #expect(await eventually { pool.statistics.waiters == 1 })
        waiting.cancel()
        let result = await waiting.result
        guard case .failure(ConnectionPoolError.cancelled) = result else {
            Issue.record("expected .cancelled, got \(result)")
            return
        }
        #expect(pool.statistics.waiters == 0)
        // The connection goes to the next caller, not to the cancelled one.
        pool.release(held)
        let next = try await pool.lease(deadline: .after(.seconds(60)))
        #expect(next === held)
        pool.release(next)
        await pool.shutdown()
    }

    @Test func alreadyCancelledTaskDoesNotWaitForever() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 1, leaseTimeout: .seconds(30)), tracker: tracker)
        let held = try await pool.lease()
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await pool.lease()
        }
        let result = await waiting.result
        guard case .failure(ConnectionPoolError.cancelled) = result else {
            Issue.record("expected .cancelled, got \(result)")
            return
        }
        pool.release(held)
        await pool.shutdown()
    }

    @Test func circuitBreakerOpensFailsFastAndRecovers() async throws {
        let tracker = ConnectionTracker()
        tracker.setFailing(true)
        let pool = makePool(
            .init(
                maxConnections: 4, leaseTimeout: .seconds(10), circuitBreakerThreshold: 3,
                circuitBreakerBackoff: Backoff(base: .milliseconds(500), cap: .seconds(4), jitter: false)),
            tracker: tracker)
        // The first lease waits while the pool retries; the third failure opens the breaker.
        await #expect {
            _ = try await pool.lease()
        } throws: { error in
            guard case ConnectionPoolError.circuitOpen(let last) = error else { return false }
            return last is InjectedConnectError
        }
        #expect(tracker.snapshot.attempts == 3)
        #expect(pool.statistics.circuitOpen)

        // While open (500 ms), leases fail at once with the breaker error and nothing connects.
        for _ in 0..<20 {
            await #expect {
                _ = try await pool.lease()
            } throws: { error in
                if case ConnectionPoolError.circuitOpen = error { return true }
                return false
            }
        }
        #expect(tracker.snapshot.attempts == 3)

        // After the pause one trial connect runs; it fails, so the breaker reopens (longer pause).
        try await Task.sleep(for: .milliseconds(550))
        await #expect {
            _ = try await pool.lease()
        } throws: { error in
            if case ConnectionPoolError.circuitOpen = error { return true }
            return false
        }
        #expect(tracker.snapshot.attempts == 4)

        // The server comes back: after the (doubled) pause the trial succeeds and the breaker closes.
        tracker.setFailing(false)
        await #expect(throws: ConnectionPoolError.self) { _ = try await pool.lease() }
        try await Task.sleep(for: .milliseconds(1050))
        let connection = try await pool.lease()
        #expect(!pool.statistics.circuitOpen)
        #expect(tracker.snapshot.attempts == 5)
        pool.release(connection)
        await pool.shutdown()
    }

    @Test func runRetriesAfterBreakerPauseForMinConnections() async throws {
        let tracker = ConnectionTracker()
        tracker.setFailing(true)
        let pool = makePool(
            .init(
                minConnections: 2, maxConnections: 4, circuitBreakerThreshold: 2,
                circuitBreakerBackoff: Backoff(base: .milliseconds(100), cap: .milliseconds(100), jitter: false)),
            tracker: tracker)
        let runner = Task { await pool.run() }
        #expect(await eventually { pool.statistics.circuitOpen })
        tracker.setFailing(false)
        #expect(await eventually { pool.statistics.connections == 2 && !pool.statistics.circuitOpen })
        runner.cancel()
        await runner.value
        #expect(tracker.snapshot.open == 0)
    }

    @Test func unusableConnectionIsDiscardedOnRelease() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 1), tracker: tracker)
        let first = try await pool.lease()
        first.markUnusable()
        pool.release(first)
        let second = try await pool.lease()
        #expect(second !== first)
        #expect(await eventually { first.isClosed })
        #expect(tracker.snapshot.maxOpen == 1)
        pool.release(second)
        await pool.shutdown()
    }

    @Test func idleConnectionsAreReapedDownToMinimum() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(minConnections: 1, maxConnections: 4, idleTimeout: .milliseconds(100)), tracker: tracker)
        let runner = Task { await pool.run() }
        var held: [TestConnection] = []
        for _ in 0..<4 { held.append(try await pool.lease()) }
        #expect(pool.statistics.connections == 4)
        for connection in held { pool.release(connection) }
        #expect(await eventually { pool.statistics.connections == 1 })
        #expect(await eventually { tracker.snapshot.closed == 3 })
        #expect(tracker.snapshot.open == 1)
        #expect(tracker.snapshot.created == 4)
        await pool.shutdown()
        await runner.value
        #expect(tracker.snapshot.open == 0)
    }

    @Test func runOpensMinimumConnections() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(minConnections: 3, maxConnections: 5), tracker: tracker)
        let runner = Task { await pool.run() }
        #expect(await eventually { pool.statistics.connections == 3 })
        #expect(tracker.snapshot.created == 3)
        await pool.shutdown()
        await runner.value
    }

    @Test func failingKeepAliveClosesThatConnection() async throws {
        let tracker = ConnectionTracker()
        let pings = Locked<[Int]>([])
        let badID = 1
        let pool = makePool(
            .init(maxConnections: 2, idleTimeout: .seconds(60), keepAliveInterval: .milliseconds(40)),
            tracker: tracker,
            keepAlive: { connection in
                pings.withLock { $0.append(connection.id) }
                if connection.id == badID { throw InjectedConnectError() }
            })
        let a = try await pool.lease()
        let b = try await pool.lease()
        pool.release(a)
        pool.release(b)
        let runner = Task { await pool.run() }
        let bad = a.id == badID ? a : b
        let good = a.id == badID ? b : a
        #expect(await eventually { bad.isClosed })
        #expect(await eventually { pings.withLock { $0.filter { $0 == good.id }.count } >= 2 })
        #expect(!good.isClosed)
        #expect(pool.statistics.connections == 1)
        await pool.shutdown()
        await runner.value
    }

    @Test func shutdownWaitsForOutstandingLeases() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 2), tracker: tracker)
        let held = try await pool.lease()
        let extra = try await pool.lease()
        let queued = Task { try await pool.lease(deadline: .after(.seconds(60))) }
        #expect(await eventually { pool.statistics.waiters == 1 })

        let finished = Locked(false)
        let shutdown = Task {
            await pool.shutdown()
            finished.withLock { $0 = true }
        }
        // Queued leases fail, new ones are refused, leased connections stay open.
        await #expect {
            _ = try await queued.value
        } throws: { error in
            if case ConnectionPoolError.poolClosed = error { return true }
            return false
        }
        await #expect {
            _ = try await pool.lease()
        } throws: { error in
            if case ConnectionPoolError.poolClosed = error { return true }
            return false
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!finished.value)
        #expect(!held.isClosed && !extra.isClosed)

        pool.release(held)
        #expect(await eventually { held.isClosed })
        #expect(!finished.value)
        pool.release(extra)
        await shutdown.value
        #expect(finished.value)
        #expect(tracker.snapshot.open == 0)
    }

    @Test func cancellingRunShutsThePoolDown() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(minConnections: 2, maxConnections: 2), tracker: tracker)
        let runner = Task { await pool.run() }
        #expect(await eventually { pool.statistics.connections == 2 })
        runner.cancel()
        await runner.value
        #expect(tracker.snapshot.open == 0)
        await #expect {
            _ = try await pool.lease()
        } throws: { error in
            if case ConnectionPoolError.poolClosed = error { return true }
            return false
        }
    }

    @Test func withConnectionReleasesWhenBodyThrows() async throws {
        let tracker = ConnectionTracker()
        let pool = makePool(.init(maxConnections: 1), tracker: tracker)
        await #expect(throws: InjectedConnectError.self) {
            try await pool.withConnection { _ in throw InjectedConnectError() }
        }
        #expect(pool.statistics.leases == 0)
        let value = try await pool.withConnection(deadline: .after(.seconds(60))) { $0.id }
        #expect(value == 1)
        await pool.shutdown()
    }
}
