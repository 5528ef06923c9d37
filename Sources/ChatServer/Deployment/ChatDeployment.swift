import Foundation
import PGWire

/// Where a chat server's ports are plugged in: every field left `nil` stays on the embedded
/// default (SQLite, in-process backplane, in-process cache), so `ChatDeployment()` is the
/// one-process server and each address moves one port onto a real cluster.
///
/// Settings come from a config file, then `CHAT_*` environment variables, then command-line
/// flags (later sources win); see ``set(_:_:)`` for the keys.
public struct ChatDeployment: Sendable, Hashable {
    /// Users, connections, files metadata and dynamic config on PostgreSQL / YugabyteDB: a libpq
    /// URL or key/value string, or `host:port[,host:port...]` (hosts tried in order).
    public var postgres: String?
    /// User for a `host:port` list in ``postgres``.
    public var postgresUser = "postgres"
    /// Database for a `host:port` list in ``postgres`` (created at start-up when missing).
    public var postgresDatabase = "chat"
    /// History and chat state on Cassandra: `host:port[,host:port...]` contact points.
    public var cassandra: String?
    /// The Cassandra keyspace (created at start-up when missing).
    public var cassandraKeyspace = "chats"
    /// The keyspace's replication map, e.g. `{'class': 'NetworkTopologyStrategy', 'dc1': 3}`.
    public var cassandraReplication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    /// User cache and config-change notifications on Redis: a `redis://` URL or `host:port` for
    /// one server, or `host:port,host:port[,...]` seed nodes of a Redis cluster.
    public var redis: String?
    /// Prefix of every Redis key and channel (several deployments can share one Redis).
    public var redisPrefix = ""
    /// Time to live of cached profiles, searches and connection lists, in seconds.
    public var cacheTTLSeconds = 300
    /// The backplane on Kafka: bootstrap `host:port[,host:port...]` (issue 9's Kafka adapter).
    public var kafka: String?
    /// Prefix of the Kafka topic names and consumer-group IDs (several deployments can share brokers).
    public var kafkaPrefix = ""
    /// Group session timeout of the backplane's durable consumers, in milliseconds.
    public var kafkaSessionTimeoutMilliseconds = 10_000
    /// This instance's server ID (partition ownership, snowflake generators).
    public var serverID = 0
    /// The snowflake generator ID (0...255); `nil` derives it from ``serverID``.
    public var generatorID: Int?
    /// The roles this process runs (empty: all of them); see ``ChatRole``.
    public var roles: [String] = []
    /// Port of the internal gRPC server on the process's host, serving the process's roles among
    /// idgen, user, chats and config to other processes (0 picks a free port; nil: no internal server).
    public var internalGRPCPort: Int?
    /// `host:port` of the internal gRPC server running the idgen role (when this process does not run it).
    public var idgenAddress: String?
    /// `host:port` of the internal gRPC server running the user role.
    public var userAddress: String?
    /// `host:port` of the internal gRPC server running the chats role.
    public var chatsAddress: String?
    /// `host:port` of the internal gRPC server running the config role.
    public var configAddress: String?
    /// Deadline of one call to another role, retries included, in milliseconds (the reference: 5 s).
    public var internalTimeoutMilliseconds = 5000
    /// Consecutive failed calls to a role after which its circuit breaker opens.
    public var breakerThreshold = 5
    /// How long an open circuit breaker fails calls fast before it probes again, in milliseconds.
    public var breakerCoolDownMilliseconds = 5000
    /// IDs the messaging role fetches from a remote idgen role per refill (the reference: 1024).
    public var idBufferSize = 1024

    /// The roles this process runs (all of them when ``roles`` is empty).
    public var roleSet: Set<ChatRole> { (try? ChatRole.parse(roles)) ?? Set(ChatRole.allCases) }

    /// The address of `role`'s internal gRPC server, when another process runs it.
    public func address(of role: ChatRole) -> String? {
        switch role {
        case .idgen: return idgenAddress
        case .user: return userAddress
        case .chats: return chatsAddress
        case .config: return configAddress
        case .bff, .messaging: return nil
        }
    }

    /// The embedded default.
    public init() {}

    /// True when no port is moved to an external server.
    public var isEmbedded: Bool { postgres == nil && cassandra == nil && redis == nil && kafka == nil }

    /// The setting keys, as used in config files (`key = value`); the environment variable of a
    /// key is `CHAT_` + the key upper-cased with `-` as `_` (e.g. `CHAT_CASSANDRA_KEYSPACE`).
    public static let keys = ["postgres", "postgres-user", "postgres-database", "cassandra", "cassandra-keyspace", "cassandra-replication",
                              "redis", "redis-prefix", "cache-ttl", "kafka", "kafka-prefix", "kafka-session-timeout-ms", "server-id", "generator-id", "roles",
                              "internal-grpc-port", "idgen-address", "user-address", "chats-address", "config-address",
                              "internal-timeout-ms", "breaker-threshold", "breaker-cool-down-ms", "id-buffer-size"]

    /// A deployment error: an unknown key or an unusable value.
    public struct SettingError: Error, CustomStringConvertible {
        /// What is wrong.
        public var description: String
    }

    /// Sets one setting by key (see ``keys``).
    public mutating func set(_ key: String, _ value: String) throws {
        let value = value.trimmingCharacters(in: .whitespaces)
        func int() throws -> Int {
            guard let n = Int(value) else { throw SettingError(description: "\(key) must be an integer, got '\(value)'") }
            return n
        }
        func positive() throws -> Int {
            let n = try int()
            guard n > 0 else { throw SettingError(description: "\(key) must be greater than 0, got \(n)") }
            return n
        }
        switch key {
        case "postgres": postgres = value.isEmpty ? nil : value
        case "postgres-user": postgresUser = value
        case "postgres-database": postgresDatabase = value
        case "cassandra": cassandra = value.isEmpty ? nil : value
        case "cassandra-keyspace":
            guard CassandraSchema.isValidKeyspace(value) else { throw SettingError(description: "cassandra-keyspace must match [a-z][a-z0-9_]{0,47}, got '\(value)'") }
            cassandraKeyspace = value
        case "cassandra-replication": cassandraReplication = value
        case "redis": redis = value.isEmpty ? nil : value
        case "redis-prefix": redisPrefix = value
        case "cache-ttl": cacheTTLSeconds = try int()
        case "kafka": kafka = value.isEmpty ? nil : value
        case "kafka-prefix": kafkaPrefix = value
        case "kafka-session-timeout-ms": kafkaSessionTimeoutMilliseconds = try positive()
        case "server-id": serverID = try int()
        case "generator-id":
            let id = try int()
            guard (0...255).contains(id) else { throw SettingError(description: "generator-id must be 0...255, got \(id)") }
            generatorID = id
        case "roles":
            roles = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            _ = try ChatRole.parse(roles)
        case "internal-grpc-port":
            let port = try int()
            guard (-1...65535).contains(port) else { throw SettingError(description: "internal-grpc-port must be 0...65535 (or -1: off), got \(port)") }
            internalGRPCPort = port >= 0 ? port : nil
        case "idgen-address", "user-address", "chats-address", "config-address":
            let address: String? = value.isEmpty ? nil : value
            if let address {
                let hosts = try Self.hostList(address, defaultPort: 0)
                guard hosts.count == 1, hosts[0].port != 0 else { throw SettingError(description: "\(key) must be host:port, got '\(address)'") }
            }
            switch key {
            case "idgen-address": idgenAddress = address
            case "user-address": userAddress = address
            case "chats-address": chatsAddress = address
            default: configAddress = address
            }
        case "internal-timeout-ms": internalTimeoutMilliseconds = try positive()
        case "breaker-threshold": breakerThreshold = try positive()
        case "breaker-cool-down-ms":
            let ms = try int()
            guard ms >= 0 else { throw SettingError(description: "breaker-cool-down-ms must be 0 or more, got \(ms)") }
            breakerCoolDownMilliseconds = ms
        case "id-buffer-size":
            let size = try int()
            guard (2...16384).contains(size) else { throw SettingError(description: "id-buffer-size must be 2...16384, got \(size)") }
            idBufferSize = size
        default: throw SettingError(description: "unknown setting '\(key)' (known: \(Self.keys.joined(separator: ", ")))")
        }
    }

    /// Applies `CHAT_*` variables from `environment`.
    public mutating func apply(environment: [String: String]) throws {
        for key in Self.keys {
            if let value = environment["CHAT_" + key.uppercased().replacing("-", with: "_")] { try set(key, value) }
        }
    }

    /// Applies a config file: `key = value` lines; `#` starts a comment.
    public mutating func apply(configFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw SettingError(description: "cannot read config file \(path)") }
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            if text.isEmpty { continue }
            let parts = text.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw SettingError(description: "\(path):\(number + 1): expected key = value") }
            try set(parts[0].trimmingCharacters(in: .whitespaces), String(parts[1]))
        }
    }

    /// Parses `host:port[,host:port...]` (a missing port is `defaultPort`).
    static func hostList(_ text: String, defaultPort: Int) throws -> [(host: String, port: Int)] {
        try text.split(separator: ",").map { item in
            let item = item.trimmingCharacters(in: .whitespaces)
            guard let colon = item.lastIndex(of: ":") else { return (item, defaultPort) }
            guard let port = Int(item[item.index(after: colon)...]), (1...65535).contains(port) else {
                throw SettingError(description: "bad address '\(item)': expected host:port")
            }
            return (String(item[..<colon]), port)
        }
    }

    /// The PGWire client configuration for ``postgres``.
    func postgresConfiguration() throws -> PostgresClientConfiguration {
        guard let postgres else { throw SettingError(description: "no PostgreSQL address") }
        if postgres.contains("://") || postgres.contains("=") { return try PostgresClientConfiguration(parsing: postgres) }
        let hosts = try Self.hostList(postgres, defaultPort: 5432)
        var configuration = PostgresClientConfiguration(connection: PostgresConfiguration(
            host: hosts[0].host, port: hosts[0].port, user: postgresUser, database: postgresDatabase, tlsMode: .disable))
        configuration.hosts = hosts
        return configuration
    }

    /// The RedisWire URL for a single-server ``redis`` (nil for a cluster).
    var redisURL: String? {
        guard let redis, !isRedisCluster else { return nil }
        return redis.contains("://") ? redis : "redis://" + redis
    }

    /// True when ``redis`` lists several seed nodes (a Redis cluster).
    var isRedisCluster: Bool { redis.map { !$0.contains("://") && $0.contains(",") } ?? false }
}
