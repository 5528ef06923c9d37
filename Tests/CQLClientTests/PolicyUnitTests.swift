import Testing
@testable import CQLClient

/// Load-balancing and retry policies on plain values (no network).
@Suite("Policies (unit)")
struct PolicyUnitTests {
    static let hosts: [CQLHost] = [
        CQLHost(address: "10.0.0.1", port: 9042, datacenter: "dc1", tokens: [-6_000_000_000_000_000_000]),
        CQLHost(address: "10.0.0.2", port: 9042, datacenter: "dc1", tokens: [0]),
        CQLHost(address: "10.0.0.3", port: 9042, datacenter: "dc1", tokens: [6_000_000_000_000_000_000]),
        CQLHost(address: "10.1.0.1", port: 9042, datacenter: "dc2", tokens: [-3_000_000_000_000_000_000]),
        CQLHost(address: "10.1.0.2", port: 9042, datacenter: "dc2", tokens: [3_000_000_000_000_000_000]),
    ]

    @Test("DC-aware round robin: local hosts rotate, remote hosts only when asked for, after the local ones")
    func dcAware() {
        let ring = CQLTokenRing(hosts: Self.hosts)
        let local = CQLDCAwareRoundRobinPolicy(localDatacenter: "dc1", tokenAware: false)
        var firsts: Set<String> = []
        for _ in 0..<3 {
            let plan = local.queryPlan(hosts: Self.hosts, ring: ring, routingKey: nil)
            #expect(plan.count == 3 && plan.allSatisfy { $0.datacenter == "dc1" })
            firsts.insert(plan[0].address)
        }
        #expect(firsts == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])

        let withRemote = CQLDCAwareRoundRobinPolicy(localDatacenter: "dc2", remoteHostsPerDatacenter: 1, tokenAware: false)
        let plan = withRemote.queryPlan(hosts: Self.hosts, ring: ring, routingKey: nil)
        #expect(plan.map(\.datacenter) == ["dc2", "dc2", "dc1"])
        // nil local datacenter: the first host's (the contact point's) datacenter
        #expect(CQLDCAwareRoundRobinPolicy().queryPlan(hosts: Self.hosts, ring: ring, routingKey: nil).allSatisfy { $0.datacenter == "dc1" })
    }

    @Test("token-aware: the key's local replicas come first, in ring order")
    func tokenAware() {
        let ring = CQLTokenRing(hosts: Self.hosts)
        let key = Array("user-42".utf8)
        let token = CQLTokenRing.token(forKey: key)
        let replicas = ring.replicas(for: token, count: 5)
        let localReplicas = replicas.filter { $0.hasPrefix("10.0.") }
        let policy = CQLDCAwareRoundRobinPolicy(localDatacenter: "dc1", replicationFactor: 5)
        for _ in 0..<3 {
            let plan = policy.queryPlan(hosts: Self.hosts, ring: ring, routingKey: key)
            #expect(plan.map(\.endpoint) == localReplicas)
        }
        // the primary replica owns the first token at or after the key's token
        let owner = Self.hosts.filter { $0.tokens[0] >= token }.min { $0.tokens[0] < $1.tokens[0] } ?? Self.hosts.min { $0.tokens[0] < $1.tokens[0] }!
        #expect(replicas.first == owner.endpoint)
    }

    @Test("default retry policy decisions (the DataStax drivers' rules)")
    func defaultRetryDecisions() {
        let policy = CQLDefaultRetryPolicy()
        func server(_ kind: CQLServerError.Kind) -> CQLServerError { CQLServerError(code: 0, message: "", kind: kind) }
        #expect(policy.decide(error: server(.readTimeout(consistency: .quorum, received: 2, blockFor: 2, dataPresent: false)),
                              attempt: 0, isIdempotent: false) == .retrySameHost(consistency: nil))
        #expect(policy.decide(error: server(.readTimeout(consistency: .quorum, received: 2, blockFor: 2, dataPresent: false)),
                              attempt: 1, isIdempotent: true) == .rethrow)
        #expect(policy.decide(error: server(.readTimeout(consistency: .quorum, received: 1, blockFor: 2, dataPresent: false)),
                              attempt: 0, isIdempotent: true) == .rethrow)
        #expect(policy.decide(error: server(.writeTimeout(consistency: .quorum, received: 0, blockFor: 2, writeType: "BATCH_LOG", contentions: nil)),
                              attempt: 0, isIdempotent: true) == .retrySameHost(consistency: nil))
        #expect(policy.decide(error: server(.writeTimeout(consistency: .quorum, received: 0, blockFor: 2, writeType: "SIMPLE", contentions: nil)),
                              attempt: 0, isIdempotent: true) == .rethrow)
        #expect(policy.decide(error: server(.unavailable(consistency: .quorum, required: 2, alive: 1)), attempt: 0, isIdempotent: false)
                == .retryNextHost(consistency: nil))
        #expect(policy.decide(error: server(.unavailable(consistency: .quorum, required: 2, alive: 1)), attempt: 1, isIdempotent: true) == .rethrow)
        #expect(policy.decide(error: server(.overloaded), attempt: 0, isIdempotent: true) == .retryNextHost(consistency: nil))
        #expect(policy.decide(error: server(.overloaded), attempt: 0, isIdempotent: false) == .rethrow)
        #expect(policy.decide(error: server(.syntaxError), attempt: 0, isIdempotent: true) == .rethrow)
        #expect(policy.decide(error: CQLConnectionError.closed, attempt: 0, isIdempotent: true) == .retryNextHost(consistency: nil))
        #expect(policy.decide(error: CQLConnectionError.closed, attempt: 0, isIdempotent: false) == .rethrow)
        #expect(CQLFallthroughRetryPolicy().decide(error: server(.overloaded), attempt: 0, isIdempotent: true) == .rethrow)
    }
}
