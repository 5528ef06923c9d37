import NIOCore

/// A Lua script run with `EVALSHA` under its locally computed SHA1, loaded with `SCRIPT LOAD`
/// whenever the server answers `NOSCRIPT` (first use, after a restart, after `SCRIPT FLUSH`, on
/// a new cluster node), then retried.
///
/// ```swift
/// let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
/// let n = try await script.run(on: client, keys: ["counter"], arguments: [5], as: Int.self)
/// ```
public final class RedisScript: Sendable {
    /// The Lua source.
    public let source: String
    /// The script's SHA1 (hex), the name `EVALSHA` uses.
    public let sha1: String

    /// Creates a script from its Lua source.
    public init(_ source: String) {
        self.source = source
        self.sha1 = ScriptSHA1.hex(source)
    }

    /// Runs the script with `EVALSHA`, loading it and retrying once if the server answers `NOSCRIPT`.
    public func run(on executor: some RedisCommandExecutor, keys: [String] = [], arguments: [any RedisArgumentConvertible] = []) async throws -> RESPValue {
        do {
            return try await executor.evalsha(sha1, keys: keys, arguments: arguments)
        } catch let error as RedisServerError where error.code == "NOSCRIPT" {
            let loaded = try await executor.scriptLoad(source, routingKey: keys.first)
            return try await executor.evalsha(loaded, keys: keys, arguments: arguments)
        }
    }

    /// Runs the script and decodes the reply into `type`.
    public func run<T: RESPValueDecodable>(on executor: some RedisCommandExecutor, keys: [String] = [],
                                           arguments: [any RedisArgumentConvertible] = [], as type: T.Type) async throws -> T {
        try T(fromRESP: try await run(on: executor, keys: keys, arguments: arguments))
    }
}

extension RedisCommandExecutor {
    /// `EVAL script numkeys key... arg...`.
    public func eval(_ script: String, keys: [String] = [], arguments: [any RedisArgumentConvertible] = []) async throws -> RESPValue {
        try await send(RedisCommand("EVAL", [.string(script), .integer(Int64(keys.count))] + keys.map { .string($0) } + arguments.map(\.redisArgument),
                                    keyIndices: keys.indices.map { $0 + 2 }))
    }

    /// `EVALSHA sha numkeys key... arg...`.
    public func evalsha(_ sha: String, keys: [String] = [], arguments: [any RedisArgumentConvertible] = []) async throws -> RESPValue {
        try await send(RedisCommand("EVALSHA", [.string(sha), .integer(Int64(keys.count))] + keys.map { .string($0) } + arguments.map(\.redisArgument),
                                    keyIndices: keys.indices.map { $0 + 2 }))
    }

    /// `SCRIPT LOAD source`; returns the SHA1. In a cluster, `routingKey` picks the node.
    public func scriptLoad(_ source: String, routingKey: String? = nil) async throws -> String {
        if let routingKey {
            // A phantom key argument is not sent; the cluster router uses it only to pick the node.
            var command = RedisCommand("SCRIPT", ["LOAD", .string(source)])
            command.routingKey = .string(routingKey)
            return try await send(command, as: String.self)
        }
        return try await send(RedisCommand("SCRIPT", ["LOAD", .string(source)]), as: String.self)
    }
}
