import Synchronization

/// Settings of a ``CircuitBreaker``.
public struct CircuitBreakerConfiguration: Sendable, Hashable {
    /// Consecutive failures that open the breaker (at least 1).
    public var failureThreshold: Int
    /// How long the breaker stays open before it lets one probe call through (half-open).
    public var coolDown: Duration

    /// Opens after `failureThreshold` consecutive failures; probes again after `coolDown`.
    public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(5)) {
        precondition(failureThreshold >= 1, "a circuit breaker needs a failure threshold of at least 1")
        precondition(coolDown >= .zero, "a circuit breaker needs a non-negative cool-down")
        self.failureThreshold = failureThreshold
        self.coolDown = coolDown
    }
}

/// Thrown instead of calling the protected operation while a ``CircuitBreaker`` is open (or
/// half-open with its one probe call already in flight).
public struct CircuitBreakerOpenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The breaker's name (what it protects, e.g. `user role at 10.0.0.5:7001`).
    public var name: String
    /// Time left until the breaker lets a probe call through (zero while a probe is in flight).
    public var retryAfter: Duration
    /// The failure that opened the breaker, as text.
    public var lastFailure: String

    /// An error for breaker `name`.
    public init(name: String, retryAfter: Duration, lastFailure: String) {
        self.name = name
        self.retryAfter = retryAfter
        self.lastFailure = lastFailure
    }

    public var description: String {
        "circuit breaker for \(name) is open after repeated failures (last: \(lastFailure)); calls fail fast, next probe in \(retryAfter)"
    }
}

/// A circuit breaker: after ``CircuitBreakerConfiguration/failureThreshold`` consecutive failures
/// it opens, and calls fail at once with ``CircuitBreakerOpenError`` instead of waiting on a peer
/// that is down; after ``CircuitBreakerConfiguration/coolDown`` it lets one probe call through
/// (half-open): a success closes it, a failure opens it for another cool-down.
///
/// Use ``run(isFailure:_:)`` around each attempt of a remote call, or ``acquire()`` and
/// ``record(_:probe:)`` where the call's outcome is known elsewhere. Which errors count as
/// failures is the caller's choice: an answer that says "not found" means the peer is healthy.
/// ``ConnectionPool`` applies the same rules (one state machine) to connect failures; this one is for calls.
public final class CircuitBreaker: Sendable {
    /// Where the breaker stands.
    public enum State: Sendable, Hashable {
        /// Calls pass; `failures` consecutive failures so far.
        case closed(failures: Int)
        /// Calls fail fast until `until`.
        case open(until: ContinuousClock.Instant)
        /// The cool-down passed; one probe call is (or may be) in flight.
        case halfOpen(probing: Bool)
    }

    /// The outcome of a call, for ``record(_:probe:)``.
    public enum Outcome: Sendable, Hashable {
        /// The peer answered.
        case success
        /// The call failed in a way that counts against the peer (described).
        case failure(String)
        /// The call ended without telling anything about the peer (e.g. the caller cancelled it).
        case abandoned
    }

    private struct Inner {
        var machine: CircuitBreakerStateMachine
        var lastFailure = ""
    }

    /// What the breaker protects (used in errors and logs).
    public let name: String
    /// The settings.
    public let configuration: CircuitBreakerConfiguration
    private let inner: Mutex<Inner>
    private let now: @Sendable () -> ContinuousClock.Instant
    private let onStateChange: (@Sendable (State) -> Void)?

    /// A closed breaker.
    /// - Parameters:
    ///   - name: what it protects, for errors and logs.
    ///   - configuration: threshold and cool-down.
    ///   - now: the clock; injectable so tests can step time without sleeping.
    ///   - onStateChange: called (outside the lock) when the breaker opens, goes half-open or closes.
    public init(name: String, configuration: CircuitBreakerConfiguration = CircuitBreakerConfiguration(),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
                onStateChange: (@Sendable (State) -> Void)? = nil) {
        self.name = name
        self.configuration = configuration
        self.inner = Mutex(Inner(machine: CircuitBreakerStateMachine(failureThreshold: configuration.failureThreshold)))
        self.now = now
        self.onStateChange = onStateChange
    }

    /// The current state (an open breaker whose cool-down passed still reads `open` until the next call).
    public var state: State { inner.withLock { $0.machine.state } }

    /// `true` while calls fail fast (open, or half-open with the probe in flight).
    public var isOpen: Bool {
        switch state {
        case .closed, .halfOpen(probing: false): return false
        case .open, .halfOpen(probing: true): return true
        }
    }

    /// Asks to make one call. Returns whether the call is the half-open probe (pass that to
    /// ``record(_:probe:)``); throws ``CircuitBreakerOpenError`` while the breaker is open.
    public func acquire() throws(CircuitBreakerOpenError) -> Bool {
        let instant = now()
        let (result, changed): (Result<Bool, CircuitBreakerOpenError>, State?) = inner.withLock { inner in
            let before = inner.machine.state
            switch inner.machine.admit(now: instant) {
            case .allowed(let probe):
                return (.success(probe), Self.kind(before) != Self.kind(inner.machine.state) ? inner.machine.state : nil)
            case .rejected(let retryAfter):
                return (.failure(CircuitBreakerOpenError(name: name, retryAfter: retryAfter, lastFailure: inner.lastFailure)), nil)
            }
        }
        if let changed { onStateChange?(changed) }
        return try result.get()
    }

    /// Records the outcome of a call allowed by ``acquire()`` (`probe` is what it returned).
    public func record(_ outcome: Outcome, probe: Bool) {
        let instant = now()
        let coolDown = configuration.coolDown
        let changed: State? = inner.withLock { inner in
            let before = inner.machine.state
            switch outcome {
            case .success:
                inner.machine.recordSuccess()
            case .failure(let description):
                inner.lastFailure = description
                inner.machine.recordFailure(probe: probe, now: instant) { _ in coolDown }
            case .abandoned:
                inner.machine.recordAbandoned(probe: probe)
            }
            let changedKind = Self.kind(before) != Self.kind(inner.machine.state)
            return changedKind ? inner.machine.state : nil
        }
        if let changed { onStateChange?(changed) }
    }

    /// Runs `operation` if the breaker allows it and records its outcome: errors for which
    /// `isFailure` returns `true` count as failures, other errors as answers from a healthy peer,
    /// and cancellation as neither.
    /// - Throws: ``CircuitBreakerOpenError`` without running `operation` while the breaker is
    ///   open; otherwise whatever `operation` throws.
    public func run<T: Sendable>(isFailure: (any Error) -> Bool = { _ in true }, _ operation: () async throws -> T) async throws -> T {
        let probe = try acquire()
        do {
            let value = try await operation()
            record(.success, probe: probe)
            return value
        } catch {
            if error is CancellationError || Task.isCancelled {
                record(.abandoned, probe: probe)
            } else {
                record(isFailure(error) ? .failure(String(describing: error)) : .success, probe: probe)
            }
            throw error
        }
    }

    private static func kind(_ state: State) -> Int {
        switch state {
        case .closed: return 0
        case .open: return 1
        case .halfOpen: return 2
        }
    }
}
