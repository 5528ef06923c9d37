import Synchronization
import Testing
import WireCore

/// A clock the tests step by hand, so cool-downs pass without sleeping.
private final class StepClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(_ duration: Duration) { instant.withLock { $0 = $0.advanced(by: duration) } }
}

/// The state changes a breaker reported.
private final class StateLog: Sendable {
    private let states = Mutex<[CircuitBreaker.State]>([])
    func append(_ state: CircuitBreaker.State) { states.withLock { $0.append(state) } }
    var all: [CircuitBreaker.State] { states.withLock { $0 } }
}

private struct PeerDown: Error {}
private struct NotFound: Error {}

@Suite struct CircuitBreakerTests {
    private func breaker(_ clock: StepClock, threshold: Int = 3, coolDown: Duration = .seconds(10),
                         changes: StateLog? = nil) -> CircuitBreaker {
        CircuitBreaker(name: "test peer", configuration: CircuitBreakerConfiguration(failureThreshold: threshold, coolDown: coolDown),
                       now: { clock.now }, onStateChange: { state in changes?.append(state) })
    }

    private func fail(_ breaker: CircuitBreaker) async {
        await #expect(throws: PeerDown.self) { try await breaker.run { () async throws -> Int in throw PeerDown() } }
    }

    @Test func opensAfterConsecutiveFailuresAndFailsFast() async throws {
        let clock = StepClock()
        let breaker = breaker(clock)
        await fail(breaker)
        await fail(breaker)
        #expect(breaker.state == .closed(failures: 2))
        #expect(!breaker.isOpen)
        await fail(breaker)
        #expect(breaker.isOpen)
        let calls = Atomic(0)
        do {
            _ = try await breaker.run { calls.add(1, ordering: .relaxed) }
            Issue.record("an open breaker ran the operation")
        } catch let error as CircuitBreakerOpenError {
            #expect(error.name == "test peer")
            #expect(error.retryAfter == .seconds(10))
            #expect(error.lastFailure.contains("PeerDown"))
            #expect(error.description.contains("open"))
        }
        #expect(calls.load(ordering: .relaxed) == 0)
    }

    @Test func successResetsTheCount() async throws {
        let clock = StepClock()
        let breaker = breaker(clock)
        await fail(breaker)
        await fail(breaker)
        #expect(try await breaker.run { 1 } == 1)
        #expect(breaker.state == .closed(failures: 0))
        await fail(breaker)
        await fail(breaker)
        #expect(!breaker.isOpen)
    }

    @Test func errorsThatAreAnswersDoNotCount() async throws {
        let clock = StepClock()
        let breaker = breaker(clock, threshold: 1)
        await #expect(throws: NotFound.self) {
            try await breaker.run(isFailure: { !($0 is NotFound) }) { () async throws -> Int in throw NotFound() }
        }
        #expect(breaker.state == .closed(failures: 0))
    }

    @Test func halfOpenProbeClosesOnSuccess() async throws {
        let clock = StepClock()
        let changes = StateLog()
        let breaker = breaker(clock, threshold: 1, changes: changes)
        await fail(breaker)
        clock.advance(.seconds(9))
        #expect(throws: CircuitBreakerOpenError.self) { _ = try breaker.acquire() }
        clock.advance(.seconds(1))
        // The first call after the cool-down is the probe; others fail fast meanwhile.
        let probe = try breaker.acquire()
        #expect(probe)
        #expect(breaker.state == .halfOpen(probing: true))
        #expect(throws: CircuitBreakerOpenError.self) { _ = try breaker.acquire() }
        breaker.record(.success, probe: true)
        #expect(breaker.state == .closed(failures: 0))
        #expect(try breaker.acquire() == false)
        let kinds = changes.all
        #expect(kinds.count == 3)
        if case .open = kinds[0] {} else { Issue.record("first change should open, got \(kinds[0])") }
        #expect(kinds[1] == .halfOpen(probing: true))
        #expect(kinds[2] == .closed(failures: 0))
    }

    @Test func failedProbeOpensForAnotherCoolDown() async throws {
        let clock = StepClock()
        let breaker = breaker(clock, threshold: 2, coolDown: .seconds(4))
        await fail(breaker)
        await fail(breaker)
        clock.advance(.seconds(4))
        await fail(breaker) // the probe
        #expect(breaker.isOpen)
        do {
            _ = try breaker.acquire()
            Issue.record("expected the breaker to be open again")
        } catch {
            #expect(error.retryAfter == .seconds(4))
        }
    }

    @Test func abandonedProbeLetsTheNextCallProbe() async throws {
        let clock = StepClock()
        let breaker = breaker(clock, threshold: 1, coolDown: .seconds(1))
        await fail(breaker)
        clock.advance(.seconds(1))
        let task = Task {
            try await breaker.run { () async throws -> Int in
                try await Task.sleep(for: .seconds(600))
                return 1
            }
        }
        // Wait until the probe is in flight, then cancel it.
        var waited = 0
        while breaker.state != .halfOpen(probing: true) && waited < 10_000 {
            try await Task.sleep(for: .milliseconds(1))
            waited += 1
        }
        #expect(breaker.state == .halfOpen(probing: true))
        task.cancel()
        _ = await task.result
        #expect(breaker.state == .halfOpen(probing: false))
        #expect(try breaker.acquire())
    }
}
