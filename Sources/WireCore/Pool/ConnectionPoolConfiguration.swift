/// Limits and timings of a ``ConnectionPool``.
public struct ConnectionPoolConfiguration: Sendable {
    /// Connections the pool keeps open even when idle (re-established by ``ConnectionPool/run()``).
    public var minConnections: Int
    /// Most connections open at once, counting connects in flight and connections being closed.
    public var maxConnections: Int
    /// How many callers may lease one connection at once: 1 for request/response protocols, more
    /// for multiplexed ones (CQL streams, Redis pipelining, HTTP/2 streams).
    public var leasesPerConnection: Int
    /// An idle connection beyond ``minConnections`` is closed after this long unused.
    public var idleTimeout: Duration
    /// How long ``ConnectionPool/lease(deadline:)`` waits when no deadline is given.
    public var leaseTimeout: Duration
    /// When set, the pool's keep-alive hook runs on connections idle this long; a failing
    /// keep-alive closes the connection.
    public var keepAliveInterval: Duration?
    /// Consecutive connect failures that open the circuit breaker.
    public var circuitBreakerThreshold: Int
    /// How long the open breaker waits before one trial connect; the attempt number grows with
    /// each failed trial and resets after a success.
    public var circuitBreakerBackoff: Backoff

    /// Creates a configuration.
    public init(
        minConnections: Int = 0,
        maxConnections: Int = 8,
        leasesPerConnection: Int = 1,
        idleTimeout: Duration = .seconds(60),
        leaseTimeout: Duration = .seconds(10),
        keepAliveInterval: Duration? = nil,
        circuitBreakerThreshold: Int = 5,
        circuitBreakerBackoff: Backoff = Backoff(base: .milliseconds(100), cap: .seconds(30))
    ) {
        precondition(maxConnections >= 1, "maxConnections must be at least 1")
        precondition(minConnections >= 0 && minConnections <= maxConnections, "need 0 <= minConnections <= maxConnections")
        precondition(leasesPerConnection >= 1, "leasesPerConnection must be at least 1")
        precondition(circuitBreakerThreshold >= 1, "circuitBreakerThreshold must be at least 1")
        self.minConnections = minConnections
        self.maxConnections = maxConnections
        self.leasesPerConnection = leasesPerConnection
        self.idleTimeout = idleTimeout
        self.leaseTimeout = leaseTimeout
        self.keepAliveInterval = keepAliveInterval
        self.circuitBreakerThreshold = circuitBreakerThreshold
        self.circuitBreakerBackoff = circuitBreakerBackoff
    }
}

/// Why a lease from a ``ConnectionPool`` failed.
public enum ConnectionPoolError: Error, CustomStringConvertible {
    /// No connection became free before the lease's deadline.
    case leaseTimedOut
    /// The pool is shutting down or shut down.
    case poolClosed
    /// Connecting failed repeatedly and the pool is not trying for a while; `lastError` is the
    /// latest connect error.
    case circuitOpen(lastError: any Error)
    /// The waiting task was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .leaseTimedOut: "no pooled connection became available before the lease deadline"
        case .poolClosed: "the connection pool is shut down"
        case .circuitOpen(let error): "the connection pool stopped connecting after repeated failures (last: \(error))"
        case .cancelled: "the lease was cancelled while waiting"
        }
    }
}

/// A snapshot of a pool's counters.
public struct ConnectionPoolStatistics: Sendable, Hashable {
    /// Open connections (including ones still leased after being retired).
    public var connections: Int
    /// Connections with at least one lease.
    public var leasedConnections: Int
    /// Leases currently held.
    public var leases: Int
    /// Callers waiting for a connection.
    public var waiters: Int
    /// Connects in flight.
    public var pendingConnects: Int
    /// Connections whose close has not finished.
    public var closing: Int
    /// Whether the circuit breaker is open or half-open.
    public var circuitOpen: Bool
}
