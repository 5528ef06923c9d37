import Logging
import NIOCore
import WireCore

/// A topic and partition.
public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// Topic name.
    public var topic: String
    /// Partition index.
    public var partition: Int32
    /// Creates a topic-partition.
    public init(_ topic: String, _ partition: Int32) { self.topic = topic; self.partition = partition }
    /// `topic-partition`.
    public var description: String { "\(topic)-\(partition)" }
    /// Orders by topic, then partition.
    public static func < (a: Self, b: Self) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
}

/// What the cluster told us about one partition.
public struct KafkaPartitionMetadata: Sendable, Hashable {
    /// Partition index.
    public var partition: Int32
    /// Leader node id (-1 while no leader is known).
    public var leader: Int32
    /// Leader epoch.
    public var leaderEpoch: Int32
    /// Replica node ids.
    public var replicas: [Int32]
    /// In-sync replica node ids.
    public var isr: [Int32]
    /// Error code for this partition (0 = none).
    public var errorCode: Int16
}

/// What the cluster told us about one topic.
public struct KafkaTopicMetadata: Sendable, Hashable {
    /// Topic name.
    public var name: String
    /// Topic id (zero before Metadata v10).
    public var topicID: KafkaUUID
    /// Error code for this topic (0 = none).
    public var errorCode: Int16
    /// Partitions ordered by index.
    public var partitions: [KafkaPartitionMetadata]
    /// Whether the topic is internal (`__consumer_offsets`).
    public var isInternal: Bool
}

/// A broker as listed in metadata.
public struct KafkaBrokerMetadata: Sendable, Hashable {
    /// Node id.
    public var nodeID: Int32
    /// Where it listens.
    public var address: KafkaBrokerAddress
    /// Rack, if configured.
    public var rack: String?
}

/// The cluster view shared by producers, consumers and admin clients: metadata cache, one
/// connection per broker, leader and coordinator lookup.
public actor KafkaCluster {
    /// The configuration used for every connection.
    public nonisolated let configuration: KafkaClientConfiguration
    let logger: Logger
    /// Known brokers by node id.
    public private(set) var brokers: [Int32: KafkaBrokerMetadata] = [:]
    /// Cached topic metadata by name.
    public private(set) var topics: [String: KafkaTopicMetadata] = [:]
    /// The cluster id, once known.
    public private(set) var clusterID: String?
    /// The controller node id, once known.
    public private(set) var controllerID: Int32 = -1
    /// One pool per broker address (WireCore's ``WireCore/ConnectionPool``, at most one connection,
    /// shared by every request: Kafka multiplexes by correlation id), keyed by node id and address;
    /// bootstrap servers have node id -1.
    private var pools: [PoolKey: ConnectionPool<KafkaBrokerConnection>] = [:]
    /// Each pool's maintenance (`ConnectionPool.run()`: idle reaping, circuit-breaker retries).
    private var poolTasks: [Task<Void, Never>] = []
    private var coordinators: [String: Int32] = [:]
    private var lastRefresh: ContinuousClock.Instant?
    private var closed = false

    struct PoolKey: Hashable {
        var nodeID: Int32
        var address: KafkaBrokerAddress
    }

    /// Creates a cluster view; nothing connects until first use.
    public init(configuration: KafkaClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Closes every connection.
    public func shutdown() async {
        closed = true
        let all = Array(pools.values), tasks = poolTasks
        pools.removeAll()
        poolTasks.removeAll()
        for pool in all { await pool.shutdown() }
        for task in tasks { await task.value }
    }

    // MARK: Connections

    /// The pool settings for one broker: one connection with unlimited concurrent requests, reconnects
    /// paced by ``KafkaClientConfiguration/reconnectBackoff`` (the pool's circuit breaker opens after
    /// each failed connect and retries after the backoff), closed after
    /// ``KafkaClientConfiguration/connectionsMaxIdle`` unused.
    static func poolConfiguration(_ c: KafkaClientConfiguration) -> ConnectionPoolConfiguration {
        ConnectionPoolConfiguration(minConnections: 0, maxConnections: 1, leasesPerConnection: 1 << 20,
                                    idleTimeout: c.connectionsMaxIdle, leaseTimeout: c.connectTimeout + c.requestTimeout * 2,
                                    circuitBreakerThreshold: 1, circuitBreakerBackoff: c.reconnectBackoff)
    }

    private func pool(nodeID: Int32, address: KafkaBrokerAddress) -> ConnectionPool<KafkaBrokerConnection> {
        let key = PoolKey(nodeID: nodeID, address: address)
        if let pool = pools[key] { return pool }
        if nodeID >= 0 {
            // The node moved: retire the pool of its old address.
            for (old, pool) in pools where old.nodeID == nodeID {
                pools[old] = nil
                Task { await pool.shutdown() }
            }
        }
        let configuration = self.configuration, logger = self.logger
        let pool = ConnectionPool<KafkaBrokerConnection>(configuration: Self.poolConfiguration(configuration), logger: logger) {
            try await KafkaBrokerConnection.connect(to: address, nodeID: nodeID, configuration: configuration, logger: logger)
        }
        pools[key] = pool
        poolTasks.append(Task { await pool.run() })
        return pool
    }

    /// The pool's connection. Requests are multiplexed on it, so the lease only asks the pool for a
    /// live connection (opening or replacing it) and is given back at once.
    private func lease(_ pool: ConnectionPool<KafkaBrokerConnection>) async throws -> KafkaBrokerConnection {
        let connection: KafkaBrokerConnection
        do {
            connection = try await pool.lease()
        } catch let error as ConnectionPoolError {
            if case .circuitOpen(let last) = error, let last = last as? KafkaConnectionError { throw last }
            throw KafkaConnectionError.connectFailed("\(error)")
        }
        pool.release(connection)
        return connection
    }

    /// A connection to node `nodeID`, opened on first use and reopened if it died.
    public func connection(to nodeID: Int32) async throws -> KafkaBrokerConnection {
        guard !closed else { throw KafkaConnectionError.closed("client is shut down") }
        if brokers[nodeID] == nil { try await refreshMetadata(topics: []) }
        guard let broker = brokers[nodeID] else { throw KafkaConnectionError.connectFailed("unknown broker node \(nodeID)") }
        return try await lease(pool(nodeID: nodeID, address: broker.address))
    }

    /// Any usable connection: an open one, else a known broker's, else a bootstrap server's (tried in order).
    public func anyConnection() async throws -> KafkaBrokerConnection {
        guard !closed else { throw KafkaConnectionError.closed("client is shut down") }
        let open = pools.filter { $0.value.statistics.connections > 0 }.sorted { $0.key.nodeID > $1.key.nodeID }
        for (_, pool) in open {
            if let c = try? await lease(pool), c.isUsable { return c }
        }
        if let id = brokers.keys.sorted().first, let c = try? await connection(to: id) { return c }
        var lastError: (any Error)?
        for address in configuration.bootstrapServers {
            do {
                return try await lease(pool(nodeID: -1, address: address))
            } catch {
                logger.debug("bootstrap server failed", metadata: ["broker": "\(address)", "error": "\(error)"])
                lastError = error
            }
        }
        throw lastError ?? KafkaConnectionError.connectFailed("no bootstrap servers configured")
    }

    // MARK: Metadata

    /// Fetches metadata for `topics` (nil = all topics) and updates the cache.
    @discardableResult
    public func refreshMetadata(topics requested: [String]?, allowAutoCreate: Bool = false) async throws -> [KafkaTopicMetadata] {
        let connection = try await anyConnection()
        let version = try connection.version(for: .metadata)
        let topicsValue: KafkaValue
        if let requested {
            topicsValue = .structs(requested.map { ["Name": .string($0)] })
        } else {
            topicsValue = version >= 1 ? .null : .array([])
        }
        let response = try await connection.send(.metadata, ["Topics": topicsValue, "AllowAutoTopicCreation": .bool(allowAutoCreate)])
        for b in response.structs("Brokers") {
            let id = b.int32("NodeId")
            brokers[id] = KafkaBrokerMetadata(nodeID: id, address: KafkaBrokerAddress(host: b.string("Host") ?? "", port: Int(b.int32("Port"))), rack: b.string("Rack"))
        }
        clusterID = response.string("ClusterId") ?? clusterID
        if response["ControllerId"] != nil { controllerID = response.int32("ControllerId") }
        var result: [KafkaTopicMetadata] = []
        for t in response.structs("Topics") {
            let partitions = t.structs("Partitions").map { p in
                KafkaPartitionMetadata(partition: p.int32("PartitionIndex"), leader: p.int32("LeaderId"), leaderEpoch: p.int32("LeaderEpoch"),
                                       replicas: p.ints("ReplicaNodes").map(Int32.init), isr: p.ints("IsrNodes").map(Int32.init), errorCode: p.int16("ErrorCode"))
            }.sorted { $0.partition < $1.partition }
            let meta = KafkaTopicMetadata(name: t.string("Name") ?? "", topicID: t.uuid("TopicId"), errorCode: t.int16("ErrorCode"),
                                          partitions: partitions, isInternal: t.bool("IsInternal"))
            if meta.errorCode == 0 && !partitions.isEmpty { topics[meta.name] = meta } else { topics[meta.name] = nil }
            result.append(meta)
        }
        lastRefresh = .now
        return result
    }

    /// Metadata for `topic`, refreshed if unknown or older than `metadataMaxAge`.
    public func metadata(for topic: String, allowAutoCreate: Bool = false) async throws -> KafkaTopicMetadata {
        if let m = topics[topic], let last = lastRefresh, ContinuousClock.now - last < configuration.metadataMaxAge { return m }
        let result = try await refreshMetadata(topics: [topic], allowAutoCreate: allowAutoCreate)
        if let m = topics[topic] { return m }
        let code = result.first { $0.name == topic }?.errorCode ?? KafkaErrorCode.unknownTopicOrPartition.rawValue
        throw KafkaError(code: code == 0 ? KafkaErrorCode.leaderNotAvailable.rawValue : code, context: "metadata for topic \(topic)")
    }

    /// Drops cached metadata of `topic` so the next lookup asks the cluster.
    public func invalidate(topic: String) {
        topics[topic] = nil
    }

    /// The leader node of a partition.
    public func leader(for tp: KafkaTopicPartition) async throws -> Int32 {
        let m = try await metadata(for: tp.topic)
        guard let p = m.partitions.first(where: { $0.partition == tp.partition }) else {
            throw KafkaError(.unknownTopicOrPartition, context: "partition \(tp)")
        }
        guard p.leader >= 0 else { throw KafkaError(.leaderNotAvailable, context: "partition \(tp)") }
        return p.leader
    }

    // MARK: Coordinators

    /// Kind of coordinator.
    public enum CoordinatorType: Int8, Sendable {
        /// Consumer group coordinator.
        case group = 0
        /// Transaction coordinator.
        case transaction = 1
    }

    /// A connection to the coordinator of `key` (a group id or transactional id).
    public func coordinator(for key: String, type: CoordinatorType) async throws -> KafkaBrokerConnection {
        let cacheKey = "\(type.rawValue):\(key)"
        if let id = coordinators[cacheKey] {
            if let c = try? await connection(to: id) { return c }
            coordinators[cacheKey] = nil
        }
        var attempt = 0
        while true {
            let connection = try await anyConnection()
            let version = try connection.version(for: .findCoordinator)
            let body: KafkaStruct = ["Key": .string(key), "KeyType": .int(Int64(type.rawValue)), "CoordinatorKeys": [.string(key)]]
            let response = try await connection.send(.findCoordinator, body)
            var code = response.int16("ErrorCode"), nodeID = response.int32("NodeId"), host = response.string("Host"), port = response.int32("Port")
            var message = response.string("ErrorMessage")
            if version >= 4, let c = response.structs("Coordinators").first {
                code = c.int16("ErrorCode"); nodeID = c.int32("NodeId"); host = c.string("Host"); port = c.int32("Port"); message = c.string("ErrorMessage")
            }
            if code == 0 {
                if brokers[nodeID] == nil, let host {
                    brokers[nodeID] = KafkaBrokerMetadata(nodeID: nodeID, address: KafkaBrokerAddress(host: host, port: Int(port)), rack: nil)
                }
                coordinators[cacheKey] = nodeID
                return try await self.connection(to: nodeID)
            }
            let error = KafkaError(code: code, context: "FindCoordinator(\(key))", message: message)
            attempt += 1
            guard error.isRetriable, attempt < 20 else { throw error }
            try await Task.sleep(for: configuration.retryBackoff)
        }
    }

    /// Forgets the cached coordinator for `key` (after NOT_COORDINATOR).
    public func invalidateCoordinator(for key: String, type: CoordinatorType) {
        coordinators["\(type.rawValue):\(key)"] = nil
    }
}
