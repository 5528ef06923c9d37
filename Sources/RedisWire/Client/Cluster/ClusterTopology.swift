import NIOCore
import WireCore

/// A node's address as the cluster announces it.
public struct RedisNodeAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host (IP or name).
    public var host: String
    /// Port.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `"host:port"`.
    public init?(_ text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: port)
    }

    public var description: String { "\(host):\(port)" }
}

/// Hash slots: `CRC16(key) mod 16384`, hashing only the `{hash tag}` when the key has one.
public enum RedisHashSlot {
    /// Number of slots in a Redis cluster.
    public static let count = 16384

    /// The slot of a key given as bytes.
    public static func slot(for key: some Collection<UInt8>) -> Int {
        let bytes = Array(key)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            return Int(CRC16.checksum(bytes[(open + 1)..<close]) % UInt16(count))
        }
        return Int(CRC16.checksum(bytes) % UInt16(count))
    }

    /// The slot of a string key.
    public static func slot(for key: String) -> Int { slot(for: Array(key.utf8)) }
}

/// One shard: a master and its replicas, serving slot ranges.
public struct RedisClusterShard: Sendable, Hashable {
    /// Slot ranges (inclusive).
    public var slots: [ClosedRange<Int>]
    /// The master.
    public var master: RedisNodeAddress
    /// The replicas that are online.
    public var replicas: [RedisNodeAddress]
}

/// The cluster's slot map.
struct ClusterTopology: Sendable {
    var shards: [RedisClusterShard] = []
    /// Shard index per slot (-1 = not covered).
    var slotOwner: [Int16] = Array(repeating: -1, count: RedisHashSlot.count)
    /// Overrides learned from MOVED replies since the last refresh.
    var movedOverrides: [Int: RedisNodeAddress] = [:]

    init() {}

    init(shards: [RedisClusterShard]) {
        self.shards = shards
        for (i, shard) in shards.enumerated() {
            for range in shard.slots where range.lowerBound >= 0 && range.upperBound < RedisHashSlot.count {
                for s in range { slotOwner[s] = Int16(i) }
            }
        }
    }

    func shard(for slot: Int) -> RedisClusterShard? {
        let i = Int(slotOwner[slot])
        return i >= 0 ? shards[i] : nil
    }

    func master(for slot: Int) -> RedisNodeAddress? {
        movedOverrides[slot] ?? shard(for: slot)?.master
    }

    var allMasters: [RedisNodeAddress] { shards.map(\.master) }

    /// Parses `CLUSTER SHARDS` (Redis 7), RESP3 maps or RESP2 flat arrays.
    static func fromShards(_ reply: RESPValue) throws -> ClusterTopology {
        func dict(_ v: RESPValue) throws -> [String: RESPValue] { try [String: RESPValue](fromRESP: v) }
        var shards: [RedisClusterShard] = []
        for shardValue in reply.elements ?? [] {
            let shard = try dict(shardValue)
            let bounds = try [Int](fromRESP: shard["slots"] ?? .array([]))
            var ranges: [ClosedRange<Int>] = []
            var i = 0
            while i + 1 < bounds.count { ranges.append(bounds[i]...bounds[i + 1]); i += 2 }
            var master: RedisNodeAddress?
            var replicas: [RedisNodeAddress] = []
            for nodeValue in shard["nodes"]?.elements ?? [] {
                let node = try dict(nodeValue)
                guard let ip = node["ip"]?.string ?? node["endpoint"]?.string,
                      let port = try node["port"].map({ try Int(fromRESP: $0) }) ?? node["tls-port"].map({ try Int(fromRESP: $0) }) else { continue }
                let address = RedisNodeAddress(host: ip, port: port)
                let health = node["health"]?.string ?? "online"
                if node["role"]?.string == "master" {
                    master = address
                } else if health == "online" {
                    replicas.append(address)
                }
            }
            if let master, !ranges.isEmpty {
                shards.append(RedisClusterShard(slots: ranges, master: master, replicas: replicas))
            }
        }
        guard !shards.isEmpty else { throw RedisClientError.topologyUnavailable("CLUSTER SHARDS listed no shard with slots") }
        return ClusterTopology(shards: shards)
    }

    /// Parses `CLUSTER SLOTS` (older servers).
    static func fromSlots(_ reply: RESPValue) throws -> ClusterTopology {
        var byMaster: [RedisNodeAddress: RedisClusterShard] = [:]
        var order: [RedisNodeAddress] = []
        for entry in reply.elements ?? [] {
            guard let e = entry.elements, e.count >= 3 else { continue }
            let start = try Int(fromRESP: e[0])
            let end = try Int(fromRESP: e[1])
            func address(_ v: RESPValue) throws -> RedisNodeAddress? {
                guard let n = v.elements, n.count >= 2, let host = n[0].string else { return nil }
                return RedisNodeAddress(host: host, port: try Int(fromRESP: n[1]))
            }
            guard let master = try address(e[2]) else { continue }
            let replicas = try e.dropFirst(3).compactMap(address)
            if byMaster[master] == nil {
                byMaster[master] = RedisClusterShard(slots: [], master: master, replicas: replicas)
                order.append(master)
            }
            byMaster[master]!.slots.append(start...end)
        }
        guard !order.isEmpty else { throw RedisClientError.topologyUnavailable("CLUSTER SLOTS was empty") }
        return ClusterTopology(shards: order.map { byMaster[$0]! })
    }
}

/// A redirection parsed from a `MOVED` or `ASK` error.
enum ClusterRedirect {
    case moved(slot: Int, to: RedisNodeAddress)
    case ask(slot: Int, to: RedisNodeAddress)

    init?(_ error: RedisServerError) {
        let parts = error.message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), let address = RedisNodeAddress(parts[2]) else { return nil }
        switch parts[0] {
        case "MOVED": self = .moved(slot: slot, to: address)
        case "ASK": self = .ask(slot: slot, to: address)
        default: return nil
        }
    }
}
