import NIOCore

extension RedisCommandExecutor {
    /// `DEL key...`; returns how many keys existed.
    @discardableResult
    public func delete(_ keys: String...) async throws -> Int {
        try await delete(keys)
    }

    /// `DEL key...`; returns how many keys existed.
    @discardableResult
    public func delete(_ keys: [String]) async throws -> Int {
        try await send(RedisCommand("DEL", keys.map { .string($0) }, keyIndices: Array(keys.indices)), as: Int.self)
    }

    /// `UNLINK key...` (asynchronous delete); returns how many keys existed.
    @discardableResult
    public func unlink(_ keys: [String]) async throws -> Int {
        try await send(RedisCommand("UNLINK", keys.map { .string($0) }, keyIndices: Array(keys.indices)), as: Int.self)
    }

    /// `EXISTS key...`; returns how many of the keys exist.
    public func exists(_ keys: String...) async throws -> Int {
        try await send(RedisCommand("EXISTS", keys.map { .string($0) }, keyIndices: Array(keys.indices), isReadOnly: true), as: Int.self)
    }

    /// `EXPIRE key seconds`; returns whether a timeout was set.
    @discardableResult
    public func expire(_ key: String, after duration: Duration) async throws -> Bool {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return try await send(RedisCommand("PEXPIRE", [.string(key), .integer(ms)], keyIndices: [0]), as: Bool.self)
    }

    /// `PERSIST key`; returns whether a timeout was removed.
    @discardableResult
    public func persist(_ key: String) async throws -> Bool {
        try await send(RedisCommand("PERSIST", [.string(key)], keyIndices: [0]), as: Bool.self)
    }

    /// `PTTL key`: remaining time to live; nil if the key has no expiry or does not exist.
    public func timeToLive(_ key: String) async throws -> Duration? {
        let ms = try await send(RedisCommand("PTTL", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int64.self)
        return ms < 0 ? nil : .milliseconds(ms)
    }

    /// `TYPE key` (`string`, `list`, `set`, `zset`, `hash`, `stream` or `none`).
    public func keyType(_ key: String) async throws -> String {
        try await send(RedisCommand("TYPE", [.string(key)], keyIndices: [0], isReadOnly: true), as: String.self)
    }

    /// `RENAME key newkey`.
    public func rename(_ key: String, to newKey: String) async throws {
        _ = try await send(RedisCommand("RENAME", [.string(key), .string(newKey)], keyIndices: [0, 1]))
    }

    /// `SCAN` over the whole keyspace with an optional `MATCH` pattern; returns all matching keys.
    /// Bounded by `limit` keys to keep memory in check.
    public func scan(match pattern: String? = nil, count: Int = 100, limit: Int = 100_000) async throws -> [String] {
        var cursor = "0"
        var keys: [String] = []
        repeat {
            var args: [RedisArgument] = [.string(cursor)]
            if let pattern { args += ["MATCH", .string(pattern)] }
            args += ["COUNT", .integer(Int64(count))]
            let reply = try await send(RedisCommand("SCAN", args, isReadOnly: true))
            guard let parts = reply.elements, parts.count == 2 else { throw RedisResponseTypeError(expected: "SCAN reply", reply: reply) }
            cursor = try String(fromRESP: parts[0])
            keys += try [String](fromRESP: parts[1])
        } while cursor != "0" && keys.count < limit
        return keys
    }

    /// `PING`; returns the server's answer (`PONG`).
    public func ping() async throws -> String {
        try await send(RedisCommand("PING"), as: String.self)
    }
}
