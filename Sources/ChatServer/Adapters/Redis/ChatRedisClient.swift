import RedisWire
import ServiceLifecycle

/// The RedisWire clients the chat adapters run on: one server (``RedisClient``) or a cluster
/// (``RedisClusterClient``, as the reference's 3-master Redis cluster). The adapters only send
/// single-slot commands, so both route them.
public protocol ChatRedisClient: RedisCommandExecutor, Service {
    /// Sends the commands together and returns each result in order.
    func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RESPValue, RedisServerError>]
    /// Subscribes to `names` for the duration of `body`.
    func subscribe<T>(to names: [String], kind: RedisSubscriptionKind, _ body: (RedisSubscription) async throws -> T) async throws -> T
}

extension RedisClient: ChatRedisClient {}
extension RedisClusterClient: ChatRedisClient {}
