import Synchronization

/// Chooses the order in which hosts are tried for a request.
public protocol CQLLoadBalancingPolicy: Sendable {
    /// Hosts to try, best first. `routingKey` is the serialized partition key when known.
    func queryPlan(hosts: [CQLHost], ring: CQLTokenRing, routingKey: [UInt8]?) -> [CQLHost]
}

/// DC-aware round robin: hosts of the local datacenter in rotating order, then (optionally)
/// remote ones. With a routing key and a known ring, the key's replicas in the local DC go first
/// (token-aware routing).
public struct CQLDCAwareRoundRobinPolicy: CQLLoadBalancingPolicy {
    /// The local datacenter; nil takes the contact point's datacenter.
    public var localDatacenter: String?
    /// How many remote hosts to append after the local ones.
    public var remoteHostsPerDatacenter: Int
    public var tokenAware: Bool
    /// Replicas looked up on the ring for token-aware routing.
    public var replicationFactor: Int
    private let counter = Counter()

    public init(localDatacenter: String? = nil, remoteHostsPerDatacenter: Int = 0, tokenAware: Bool = true, replicationFactor: Int = 3) {
        self.localDatacenter = localDatacenter
        self.remoteHostsPerDatacenter = remoteHostsPerDatacenter
        self.tokenAware = tokenAware
        self.replicationFactor = replicationFactor
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func next() -> Int { self.value.add(1, ordering: .relaxed).oldValue }
    }

    public func queryPlan(hosts: [CQLHost], ring: CQLTokenRing, routingKey: [UInt8]?) -> [CQLHost] {
        guard !hosts.isEmpty else { return [] }
        let localDC = self.localDatacenter ?? hosts.first?.datacenter
        let local = hosts.filter { localDC == nil || $0.datacenter == localDC }
        var plan: [CQLHost] = []
        if self.tokenAware, let key = routingKey, !ring.isEmpty {
            let replicas = ring.replicas(for: CQLTokenRing.token(forKey: key), count: self.replicationFactor)
            for endpoint in replicas {
                if let host = local.first(where: { $0.endpoint == endpoint }) { plan.append(host) }
            }
        }
        let start = self.counter.next()
        for i in 0..<local.count {
            let host = local[(start + i) % local.count]
            if !plan.contains(host) { plan.append(host) }
        }
        if self.remoteHostsPerDatacenter > 0 {
            var perDC: [String: Int] = [:]
            for host in hosts where host.datacenter != localDC {
                let dc = host.datacenter ?? ""
                if perDC[dc, default: 0] < self.remoteHostsPerDatacenter {
                    perDC[dc, default: 0] += 1
                    plan.append(host)
                }
            }
        }
        return plan
    }
}

/// What to do after a request failed.
public enum CQLRetryDecision: Sendable, Equatable {
    case retrySameHost(consistency: CQLConsistency?)
    case retryNextHost(consistency: CQLConsistency?)
    case rethrow
}

/// Decides whether a failed request is retried.
public protocol CQLRetryPolicy: Sendable {
    /// - Parameters:
    ///   - error: a ``CQLServerError`` or a connection-level error.
    ///   - attempt: 0 for the first retry decision.
    ///   - isIdempotent: whether the statement may safely run twice.
    func decide(error: any Error, attempt: Int, isIdempotent: Bool) -> CQLRetryDecision
}

/// The DataStax drivers' default retry rules.
public struct CQLDefaultRetryPolicy: CQLRetryPolicy {
    public init() {}

    public func decide(error: any Error, attempt: Int, isIdempotent: Bool) -> CQLRetryDecision {
        guard attempt == 0 else { return .rethrow }
        if let server = error as? CQLServerError {
            switch server.kind {
            case .readTimeout(_, let received, let blockFor, let dataPresent):
                // enough replicas answered but the data one did not: one retry usually succeeds
                return received >= blockFor && !dataPresent ? .retrySameHost(consistency: nil) : .rethrow
            case .writeTimeout(_, _, _, let writeType, _):
                return isIdempotent && writeType == "BATCH_LOG" ? .retrySameHost(consistency: nil) : .rethrow
            case .unavailable:
                return .retryNextHost(consistency: nil)
            case .overloaded, .isBootstrapping, .truncateError, .serverError:
                return isIdempotent ? .retryNextHost(consistency: nil) : .rethrow
            default:
                return .rethrow
            }
        }
        if let connection = error as? CQLConnectionError {
            switch connection {
            case .closed, .protocolViolation, .timedOut: return isIdempotent ? .retryNextHost(consistency: nil) : .rethrow
            case .noHostAvailable: return .rethrow
            }
        }
        return isIdempotent ? .retryNextHost(consistency: nil) : .rethrow
    }
}

/// Never retries.
public struct CQLFallthroughRetryPolicy: CQLRetryPolicy {
    public init() {}
    public func decide(error: any Error, attempt: Int, isIdempotent: Bool) -> CQLRetryDecision { .rethrow }
}

/// When to start additional executions of an idempotent statement on other hosts.
public struct CQLSpeculativeExecutionPolicy: Sendable {
    /// Delay after which the next execution starts while earlier ones are still running.
    public var delay: Duration
    /// Additional executions at most.
    public var maxExecutions: Int

    public init(delay: Duration, maxExecutions: Int) {
        self.delay = delay
        self.maxExecutions = maxExecutions
    }

    /// No speculative executions.
    public static let none = CQLSpeculativeExecutionPolicy(delay: .zero, maxExecutions: 0)
}
