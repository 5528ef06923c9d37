import Testing
@testable import WireCore

/// The pool's sans-I/O state machine driven with plain values and a synthetic clock.
@Suite struct ConnectionPoolStateMachineTests {
    typealias Machine = ConnectionPoolStateMachine<TestConnection, String>

    let tracker = ConnectionTracker()
    let t0 = ContinuousClock.now

    func connection(_ id: Int) -> TestConnection { TestConnection(id: id, tracker: tracker) }

    func machine(_ configuration: ConnectionPoolConfiguration) -> Machine {
        var machine = Machine(configuration: configuration)
        machine.backoffDelay = { backoff, attempt in backoff.ceiling(forAttempt: attempt) }
        return machine
    }

    @Test func leaseConnectsThenServesWaitersFIFO() {
        var m = machine(.init(maxConnections: 1))
        var a = m.lease(id: 1, waiter: "w1", now: t0)
        #expect(a.waiterQueued && a.connect == 1)
        a = m.lease(id: 2, waiter: "w2", now: t0)
        #expect(a.waiterQueued && a.connect == 0, "max 1: no second connect")
        a = m.lease(id: 3, waiter: "w3", now: t0)
        let c = connection(1)
        a = m.connectSucceeded(c, now: t0)
        #expect(a.lease.map(\.waiter) == ["w1"])
        a = m.release(c, now: t0)
        #expect(a.lease.map(\.waiter) == ["w2"])
        a = m.release(c, now: t0)
        #expect(a.lease.map(\.waiter) == ["w3"])
        a = m.release(c, now: t0)
        #expect(a.lease.isEmpty && m.statistics.leases == 0)
        // A new caller gets the idle connection at once.
        a = m.lease(id: 4, waiter: "w4", now: t0)
        #expect(!a.waiterQueued && a.lease.map(\.waiter) == ["w4"])
    }

    @Test func newCallerDoesNotOvertakeQueue() {
        var m = machine(.init(maxConnections: 2, leasesPerConnection: 1))
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.lease(id: 2, waiter: "w2", now: t0)
        #expect(m.pendingConnects == 2)
        let c1 = connection(1)
        var a = m.connectSucceeded(c1, now: t0)
        #expect(a.lease.map(\.waiter) == ["w1"])
        a = m.lease(id: 3, waiter: "w3", now: t0)
        #expect(a.waiterQueued)
        a = m.connectSucceeded(connection(2), now: t0)
        #expect(a.lease.map(\.waiter) == ["w2"])
    }

    @Test func leasesPerConnectionLimitsConnects() {
        var m = machine(.init(maxConnections: 4, leasesPerConnection: 3))
        for id in 1...5 { _ = m.lease(id: UInt64(id), waiter: "w\(id)", now: t0) }
        #expect(m.pendingConnects == 2, "5 waiters need 2 connections of 3 slots")
        let a = m.connectSucceeded(connection(1), now: t0)
        #expect(a.lease.map(\.waiter) == ["w1", "w2", "w3"])
    }

    @Test func cancelAndTimeoutRemoveOnlyTheirWaiter() {
        var m = machine(.init(maxConnections: 1))
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.lease(id: 2, waiter: "w2", now: t0)
        _ = m.lease(id: 3, waiter: "w3", now: t0)
        var a = m.cancel(id: 2)
        #expect(a.fail.map(\.waiter) == ["w2"])
        a = m.timeout(id: 2)
        #expect(a.fail.isEmpty, "already gone")
        a = m.timeout(id: 1)
        #expect(a.fail.map(\.waiter) == ["w1"])
        a = m.connectSucceeded(connection(1), now: t0)
        #expect(a.lease.map(\.waiter) == ["w3"])
    }

    @Test func breakerOpensAfterThresholdAndHalfOpensAfterBackoff() {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(8), jitter: false)
        var m = machine(.init(maxConnections: 2, circuitBreakerThreshold: 2, circuitBreakerBackoff: backoff))
        var a = m.lease(id: 1, waiter: "w1", now: t0)
        #expect(a.connect == 1)
        a = m.connectFailed(InjectedConnectError(), now: t0)
        #expect(a.connect == 1 && a.fail.isEmpty, "below threshold: retry for the waiter")
        a = m.connectFailed(InjectedConnectError(), now: t0)
        #expect(a.fail.map(\.waiter) == ["w1"] && a.breakerOpened != nil)
        // Open: fail fast, no connect.
        a = m.lease(id: 2, waiter: "w2", now: t0.advanced(by: .milliseconds(999)))
        #expect(a.fail.count == 1 && a.connect == 0)
        // Period over: the next lease queues and starts exactly one trial connect.
        a = m.lease(id: 3, waiter: "w3", now: t0.advanced(by: .seconds(1)))
        #expect(a.waiterQueued && a.connect == 1)
        a = m.lease(id: 4, waiter: "w4", now: t0.advanced(by: .seconds(1)))
        #expect(a.waiterQueued && a.connect == 0, "half-open: one trial at a time")
        // Trial fails: reopen with the next (doubled) backoff, fail the queue.
        a = m.connectFailed(InjectedConnectError(), now: t0.advanced(by: .seconds(1)))
        #expect(a.fail.map(\.waiter) == ["w3", "w4"])
        a = m.lease(id: 5, waiter: "w5", now: t0.advanced(by: .milliseconds(2900)))
        #expect(a.fail.count == 1)
        a = m.lease(id: 6, waiter: "w6", now: t0.advanced(by: .seconds(3)))
        #expect(a.connect == 1)
        // Trial succeeds: closed again, counters reset.
        a = m.connectSucceeded(connection(1), now: t0.advanced(by: .seconds(3)))
        #expect(a.lease.map(\.waiter) == ["w6"])
        #expect(!m.statistics.circuitOpen && m.consecutiveFailures == 0 && m.breakerOpenings == 0)
    }

    @Test func tickHalfOpensForMinimumConnections() {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(1), jitter: false)
        var m = machine(.init(minConnections: 1, maxConnections: 2, circuitBreakerThreshold: 1, circuitBreakerBackoff: backoff))
        var a = m.tick(now: t0)
        #expect(a.connect == 1)
        a = m.connectFailed(InjectedConnectError(), now: t0)
        #expect(a.connect == 0 && m.statistics.circuitOpen)
        a = m.tick(now: t0.advanced(by: .milliseconds(500)))
        #expect(a.connect == 0)
        a = m.tick(now: t0.advanced(by: .seconds(1)))
        #expect(a.connect == 1)
    }

    @Test func closingConnectionsCountTowardsMax() {
        var m = machine(.init(maxConnections: 1))
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        let c = connection(1)
        _ = m.connectSucceeded(c, now: t0)
        c.markUnusable()
        var a = m.release(c, now: t0)
        #expect(a.close.count == 1)
        a = m.lease(id: 2, waiter: "w2", now: t0)
        #expect(a.waiterQueued && a.connect == 0, "the old connection is still closing")
        a = m.connectionClosed(now: t0)
        #expect(a.connect == 1)
    }

    @Test func idleReapingKeepsMinimumAndClosesOldestFirst() {
        var m = machine(.init(minConnections: 1, maxConnections: 3, idleTimeout: .seconds(10)))
        let conns = (1...3).map(connection)
        for (i, c) in conns.enumerated() {
            _ = m.lease(id: UInt64(i), waiter: "w\(i)", now: t0)
            _ = m.connectSucceeded(c, now: t0)
        }
        _ = m.release(conns[2], now: t0)
        _ = m.release(conns[0], now: t0.advanced(by: .seconds(1)))
        _ = m.release(conns[1], now: t0.advanced(by: .seconds(2)))
        var a = m.tick(now: t0.advanced(by: .seconds(5)))
        #expect(a.close.isEmpty)
        a = m.tick(now: t0.advanced(by: .seconds(12)))
        #expect(a.close.map(\.id) == [3, 1])
        #expect(m.statistics.connections == 1)
    }

    @Test func keepAliveTakesTheSlotAndFailureRetires() {
        var m = machine(.init(maxConnections: 1, keepAliveInterval: .seconds(1)))
        let c = connection(1)
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.connectSucceeded(c, now: t0)
        _ = m.release(c, now: t0)
        var a = m.tick(now: t0.advanced(by: .seconds(1)))
        #expect(a.keepAlive.map(\.id) == [1])
        a = m.lease(id: 2, waiter: "w2", now: t0.advanced(by: .seconds(1)))
        #expect(a.waiterQueued, "keep-alive in flight: the connection is busy")
        a = m.keepAliveFinished(c, success: false, now: t0.advanced(by: .seconds(1)))
        #expect(a.close.map(\.id) == [1])
        a = m.connectionClosed(now: t0.advanced(by: .seconds(1)))
        #expect(a.connect == 1)
    }

    @Test func shutdownFailsQueueAndWaitsForLeases() {
        var m = machine(.init(maxConnections: 1))
        let c = connection(1)
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.connectSucceeded(c, now: t0)
        _ = m.lease(id: 2, waiter: "w2", now: t0)
        var a = m.shutdown()
        #expect(a.fail.map(\.waiter) == ["w2"] && a.close.isEmpty && !a.shutdownCompleted)
        a = m.lease(id: 3, waiter: "w3", now: t0)
        #expect(a.fail.count == 1)
        a = m.release(c, now: t0)
        #expect(a.close.map(\.id) == [1] && !a.shutdownCompleted)
        a = m.connectionClosed(now: t0)
        #expect(a.shutdownCompleted && m.isShutDown)
    }

    // MARK: - Fast paths (leaseIfAvailable / releaseIfSimple)

    @Test func fastLeaseTakesTheSlotTheFullLeaseWouldTake() {
        var m = machine(.init(maxConnections: 2, leasesPerConnection: 2))
        let r1 = m.leaseIfAvailable(now: t0)
        #expect(r1 == nil, "no connection yet: the full lease connects")
        #expect(m.pendingConnects == 0, "a declined fast path changes nothing")
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.lease(id: 2, waiter: "w2", now: t0)
        _ = m.lease(id: 3, waiter: "w3", now: t0)
        let c1 = connection(1), c2 = connection(2)
        _ = m.connectSucceeded(c1, now: t0)   // w1, w2
        _ = m.connectSucceeded(c2, now: t0.advanced(by: .seconds(1)))   // w3
        #expect(m.statistics.leases == 3)
        // Fewest leases first: c2 has one, c1 two (full).
        let r2 = m.leaseIfAvailable(now: t0)
        #expect(r2?.id == 2)
        let r3 = m.leaseIfAvailable(now: t0)
        #expect(r3 == nil, "every slot taken")
        #expect(m.statistics.leases == 4)
        // Released slots are taken again; most recently used first among equals.
        let released1 = m.releaseIfSimple(c1, now: t0.advanced(by: .seconds(2)))
        let released2 = m.releaseIfSimple(c2, now: t0.advanced(by: .seconds(3)))
        #expect(released1 && released2)
        let again = m.leaseIfAvailable(now: t0.advanced(by: .seconds(4)))
        #expect(again?.id == 2)
        #expect(m.statistics.leases == 3)
    }

    @Test func fastPathsDeclineWhenCallersAreQueued() {
        var m = machine(.init(maxConnections: 1, leasesPerConnection: 1))
        let c = connection(1)
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.connectSucceeded(c, now: t0)
        var a = m.lease(id: 2, waiter: "w2", now: t0)
        #expect(a.waiterQueued)
        let r4 = m.releaseIfSimple(c, now: t0)
        #expect(!r4, "a queued caller must get the released slot")
        #expect(m.statistics.leases == 1)
        a = m.release(c, now: t0)
        #expect(a.lease.map(\.waiter) == ["w2"])
        let r5 = m.leaseIfAvailable(now: t0)
        #expect(r5 == nil, "no free slot")
    }

    @Test func fastPathsLeaveUnusableConnectionsToTheFullPath() {
        var m = machine(.init(maxConnections: 2, leasesPerConnection: 4))
        let c = connection(1)
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        _ = m.connectSucceeded(c, now: t0)
        let r6 = m.leaseIfAvailable(now: t0)
        #expect(r6?.id == 1)
        c.markUnusable()
        let r7 = m.releaseIfSimple(c, now: t0)
        #expect(!r7, "an unusable connection is retired by the full release")
        var a = m.release(c, now: t0)
        #expect(a.close.isEmpty, "still leased once")
        let r8 = m.leaseIfAvailable(now: t0)
        #expect(r8 == nil, "retired: no new leases")
        a = m.release(c, now: t0)
        #expect(a.close.map(\.id) == [1])
    }

    @Test func fastPathsDeclineWhenTheMinimumIsNotMetOrThePoolIsShuttingDown() {
        var m = machine(.init(minConnections: 2, maxConnections: 3, circuitBreakerThreshold: 1))
        let c = connection(1)
        _ = m.lease(id: 1, waiter: "w1", now: t0)
        #expect(m.pendingConnects == 2, "the waiter's connect plus one for the minimum")
        _ = m.connectSucceeded(c, now: t0)
        _ = m.connectFailed(InjectedConnectError(), now: t0)
        #expect(m.pendingConnects == 0, "the open breaker holds the reconnect back")
        let later = t0.advanced(by: .seconds(60))
        let r9 = m.releaseIfSimple(c, now: later)
        #expect(!r9, "below the minimum: the full release reconnects")
        #expect(m.statistics.leases == 1, "a declined fast path changes nothing")
        let a = m.release(c, now: later)
        #expect(a.connect == 1)
        _ = m.connectSucceeded(connection(2), now: t0)
        let r10 = m.leaseIfAvailable(now: t0)
        #expect(r10 != nil)
        _ = m.shutdown()
        let r11 = m.leaseIfAvailable(now: t0)
        #expect(r11 == nil)
        let r12 = m.releaseIfSimple(c, now: t0)
        #expect(!r12)
    }
}
