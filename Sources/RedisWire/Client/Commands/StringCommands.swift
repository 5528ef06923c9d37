import NIOCore

/// How long a key set by ``RedisCommandExecutor/set(_:to:expiration:condition:)`` lives.
public enum RedisExpiration: Sendable, Hashable {
    /// Expire after this many seconds (`EX`).
    case seconds(Int)
    /// Expire after this many milliseconds (`PX`).
    case milliseconds(Int)
    /// Keep the key's current time to live (`KEEPTTL`).
    case keepTTL

    var arguments: [RedisArgument] {
        switch self {
        case .seconds(let s): return ["EX", .integer(Int64(s))]
        case .milliseconds(let ms): return ["PX", .integer(Int64(ms))]
        case .keepTTL: return ["KEEPTTL"]
        }
    }
}

/// When ``RedisCommandExecutor/set(_:to:expiration:condition:)`` writes.
public enum RedisSetCondition: Sendable, Hashable {
    /// Always.
    case always
    /// Only if the key does not exist (`NX`).
    case ifNotExists
    /// Only if the key exists (`XX`).
    case ifExists
}

extension RedisCommandExecutor {
    /// `GET key` as text; nil when the key does not exist.
    public func get(_ key: String) async throws -> String? {
        try await send(RedisCommand("GET", [.string(key)], keyIndices: [0], isReadOnly: true), as: String?.self)
    }

    /// `GET key` as raw bytes; nil when the key does not exist.
    public func getBytes(_ key: String) async throws -> ByteBuffer? {
        try await send(RedisCommand("GET", [.string(key)], keyIndices: [0], isReadOnly: true), as: ByteBuffer?.self)
    }

    /// `SET key value [EX|PX|KEEPTTL] [NX|XX]`; returns whether the value was written.
    @discardableResult
    public func set(_ key: String, to value: some RedisArgumentConvertible, expiration: RedisExpiration? = nil,
                    condition: RedisSetCondition = .always) async throws -> Bool {
        var args: [RedisArgument] = [.string(key), value.redisArgument]
        if let expiration { args += expiration.arguments }
        switch condition {
        case .always: break
        case .ifNotExists: args.append("NX")
        case .ifExists: args.append("XX")
        }
        let reply = try await send(RedisCommand("SET", args, keyIndices: [0]))
        return reply.withoutAttributes != .null
    }

    /// `GETDEL key`: returns the value and deletes the key.
    public func getDelete(_ key: String) async throws -> String? {
        try await send(RedisCommand("GETDEL", [.string(key)], keyIndices: [0]), as: String?.self)
    }

    /// `MGET key...`: the values in key order, nil for missing keys.
    public func mget(_ keys: [String]) async throws -> [String?] {
        try await send(RedisCommand("MGET", keys.map { .string($0) }, keyIndices: Array(keys.indices), isReadOnly: true), as: [String?].self)
    }

    /// `MSET key value ...`.
    public func mset(_ pairs: [(key: String, value: any RedisArgumentConvertible)]) async throws {
        var args: [RedisArgument] = []
        var keyIndices: [Int] = []
        for (i, pair) in pairs.enumerated() {
            keyIndices.append(i * 2)
            args += [.string(pair.key), pair.value.redisArgument]
        }
        _ = try await send(RedisCommand("MSET", args, keyIndices: keyIndices))
    }

    /// `INCR key`.
    @discardableResult
    public func increment(_ key: String) async throws -> Int64 {
        try await send(RedisCommand("INCR", [.string(key)], keyIndices: [0]), as: Int64.self)
    }

    /// `INCRBY key amount`.
    @discardableResult
    public func increment(_ key: String, by amount: Int64) async throws -> Int64 {
        try await send(RedisCommand("INCRBY", [.string(key), .integer(amount)], keyIndices: [0]), as: Int64.self)
    }

    /// `INCRBYFLOAT key amount`.
    @discardableResult
    public func increment(_ key: String, byFloat amount: Double) async throws -> Double {
        try await send(RedisCommand("INCRBYFLOAT", [.string(key), .double(amount)], keyIndices: [0]), as: Double.self)
    }

    /// `DECR key`.
    @discardableResult
    public func decrement(_ key: String) async throws -> Int64 {
        try await send(RedisCommand("DECR", [.string(key)], keyIndices: [0]), as: Int64.self)
    }

    /// `APPEND key value`; returns the new length.
    @discardableResult
    public func append(_ key: String, _ value: some RedisArgumentConvertible) async throws -> Int {
        try await send(RedisCommand("APPEND", [.string(key), value.redisArgument], keyIndices: [0]), as: Int.self)
    }

    /// `STRLEN key`.
    public func stringLength(_ key: String) async throws -> Int {
        try await send(RedisCommand("STRLEN", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int.self)
    }
}
