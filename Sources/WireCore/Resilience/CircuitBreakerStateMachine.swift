/// The rules of a circuit breaker as a value, with the clock passed in: the one implementation
/// behind ``CircuitBreaker`` (around calls, behind a lock) and ``ConnectionPool`` (around connects,
/// inside the pool's own state machine).
///
/// Closed, it counts consecutive failures; at `failureThreshold` it opens for a cool-down chosen
/// by the owner for the n-th consecutive opening (fixed for ``CircuitBreaker``, a growing
/// ``Backoff`` for the pool). Once the cool-down passed, ``admit(now:)`` lets exactly one probe
/// through (half-open): its success closes the breaker, its failure opens it again.
struct CircuitBreakerStateMachine: Sendable {
    /// The admission decision for one call or connect.
    enum Admission: Sendable, Equatable {
        /// Go ahead; `probe` is `true` for the half-open breaker's one trial.
        case allowed(probe: Bool)
        /// Fail fast; the breaker lets a probe through after `retryAfter` (zero: a probe is in flight).
        case rejected(retryAfter: Duration)
    }

    /// Consecutive failures that open the breaker (at least 1).
    let failureThreshold: Int
    /// Where the breaker stands.
    private(set) var state = CircuitBreaker.State.closed(failures: 0)
    /// How often the breaker opened since it was last closed by a success.
    private(set) var openings = 0

    init(failureThreshold: Int) {
        precondition(failureThreshold >= 1, "a circuit breaker needs a failure threshold of at least 1")
        self.failureThreshold = failureThreshold
    }

    /// Consecutive failures counted while closed.
    var consecutiveFailures: Int {
        if case .closed(let failures) = state { return failures }
        return 0
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// `true` while the breaker is open and its cool-down has not passed.
    func isCoolingDown(now: ContinuousClock.Instant) -> Bool {
        if case .open(let until) = state { return now < until }
        return false
    }

    /// Asks to make one call; an open breaker whose cool-down passed turns half-open and admits
    /// this call as its probe.
    mutating func admit(now: ContinuousClock.Instant) -> Admission {
        switch state {
        case .closed:
            return .allowed(probe: false)
        case .halfOpen(probing: false):
            state = .halfOpen(probing: true)
            return .allowed(probe: true)
        case .open(let until):
            guard now >= until else { return .rejected(retryAfter: now.duration(to: until)) }
            state = .halfOpen(probing: true)
            return .allowed(probe: true)
        case .halfOpen(probing: true):
            return .rejected(retryAfter: .zero)
        }
    }

    /// An admitted call succeeded: the breaker closes. Returns `true` if it was not closed.
    @discardableResult
    mutating func recordSuccess() -> Bool {
        let wasClosed = isClosed
        state = .closed(failures: 0)
        openings = 0
        return !wasClosed
    }

    /// An admitted call failed. `coolDown` gives the open period for the n-th consecutive opening
    /// (0-based). Returns `true` if this failure opened the breaker. A late failure of a call
    /// admitted before the breaker opened changes nothing.
    @discardableResult
    mutating func recordFailure(probe: Bool, now: ContinuousClock.Instant, coolDown: (_ opening: Int) -> Duration) -> Bool {
        switch state {
        case .closed(let failures) where failures + 1 >= failureThreshold:
            open(now: now, coolDown: coolDown)
            return true
        case .closed(let failures):
            state = .closed(failures: failures + 1)
            return false
        case .halfOpen where probe:
            open(now: now, coolDown: coolDown)
            return true
        case .open, .halfOpen:
            return false
        }
    }

    /// An admitted call ended without telling anything about the peer (e.g. cancelled): a probe
    /// gives its turn to the next call.
    mutating func recordAbandoned(probe: Bool) {
        if probe, case .halfOpen(probing: true) = state { state = .halfOpen(probing: false) }
    }

    private mutating func open(now: ContinuousClock.Instant, coolDown: (Int) -> Duration) {
        state = .open(until: now.advanced(by: coolDown(openings)))
        openings += 1
    }
}
