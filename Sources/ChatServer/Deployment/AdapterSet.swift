import CQLClient
import GRDB
import ChatWire
import Logging
import PGWire
import RedisWire
import ServiceLifecycle

/// The ports of one chat server, chosen from its ``ChatDeployment``: embedded adapters for
/// every address left unset, cluster adapters (PGWire, CQLClient, RedisWire) for the rest.
public struct AdapterSet: Sendable {
    /// The SQLite files under the data directory (the embedded adapters, and the embedded
    /// backplane whenever no Kafka address is given).
    public var local: SQLiteDatabases
    public var users: any UserStore
    public var chats: any ChatStore
    public var cache: any UserCache
    /// The config store; announces its updates on ``configFeed`` when there is one.
    public var configStore: any ConfigStore
    /// Config-change broadcast to the other instances (nil embedded).
    public var configFeed: (any ConfigChangeFeed)?
    /// Clients to run as services, started before and stopped after everything that uses them.
    public var services: [any Service]
    /// Checks that every store answers (for `/readyz`).
    public var readiness: @Sendable () async throws -> Void
    /// Which adapter serves each port, e.g. `users=postgres chats=cassandra cache=redis`.
    public var summary: String
    /// The deployment the set was made for.
    public var deployment: ChatDeployment

    /// Opens the adapters of `deployment`: connects, creates missing databases/keyspaces and
    /// applies migrations/schemas, seeds `configDefaults`. Cluster stores are opened only for the
    /// roles the process runs (PostgreSQL for user or config, Cassandra for chats); the other
    /// ports stay on the (unused) embedded files, since another process serves them.
    public static func make(deployment: ChatDeployment, dataDirectory: String, synchronousFull: Bool,
                            configDefaults: [String: String], logger: Logger) async throws -> AdapterSet {
        let local = try SQLiteDatabases(directory: dataDirectory, synchronousFull: synchronousFull)
        var services: [any Service] = []
        var checks: [@Sendable () async throws -> Void] = []
        var summary: [String] = []
        let roles = deployment.roleSet

        var users: any UserStore
        var configStore: any ConfigStore
        if deployment.postgres != nil && (roles.contains(.user) || roles.contains(.config)) {
            let configuration = try deployment.postgresConfiguration()
            try await PostgresMigrations.ensureDatabase(configuration, logger: logger)
            let client = PostgresClient(configuration: configuration, logger: logger)
            try await PostgresMigrations.apply(on: client, logger: logger)
            users = PostgresUserStore(client: client)
            configStore = try await PostgresConfigStore(client: client, defaults: configDefaults)
            services.append(client)
            checks.append { _ = try await client.query("SELECT 1") }
            summary.append("users=postgres config=postgres")
        } else {
            users = SQLiteUserStore(db: local.users)
            configStore = try SQLiteConfigStore(db: local.users, defaults: configDefaults)
            checks.append { _ = try await local.users.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
            summary.append("users=sqlite config=sqlite")
        }

        let chats: any ChatStore
        if let cassandra = deployment.cassandra, roles.contains(.chats) {
            let session = CassandraSession(
                configuration: CassandraSessionConfiguration(contactPoints: try ChatDeployment.hostList(cassandra, defaultPort: 9042), defaultConsistency: .localQuorum),
                logger: logger)
            try await CassandraSchema.apply(on: session, keyspace: deployment.cassandraKeyspace, replication: deployment.cassandraReplication, logger: logger)
            // With the embedded backplane each instance has its own log, so its offset is its own.
            chats = CassandraChatStore(session: session, keyspace: deployment.cassandraKeyspace,
                                       consumerName: deployment.kafka == nil ? "chats-server-\(deployment.serverID)" : "chats")
            services.append(session)
            checks.append { try await session.query("SELECT release_version FROM system.local") }
            summary.append("chats=cassandra")
        } else {
            chats = SQLiteChatStore(db: local.chats)
            checks.append { _ = try await local.chats.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
            summary.append("chats=sqlite")
        }

        var cache: any UserCache = LRUUserCache(ttlSeconds: Int64(deployment.cacheTTLSeconds))
        var feed: (any ConfigChangeFeed)?
        if let redis = deployment.redis {
            let client: any ChatRedisClient
            if deployment.isRedisCluster {
                let seeds = try ChatDeployment.hostList(redis, defaultPort: 6379).map { RedisNodeAddress(host: $0.host, port: $0.port) }
                client = RedisClusterClient(configuration: RedisClusterConfiguration(seeds: seeds), logger: logger)
            } else {
                client = try RedisClient(url: deployment.redisURL ?? redis, logger: logger)
            }
            _ = try await client.ping()
            cache = RedisUserCache(client: client, prefix: deployment.redisPrefix, ttlSeconds: deployment.cacheTTLSeconds, logger: logger)
            let redisFeed = RedisConfigChangeFeed(client: client, prefix: deployment.redisPrefix, logger: logger)
            feed = redisFeed
            configStore = AnnouncingConfigStore(base: configStore, feed: redisFeed)
            services.append(client)
            services.append(redisFeed)
            checks.append { _ = try await client.ping() }
            summary.append(deployment.isRedisCluster ? "cache=redis-cluster config-changes=redis-cluster" : "cache=redis config-changes=redis")
        } else {
            summary.append("cache=lru")
        }
        users = CachedUserStore(base: users, cache: cache)

        let probes = checks
        return AdapterSet(local: local, users: users, chats: chats, cache: cache, configStore: configStore, configFeed: feed, services: services,
                          readiness: { for probe in probes { try await probe() } }, summary: summary.joined(separator: " "), deployment: deployment)
    }
}
