/// Exponential backoff with full jitter, as described in "Exponential Backoff And Jitter" (AWS):
/// attempt `n` sleeps a uniformly random time in `0 ... min(cap, base * 2^n)`.
///
/// `Backoff` is a value; call ``delay(forAttempt:using:)`` with the zero-based attempt number.
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first attempt's delay.
    public var base: Duration
    /// The largest delay any attempt may get.
    public var cap: Duration
    /// When `false`, the delay is the full exponential value (useful in tests).
    public var jitter: Bool

    /// Creates a backoff policy.
    public init(base: Duration = .milliseconds(50), cap: Duration = .seconds(10), jitter: Bool = true) {
        precondition(base >= .zero && cap >= base, "backoff needs 0 <= base <= cap")
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The exponential ceiling for `attempt` before jitter: `min(cap, base * 2^attempt)`.
    public func ceiling(forAttempt attempt: Int) -> Duration {
        let exponent = max(0, min(attempt, 62))
        let baseNanos = Self.nanoseconds(base)
        let capNanos = Self.nanoseconds(cap)
        let (product, overflow) = baseNanos.multipliedReportingOverflow(by: Int64(1) << Int64(exponent))
        let nanos = (overflow || product > capNanos) ? capNanos : product
        return .nanoseconds(nanos)
    }

    /// The delay before retry number `attempt` (zero-based), drawn from `generator`.
    public func delay<G: RandomNumberGenerator>(forAttempt attempt: Int, using generator: inout G) -> Duration {
        let ceiling = Self.nanoseconds(self.ceiling(forAttempt: attempt))
        guard jitter, ceiling > 0 else { return .nanoseconds(ceiling) }
        return .nanoseconds(Int64.random(in: 0...ceiling, using: &generator))
    }

    /// The delay before retry number `attempt` (zero-based), using the system random generator.
    public func delay(forAttempt attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(forAttempt: attempt, using: &generator)
    }

    @usableFromInline
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (s, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if o1 { return seconds < 0 ? .min : .max }
        let (total, o2) = s.addingReportingOverflow(attoseconds / 1_000_000_000)
        if o2 { return seconds < 0 ? .min : .max }
        return total
    }
}
