import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WireCore

/// Configuration of a ``RedisClusterClient``.
public struct RedisClusterConfiguration: Sendable {
    /// Nodes to read the topology from first (any subset of the cluster).
    public var seeds: [RedisNodeAddress]
    /// Template for every node connection (auth, TLS, protocol); its endpoint is replaced per node.
    public var connection: RedisConnectionConfiguration
    /// Pool settings per node.
    public var pool: ConnectionPoolConfiguration
    /// Send read-only commands to replicas (round-robin) instead of masters.
    public var readFromReplicas: Bool
    /// Most `MOVED`/`ASK`/`TRYAGAIN` retries of one command.
    public var maxRedirects: Int
    /// How often the slot map is re-read even without redirections.
    public var topologyRefreshInterval: Duration
    /// Backoff between retries after `TRYAGAIN`, `CLUSTERDOWN` or an unreachable node.
    public var retryBackoff: Backoff

    /// Creates a configuration.
    public init(seeds: [RedisNodeAddress], connection: RedisConnectionConfiguration? = nil, pool: ConnectionPoolConfiguration? = nil,
                readFromReplicas: Bool = false, maxRedirects: Int = 16, topologyRefreshInterval: Duration = .seconds(30),
                retryBackoff: Backoff = Backoff(base: .milliseconds(20), cap: .milliseconds(500))) {
        precondition(!seeds.isEmpty, "a cluster client needs at least one seed node")
        self.seeds = seeds
        self.connection = connection ?? .tcp(host: seeds[0].host, port: seeds[0].port)
        if let pool {
            self.pool = pool
        } else {
            var p = ConnectionPoolConfiguration()
            p.maxConnections = 2
            p.leasesPerConnection = 64
            self.pool = p
        }
        self.readFromReplicas = readFromReplicas
        self.maxRedirects = maxRedirects
        self.topologyRefreshInterval = topologyRefreshInterval
        self.retryBackoff = retryBackoff
    }
}

/// A Redis Cluster client: routes each command to the node that owns its keys' hash slot,
/// follows `MOVED` and `ASK` redirections, refreshes the slot map (from `CLUSTER SHARDS`, or
/// `CLUSTER SLOTS` on older servers), splits multi-key commands (`MGET`, `MSET`, `DEL`,
/// `UNLINK`, `EXISTS`, `TOUCH`) and pipelines per slot / shard, and can read from replicas.
public final class RedisClusterClient: Service, RedisCommandExecutor, Sendable {
    struct PoolKey: Hashable, Sendable {
        var address: RedisNodeAddress
        var readOnly: Bool
    }

    /// The configuration.
    public let configuration: RedisClusterConfiguration
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    private let topology = Mutex(ClusterTopology())
    private let pools = Mutex<[PoolKey: ConnectionPool<RedisConnection>]>([:])
    private let replicaCursor = Mutex(0)
    private let newPools: AsyncStream<ConnectionPool<RedisConnection>>
    private let newPoolsContinuation: AsyncStream<ConnectionPool<RedisConnection>>.Continuation
    private let refreshRequests: AsyncStream<Void>
    private let refreshContinuation: AsyncStream<Void>.Continuation
    private let refreshCount = Mutex(0)
    private let subscriptionManagers = Mutex<[RedisNodeAddress: RedisSubscriptionManager]>([:])
    private let newManagers: AsyncStream<RedisSubscriptionManager>
    private let newManagersContinuation: AsyncStream<RedisSubscriptionManager>.Continuation
    private let subscriptionRouter = SubscriptionRouter()
    private let displaced: AsyncStream<[SubscriptionRouter.Key]>
    private let displacedContinuation: AsyncStream<[SubscriptionRouter.Key]>.Continuation

    /// Creates a cluster client; the slot map is read on first use.
    public init(configuration: RedisClusterConfiguration, logger: Logger,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        (newPools, newPoolsContinuation) = AsyncStream.makeStream(of: ConnectionPool<RedisConnection>.self)
        (refreshRequests, refreshContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (newManagers, newManagersContinuation) = AsyncStream.makeStream(of: RedisSubscriptionManager.self)
        (displaced, displacedContinuation) = AsyncStream.makeStream(of: [SubscriptionRouter.Key].self)
    }

    /// Runs node pools, periodic topology refresh and refresh-on-redirect until cancelled or
    /// graceful shutdown.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { pools in
                    for await pool in self.newPools { pools.addTask { await pool.run() } }
                }
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { managers in
                    for await manager in self.newManagers { managers.addTask { await manager.run() } }
                }
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { rehomes in
                    for await keys in self.displaced { rehomes.addTask { await self.rehome(keys) } }
                    rehomes.cancelAll()
                }
            }
            group.addTask {
                for await _ in self.refreshRequests {
                    try? await self.refreshTopology()
                    try? await Task.sleep(for: .milliseconds(50))   // debounce bursts of MOVED
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.configuration.topologyRefreshInterval)
                    if Task.isCancelled { break }
                    self.refreshContinuation.yield()
                }
            }
            try? await gracefulShutdown()
            newPoolsContinuation.finish()
            refreshContinuation.finish()
            newManagersContinuation.finish()
            displacedContinuation.finish()
            group.cancelAll()
        }
        let managers = subscriptionManagers.withLock { m in
            let all = Array(m.values)
            m = [:]
            return all
        }
        for manager in managers { await manager.shutdown(finishSubscribers: false) }
        subscriptionRouter.finishAll(error: nil)
        let all = pools.withLock { p in
            let all = Array(p.values)
            p = [:]
            return all
        }
        for pool in all { await pool.shutdown() }
    }

    /// The shards of the current slot map (reads it if not loaded yet).
    public func shards() async throws -> [RedisClusterShard] {
        try await ensureTopology()
        return topology.withLock { $0.shards }
    }

    /// How many times the slot map was read (for tests and metrics).
    public var topologyRefreshes: Int { refreshCount.withLock { $0 } }

    // MARK: pools

    private func pool(for address: RedisNodeAddress, readOnly: Bool) -> ConnectionPool<RedisConnection> {
        let key = PoolKey(address: address, readOnly: readOnly)
        return pools.withLock { pools in
            if let p = pools[key] { return p }
            var nodeConfig = configuration.connection
            nodeConfig.transport.endpoint = .tcp(host: address.host, port: address.port)
            let config = nodeConfig
            let logger = self.logger
            let group = self.eventLoopGroup
            let pool = ConnectionPool<RedisConnection>(configuration: configuration.pool, logger: logger) {
                let connection = try await RedisConnection.connect(configuration: config, logger: logger, eventLoopGroup: group)
                if readOnly { _ = try await connection.send(RedisCommand("READONLY")) }
                return connection
            }
            pools[key] = pool
            newPoolsContinuation.yield(pool)
            return pool
        }
    }

    // MARK: topology

    /// Reads the slot map from the first node that answers (known masters, then seeds).
    public func refreshTopology() async throws {
        let candidates = topology.withLock { $0.allMasters } + configuration.seeds
        var lastError: (any Error)?
        for address in candidates {
            do {
                let pool = self.pool(for: address, readOnly: false)
                let new = try await pool.withConnection { connection -> ClusterTopology in
                    let reply = try await connection.sendRaw(RedisCommand("CLUSTER", "SHARDS"))
                    if reply.isError {
                        return try ClusterTopology.fromSlots(try await connection.send(RedisCommand("CLUSTER", "SLOTS")))
                    }
                    return try ClusterTopology.fromShards(reply)
                }
                topology.withLock { $0 = new }
                refreshCount.withLock { $0 += 1 }
                logger.debug("cluster topology refreshed", metadata: ["shards": "\(new.shards.count)", "from": "\(address)"])
                return
            } catch {
                lastError = error
            }
        }
        throw RedisClientError.topologyUnavailable("\(lastError.map { "\($0)" } ?? "no node answered")")
    }

    private func ensureTopology() async throws {
        if topology.withLock({ $0.shards.isEmpty }) { try await refreshTopology() }
    }

    private func target(slot: Int?, readOnly: Bool) async throws -> RedisNodeAddress {
        try await ensureTopology()
        let choice: RedisNodeAddress? = topology.withLock { t in
            guard let slot else { return t.allMasters.first }
            if readOnly, t.movedOverrides[slot] == nil, let shard = t.shard(for: slot), !shard.replicas.isEmpty {
                let i = replicaCursor.withLock { c in c &+= 1; return c }
                return shard.replicas[abs(i) % shard.replicas.count]
            }
            return t.master(for: slot)
        }
        guard let choice else { throw RedisClientError.slotNotCovered(slot ?? -1) }
        return choice
    }

    // MARK: routing

    static func slot(of command: RedisCommand) throws -> Int? {
        let keys = command.keys
        guard let first = keys.first else { return nil }
        let slot = RedisHashSlot.slot(for: first.bytes)
        for key in keys.dropFirst() where RedisHashSlot.slot(for: key.bytes) != slot {
            throw RedisClientError.crossSlot(command: command.name)
        }
        return slot
    }

    /// Sends a command to the node owning its slot, following redirections. Multi-key
    /// commands whose keys span slots are split per slot when the command allows it.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        if let op = RedisTracing.command(command, nil) { return try await op.run { try await self.send(command) } }
        do {
            return try await execute(command, slot: try Self.slot(of: command))
        } catch RedisClientError.crossSlot {
            return try await sendSplit(command)
        }
    }

    private func sendSplit(_ command: RedisCommand) async throws -> RESPValue {
        let name = command.name
        switch name {
        case "MGET":
            let keys = command.keys
            var groups: [Int: [Int]] = [:]
            for (i, key) in keys.enumerated() { groups[RedisHashSlot.slot(for: key.bytes), default: []].append(i) }
            var results = [RESPValue](repeating: .null, count: keys.count)
            try await withThrowingTaskGroup(of: ([Int], RESPValue).self) { group in
                for (slot, indices) in groups {
                    group.addTask {
                        let sub = RedisCommand("MGET", indices.map { keys[$0] }, keyIndices: Array(indices.indices), isReadOnly: true)
                        return (indices, try await self.execute(sub, slot: slot))
                    }
                }
                for try await (indices, reply) in group {
                    let values = reply.elements ?? []
                    for (j, i) in indices.enumerated() where j < values.count { results[i] = values[j] }
                }
            }
            return .array(results)
        case "MSET":
            var groups: [Int: [RedisArgument]] = [:]
            for i in stride(from: 1, to: command.arguments.count - 1, by: 2) {
                groups[RedisHashSlot.slot(for: command.arguments[i].bytes), default: []] += [command.arguments[i], command.arguments[i + 1]]
            }
            try await withThrowingTaskGroup(of: RESPValue.self) { group in
                for (slot, args) in groups {
                    group.addTask {
                        try await self.execute(RedisCommand("MSET", args, keyIndices: Array(stride(from: 0, to: args.count, by: 2))), slot: slot)
                    }
                }
                try await group.waitForAll()
            }
            return .simpleString("OK")
        case "DEL", "UNLINK", "EXISTS", "TOUCH":
            var groups: [Int: [RedisArgument]] = [:]
            for key in command.keys { groups[RedisHashSlot.slot(for: key.bytes), default: []].append(key) }
            return try await withThrowingTaskGroup(of: Int64.self) { group in
                for (slot, keys) in groups {
                    group.addTask {
                        try await self.execute(RedisCommand(name, keys, keyIndices: Array(keys.indices), isReadOnly: command.isReadOnly), slot: slot)
                            .decode(as: Int64.self)
                    }
                }
                var total: Int64 = 0
                for try await n in group { total += n }
                return .integer(total)
            }
        default:
            throw RedisClientError.crossSlot(command: name)
        }
    }

    func execute(_ command: RedisCommand, slot: Int?) async throws -> RESPValue {
        var askTarget: RedisNodeAddress?
        var attempt = 0
        let readOnly = command.isReadOnly && configuration.readFromReplicas
        while true {
            let address: RedisNodeAddress
            if let askTarget { address = askTarget } else { address = try await target(slot: slot, readOnly: readOnly) }
            let onReplica = askTarget == nil && readOnly && topology.withLock { t in slot.map { t.master(for: $0) != address } ?? false }
            let pool = self.pool(for: address, readOnly: onReplica)
            let reply: RESPValue
            do {
                reply = try await pool.withConnection { connection in
                    if askTarget != nil {
                        let replies = try await connection.pipeline([RedisCommand("ASKING"), command])
                        return replies[1]
                    }
                    return try await connection.sendRaw(command)
                }
            } catch where error is RedisConnectionError || error is ConnectionPoolError {
                // The node is unreachable or went away: re-read the slot map and retry. A command
                // that may have run is only retried when it is read-only.
                attempt += 1
                let mayHaveRun = (error as? RedisConnectionError)?.commandMayHaveRun ?? false
                guard attempt <= configuration.maxRedirects, !mayHaveRun || command.isReadOnly else { throw error }
                logger.debug("cluster node unreachable, refreshing topology", metadata: ["node": "\(address)", "error": "\(error)"])
                try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
                try? await refreshTopology()
                askTarget = nil
                continue
            }
            guard reply.isError else { return reply }
            let error = RedisServerError(message: errorText(reply))
            if var redirect = ClusterRedirect(error) {
                attempt += 1
                guard attempt <= configuration.maxRedirects else { throw RedisClientError.tooManyRedirects(command: command.name) }
                if case .moved(let s, let to) = redirect, to.host.isEmpty { redirect = .moved(slot: s, to: RedisNodeAddress(host: address.host, port: to.port)) }
                if case .ask(let s, let to) = redirect, to.host.isEmpty { redirect = .ask(slot: s, to: RedisNodeAddress(host: address.host, port: to.port)) }
                switch redirect {
                case .moved(let movedSlot, let to):
                    topology.withLock { $0.movedOverrides[movedSlot] = to }
                    refreshContinuation.yield()
                    askTarget = nil
                case .ask(_, let to):
                    askTarget = to
                }
                continue
            }
            if error.code == "TRYAGAIN" || error.code == "CLUSTERDOWN" || error.code == "LOADING" {
                attempt += 1
                guard attempt <= configuration.maxRedirects else { throw error }
                try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
                if error.code == "CLUSTERDOWN" { try? await refreshTopology() }
                askTarget = nil
                continue
            }
            throw error
        }
    }

    /// Runs commands as pipelines, one per shard, concurrently; returns each result in the
    /// original order. Commands redirected while in a pipeline are retried individually.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RESPValue, RedisServerError>] {
        if let op = RedisTracing.pipeline(commands, nil) { return try await op.run { try await self.pipeline(commands) } }
        var groups: [RedisNodeAddress: [(index: Int, slot: Int?)]] = [:]
        var results = [Result<RESPValue, RedisServerError>?](repeating: nil, count: commands.count)
        for (i, command) in commands.enumerated() {
            let slot: Int?
            do { slot = try Self.slot(of: command) } catch {
                results[i] = .failure(RedisServerError(message: "CROSSSLOT \(error)"))
                continue
            }
            let address = try await target(slot: slot, readOnly: false)
            groups[address, default: []].append((i, slot))
        }
        try await withThrowingTaskGroup(of: [(Int, Result<RESPValue, RedisServerError>)].self) { group in
            for (address, members) in groups {
                group.addTask {
                    let pool = self.pool(for: address, readOnly: false)
                    let replies = try await pool.withConnection { try await $0.pipeline(members.map { commands[$0.index] }) }
                    var out: [(Int, Result<RESPValue, RedisServerError>)] = []
                    for (member, reply) in zip(members, replies) {
                        if reply.isError {
                            let error = RedisServerError(message: errorText(reply))
                            if ClusterRedirect(error) != nil || error.code == "TRYAGAIN" {
                                do {
                                    out.append((member.index, .success(try await self.execute(commands[member.index], slot: member.slot))))
                                } catch let e as RedisServerError {
                                    out.append((member.index, .failure(e)))
                                }
                                continue
                            }
                            out.append((member.index, .failure(error)))
                        } else {
                            out.append((member.index, .success(reply)))
                        }
                    }
                    return out
                }
            }
            for try await part in group { for (i, r) in part { results[i] = r } }
        }
        return results.map { $0! }
    }

    private func subscriptionManager(for address: RedisNodeAddress) -> RedisSubscriptionManager {
        subscriptionManagers.withLock { managers in
            if let m = managers[address] { return m }
            var nodeConfig = configuration.connection
            nodeConfig.transport.endpoint = .tcp(host: address.host, port: address.port)
            let config = nodeConfig
            let logger = self.logger
            let group = self.eventLoopGroup
            let displacedContinuation = self.displacedContinuation
            let manager = RedisSubscriptionManager(router: subscriptionRouter, node: address, logger: logger,
                                                   backoff: configuration.retryBackoff,
                                                   displaced: { keys in displacedContinuation.yield(keys) }) { onPush in
                try await RedisConnection.connect(configuration: config, logger: logger, eventLoopGroup: group, onPush: onPush)
            }
            managers[address] = manager
            newManagersContinuation.yield(manager)
            return manager
        }
    }

    /// The node that should hold a subscription: the master of a shard channel's slot; for
    /// channels and patterns (broadcast to every node) the first master.
    private func owner(of key: SubscriptionRouter.Key) async throws -> RedisNodeAddress {
        try await target(slot: key.kind == .shardChannel ? RedisHashSlot.slot(for: key.name) : nil, readOnly: false)
    }

    /// Subscribes `keys` on the nodes the router assigned them to. A node that answers `MOVED`
    /// (the slot moved and the map is stale) or cannot be reached makes the keys move to the
    /// node the redirect names or a refreshed slot map says, up to `maxRedirects` times.
    private func place(_ keys: [SubscriptionRouter.Key]) async throws {
        var pending = keys
        var attempt = 0
        while true {
            let router = subscriptionRouter
            var byNode: [RedisNodeAddress: [SubscriptionRouter.Key]] = [:]
            for key in pending {
                if let node = router.node(of: key) { byNode[node, default: []].append(key) }
            }
            var failed: [SubscriptionRouter.Key] = []
            var lastError: (any Error)?
            for (node, group) in byNode {
                do {
                    try await subscriptionManager(for: node).send(group, subscribe: true)
                } catch {
                    failed += group
                    lastError = error
                    if let serverError = error as? RedisServerError, case .moved(let slot, var to)? = ClusterRedirect(serverError) {
                        if to.host.isEmpty { to = RedisNodeAddress(host: node.host, port: to.port) }
                        topology.withLock { $0.movedOverrides[slot] = to }
                        refreshContinuation.yield()
                    }
                }
            }
            guard let lastError else { return }
            attempt += 1
            guard attempt <= configuration.maxRedirects else { throw lastError }
            logger.debug("placing subscriptions failed, re-routing", metadata: ["error": "\(lastError)", "attempt": "\(attempt)"])
            if !(lastError is RedisServerError) {
                try await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
                try? await refreshTopology()
            }
            pending = []
            for key in failed {
                let owner = try await owner(of: key)
                if router.assign(key, to: owner) { pending.append(key) }
            }
            if pending.isEmpty { return }
        }
    }

    /// Re-places subscriptions a node dropped (slot moved: the server sent `sunsubscribe`) or
    /// lost with its connection, retrying with backoff until they are held again or nobody is
    /// subscribed any more.
    private func rehome(_ keys: [SubscriptionRouter.Key]) async {
        var attempt = 0
        while !Task.isCancelled {
            try? await refreshTopology()
            var pending: [SubscriptionRouter.Key] = []
            do {
                for key in keys where subscriptionRouter.contains(key) {
                    if subscriptionRouter.assign(key, to: try await owner(of: key)) { pending.append(key) }
                }
                if pending.isEmpty { return }
                try await place(pending)
                logger.info("subscriptions placed again after a slot move or connection loss",
                            metadata: ["count": "\(pending.count)", "nodes": "\(Set(pending.compactMap { subscriptionRouter.node(of: $0) }))"])
                return
            } catch {
                logger.warning("re-placing subscriptions failed", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: configuration.retryBackoff.delay(forAttempt: attempt))
                attempt += 1
            }
        }
    }

    /// Subscribes for the duration of `body`. Shard channels (`SSUBSCRIBE`) are subscribed on
    /// the master that owns each channel's slot; channels and patterns on one master (cluster
    /// pub/sub is broadcast to every node). Subscriptions to one node share one connection.
    ///
    /// Subscriptions follow the cluster: when a shard channel's slot moves, the old owner
    /// drops it (`sunsubscribe`) and the client subscribes again on the new owner; a `MOVED`
    /// reply to `SSUBSCRIBE` (stale slot map) re-routes it; after a node's connection is lost
    /// they are placed again on whichever node owns them then. Messages published while a
    /// subscription moves are lost, as with any Redis pub/sub.
    public func subscribe<T>(to names: [String], kind: RedisSubscriptionKind = .channel,
                             _ body: (RedisSubscription) async throws -> T) async throws -> T {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: RedisPubSubMessage.self, throwing: (any Error).self)
        let keys = names.map { SubscriptionRouter.Key(kind: kind, name: $0) }
        var owners: [SubscriptionRouter.Key: RedisNodeAddress] = [:]
        for key in keys { owners[key] = try await owner(of: key) }
        let router = subscriptionRouter
        let (id, fresh) = router.add(keys, continuation: continuation) { owners[$0] }
        func unsubscribeAll() async {
            let gone = router.remove(id, keys: keys)
            for (node, group) in Dictionary(grouping: gone, by: \.node) {
                guard let node else { continue }
                await subscriptionManager(for: node).unsubscribeOnServer(group.map(\.key))
            }
            continuation.finish()
        }
        do {
            try await place(fresh)
            let result = try await body(RedisSubscription(stream: stream))
            await unsubscribeAll()
            return result
        } catch {
            await unsubscribeAll()
            throw error
        }
    }

    /// Which node holds the subscription to a shard channel (or channel) now; nil if nobody
    /// subscribes to it (for tests and diagnostics).
    public func subscriptionNode(for name: String, kind: RedisSubscriptionKind = .shardChannel) -> RedisNodeAddress? {
        subscriptionRouter.node(of: SubscriptionRouter.Key(kind: kind, name: name))
    }

    /// Sends a command to every master (e.g. `SCRIPT LOAD`, `FLUSHDB` on a test cluster).
    public func sendToAllMasters(_ command: RedisCommand) async throws -> [RedisNodeAddress: RESPValue] {
        try await ensureTopology()
        let masters = topology.withLock { $0.allMasters }
        return try await withThrowingTaskGroup(of: (RedisNodeAddress, RESPValue).self) { group in
            for m in masters {
                group.addTask { (m, try await self.pool(for: m, readOnly: false).withConnection { try await $0.send(command) }) }
            }
            var out: [RedisNodeAddress: RESPValue] = [:]
            for try await (m, v) in group { out[m] = v }
            return out
        }
    }
}
