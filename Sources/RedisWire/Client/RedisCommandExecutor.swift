import NIOCore

/// Anything that runs Redis commands: a ``RedisConnection``, a ``RedisClient`` (pooled), a
/// ``RedisClusterClient`` (routed by slot). All typed commands are defined on this protocol,
/// so they work the same everywhere.
public protocol RedisCommandExecutor: Sendable {
    /// Sends a command and returns its reply; error replies are thrown as ``RedisServerError``.
    func send(_ command: RedisCommand) async throws -> RESPValue
}

extension RedisConnection: RedisCommandExecutor {}

extension RedisCommandExecutor {
    /// Sends a raw command built from a name and arguments, e.g. `send("OBJECT", "ENCODING", "k")`.
    @discardableResult
    public func send(_ name: String, _ arguments: RedisArgument...) async throws -> RESPValue {
        try await send(RedisCommand(name, arguments))
    }

    /// Sends a command and decodes the reply into `type`.
    public func send<T: RESPValueDecodable>(_ command: RedisCommand, as type: T.Type) async throws -> T {
        try T(fromRESP: try await send(command))
    }

    /// `PUBLISH channel message`; returns how many subscribers received it.
    @discardableResult
    public func publish(_ message: some RedisArgumentConvertible, to channel: String) async throws -> Int {
        try await send(RedisCommand("PUBLISH", [.string(channel), message.redisArgument]), as: Int.self)
    }

    /// `SPUBLISH shardchannel message`; returns how many subscribers received it.
    @discardableResult
    public func spublish(_ message: some RedisArgumentConvertible, to channel: String) async throws -> Int {
        try await send(RedisCommand("SPUBLISH", [.string(channel), message.redisArgument], keyIndices: [0]), as: Int.self)
    }
}
