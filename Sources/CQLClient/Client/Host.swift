import struct Foundation.UUID
import WireCore

/// A node of the cluster as discovered from `system.local` / `system.peers_v2`.
public struct CQLHost: Sendable, Hashable, CustomStringConvertible {
    /// Native-protocol address clients connect to.
    public var address: String
    public var port: Int
    public var datacenter: String?
    public var rack: String?
    public var hostID: UUID?
    public var releaseVersion: String?
    /// Murmur3 tokens the node owns.
    public var tokens: [Int64]

    public init(address: String, port: Int, datacenter: String? = nil, rack: String? = nil, hostID: UUID? = nil,
                releaseVersion: String? = nil, tokens: [Int64] = []) {
        self.address = address
        self.port = port
        self.datacenter = datacenter
        self.rack = rack
        self.hostID = hostID
        self.releaseVersion = releaseVersion
        self.tokens = tokens
    }

    /// `address:port`, the key hosts are identified by.
    public var endpoint: String { "\(self.address):\(self.port)" }
    public var description: String { "\(self.endpoint) dc=\(self.datacenter ?? "?")" }
}

/// The token ring: Murmur3 token -> owning host, for token-aware routing.
public struct CQLTokenRing: Sendable {
    private var tokens: [Int64] = []
    private var owners: [String] = []

    public init(hosts: [CQLHost]) {
        var pairs: [(Int64, String)] = []
        for host in hosts { for t in host.tokens { pairs.append((t, host.endpoint)) } }
        pairs.sort { $0.0 < $1.0 }
        self.tokens = pairs.map(\.0)
        self.owners = pairs.map(\.1)
    }

    public var isEmpty: Bool { self.tokens.isEmpty }

    /// Endpoints of the replicas for `token`, primary first, walking the ring clockwise
    /// (distinct hosts, up to `count`).
    public func replicas(for token: Int64, count: Int) -> [String] {
        guard !self.tokens.isEmpty else { return [] }
        var lo = 0, hi = self.tokens.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self.tokens[mid] < token { lo = mid + 1 } else { hi = mid }
        }
        var result: [String] = []
        var i = lo % self.tokens.count
        for _ in 0..<self.tokens.count {
            let owner = self.owners[i]
            if !result.contains(owner) {
                result.append(owner)
                if result.count == count { break }
            }
            i = (i + 1) % self.tokens.count
        }
        return result
    }

    /// The Cassandra Murmur3Partitioner token of a routing key.
    public static func token(forKey key: [UInt8]) -> Int64 {
        Murmur3.cassandraToken(key)
    }
}
