import NIOCore

// Hashes
extension RedisCommandExecutor {
    /// `HSET key field value ...`; returns how many fields were added (not updated).
    @discardableResult
    public func hset(_ key: String, fields: [(field: String, value: any RedisArgumentConvertible)]) async throws -> Int {
        var args: [RedisArgument] = [.string(key)]
        for f in fields { args += [.string(f.field), f.value.redisArgument] }
        return try await send(RedisCommand("HSET", args, keyIndices: [0]), as: Int.self)
    }

    /// `HSET key field value`; returns whether the field was new.
    @discardableResult
    public func hset(_ key: String, field: String, to value: some RedisArgumentConvertible) async throws -> Bool {
        try await send(RedisCommand("HSET", [.string(key), .string(field), value.redisArgument], keyIndices: [0]), as: Bool.self)
    }

    /// `HGET key field`.
    public func hget(_ key: String, field: String) async throws -> String? {
        try await send(RedisCommand("HGET", [.string(key), .string(field)], keyIndices: [0], isReadOnly: true), as: String?.self)
    }

    /// `HMGET key field...`.
    public func hmget(_ key: String, fields: [String]) async throws -> [String?] {
        try await send(RedisCommand("HMGET", [.string(key)] + fields.map { .string($0) }, keyIndices: [0], isReadOnly: true), as: [String?].self)
    }

    /// `HGETALL key` as a dictionary.
    public func hgetall(_ key: String) async throws -> [String: String] {
        try await send(RedisCommand("HGETALL", [.string(key)], keyIndices: [0], isReadOnly: true), as: [String: String].self)
    }

    /// `HDEL key field...`; returns how many fields were removed.
    @discardableResult
    public func hdel(_ key: String, fields: [String]) async throws -> Int {
        try await send(RedisCommand("HDEL", [.string(key)] + fields.map { .string($0) }, keyIndices: [0]), as: Int.self)
    }

    /// `HEXISTS key field`.
    public func hexists(_ key: String, field: String) async throws -> Bool {
        try await send(RedisCommand("HEXISTS", [.string(key), .string(field)], keyIndices: [0], isReadOnly: true), as: Bool.self)
    }

    /// `HINCRBY key field amount`.
    @discardableResult
    public func hincrby(_ key: String, field: String, by amount: Int64) async throws -> Int64 {
        try await send(RedisCommand("HINCRBY", [.string(key), .string(field), .integer(amount)], keyIndices: [0]), as: Int64.self)
    }

    /// `HLEN key`.
    public func hlen(_ key: String) async throws -> Int {
        try await send(RedisCommand("HLEN", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int.self)
    }

    /// `HKEYS key`.
    public func hkeys(_ key: String) async throws -> [String] {
        try await send(RedisCommand("HKEYS", [.string(key)], keyIndices: [0], isReadOnly: true), as: [String].self)
    }
}

// Lists
extension RedisCommandExecutor {
    /// `LPUSH key value...`; returns the new length.
    @discardableResult
    public func lpush(_ key: String, _ values: [any RedisArgumentConvertible]) async throws -> Int {
        try await send(RedisCommand("LPUSH", [.string(key)] + values.map(\.redisArgument), keyIndices: [0]), as: Int.self)
    }

    /// `RPUSH key value...`; returns the new length.
    @discardableResult
    public func rpush(_ key: String, _ values: [any RedisArgumentConvertible]) async throws -> Int {
        try await send(RedisCommand("RPUSH", [.string(key)] + values.map(\.redisArgument), keyIndices: [0]), as: Int.self)
    }

    /// `LPOP key`.
    public func lpop(_ key: String) async throws -> String? {
        try await send(RedisCommand("LPOP", [.string(key)], keyIndices: [0]), as: String?.self)
    }

    /// `RPOP key`.
    public func rpop(_ key: String) async throws -> String? {
        try await send(RedisCommand("RPOP", [.string(key)], keyIndices: [0]), as: String?.self)
    }

    /// `LRANGE key start stop` (inclusive, negative indexes count from the end).
    public func lrange(_ key: String, _ start: Int, _ stop: Int) async throws -> [String] {
        try await send(RedisCommand("LRANGE", [.string(key), .integer(Int64(start)), .integer(Int64(stop))], keyIndices: [0], isReadOnly: true), as: [String].self)
    }

    /// `LLEN key`.
    public func llen(_ key: String) async throws -> Int {
        try await send(RedisCommand("LLEN", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int.self)
    }

    /// `LINDEX key index`.
    public func lindex(_ key: String, _ index: Int) async throws -> String? {
        try await send(RedisCommand("LINDEX", [.string(key), .integer(Int64(index))], keyIndices: [0], isReadOnly: true), as: String?.self)
    }

    /// `LTRIM key start stop`.
    public func ltrim(_ key: String, _ start: Int, _ stop: Int) async throws {
        _ = try await send(RedisCommand("LTRIM", [.string(key), .integer(Int64(start)), .integer(Int64(stop))], keyIndices: [0]))
    }

    /// `BLPOP key... timeout`: waits up to `timeout` for an element; returns (key, element) or nil.
    public func blpop(_ keys: [String], timeout: Duration) async throws -> (key: String, value: String)? {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let reply = try await send(RedisCommand("BLPOP", keys.map { .string($0) } + [.double(seconds)], keyIndices: Array(keys.indices)))
        guard let pair = try [String]?(fromRESP: reply), pair.count == 2 else { return nil }
        return (pair[0], pair[1])
    }
}

// Sets
extension RedisCommandExecutor {
    /// `SADD key member...`; returns how many members were added.
    @discardableResult
    public func sadd(_ key: String, _ members: [any RedisArgumentConvertible]) async throws -> Int {
        try await send(RedisCommand("SADD", [.string(key)] + members.map(\.redisArgument), keyIndices: [0]), as: Int.self)
    }

    /// `SREM key member...`; returns how many members were removed.
    @discardableResult
    public func srem(_ key: String, _ members: [any RedisArgumentConvertible]) async throws -> Int {
        try await send(RedisCommand("SREM", [.string(key)] + members.map(\.redisArgument), keyIndices: [0]), as: Int.self)
    }

    /// `SMEMBERS key`.
    public func smembers(_ key: String) async throws -> Set<String> {
        Set(try await send(RedisCommand("SMEMBERS", [.string(key)], keyIndices: [0], isReadOnly: true), as: [String].self))
    }

    /// `SISMEMBER key member`.
    public func sismember(_ key: String, _ member: some RedisArgumentConvertible) async throws -> Bool {
        try await send(RedisCommand("SISMEMBER", [.string(key), member.redisArgument], keyIndices: [0], isReadOnly: true), as: Bool.self)
    }

    /// `SCARD key`.
    public func scard(_ key: String) async throws -> Int {
        try await send(RedisCommand("SCARD", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int.self)
    }

    /// `SINTER key...`.
    public func sinter(_ keys: [String]) async throws -> Set<String> {
        Set(try await send(RedisCommand("SINTER", keys.map { .string($0) }, keyIndices: Array(keys.indices), isReadOnly: true), as: [String].self))
    }

    /// `SUNION key...`.
    public func sunion(_ keys: [String]) async throws -> Set<String> {
        Set(try await send(RedisCommand("SUNION", keys.map { .string($0) }, keyIndices: Array(keys.indices), isReadOnly: true), as: [String].self))
    }
}

// Sorted sets
extension RedisCommandExecutor {
    /// `ZADD key score member ...`; returns how many members were added.
    @discardableResult
    public func zadd(_ key: String, _ members: [(member: String, score: Double)]) async throws -> Int {
        var args: [RedisArgument] = [.string(key)]
        for m in members { args += [.double(m.score), .string(m.member)] }
        return try await send(RedisCommand("ZADD", args, keyIndices: [0]), as: Int.self)
    }

    /// `ZSCORE key member`.
    public func zscore(_ key: String, _ member: String) async throws -> Double? {
        try await send(RedisCommand("ZSCORE", [.string(key), .string(member)], keyIndices: [0], isReadOnly: true), as: Double?.self)
    }

    /// `ZINCRBY key amount member`; returns the new score.
    @discardableResult
    public func zincrby(_ key: String, _ member: String, by amount: Double) async throws -> Double {
        try await send(RedisCommand("ZINCRBY", [.string(key), .double(amount), .string(member)], keyIndices: [0]), as: Double.self)
    }

    /// `ZREM key member...`.
    @discardableResult
    public func zrem(_ key: String, _ members: [String]) async throws -> Int {
        try await send(RedisCommand("ZREM", [.string(key)] + members.map { .string($0) }, keyIndices: [0]), as: Int.self)
    }

    /// `ZCARD key`.
    public func zcard(_ key: String) async throws -> Int {
        try await send(RedisCommand("ZCARD", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int.self)
    }

    /// `ZRANK key member` (ascending by score).
    public func zrank(_ key: String, _ member: String) async throws -> Int? {
        try await send(RedisCommand("ZRANK", [.string(key), .string(member)], keyIndices: [0], isReadOnly: true), as: Int?.self)
    }

    /// `ZRANGE key start stop` by rank (ascending; `reverse` for descending).
    public func zrange(_ key: String, _ start: Int, _ stop: Int, reverse: Bool = false) async throws -> [String] {
        var args: [RedisArgument] = [.string(key), .integer(Int64(start)), .integer(Int64(stop))]
        if reverse { args.append("REV") }
        return try await send(RedisCommand("ZRANGE", args, keyIndices: [0], isReadOnly: true), as: [String].self)
    }

    /// `ZRANGE key start stop WITHSCORES` by rank.
    public func zrangeWithScores(_ key: String, _ start: Int, _ stop: Int, reverse: Bool = false) async throws -> [(member: String, score: Double)] {
        var args: [RedisArgument] = [.string(key), .integer(Int64(start)), .integer(Int64(stop))]
        if reverse { args.append("REV") }
        args.append("WITHSCORES")
        let reply = try await send(RedisCommand("ZRANGE", args, keyIndices: [0], isReadOnly: true))
        return try Self.memberScores(reply)
    }

    /// `ZRANGE key min max BYSCORE` (inclusive bounds).
    public func zrangeByScore(_ key: String, min: Double, max: Double) async throws -> [String] {
        try await send(RedisCommand("ZRANGE", [.string(key), .double(min), .double(max), "BYSCORE"], keyIndices: [0], isReadOnly: true), as: [String].self)
    }

    static func memberScores(_ reply: RESPValue) throws -> [(member: String, score: Double)] {
        guard let elements = reply.elements else { throw RedisResponseTypeError(expected: "[(String, Double)]", reply: reply) }
        // RESP3: [[member, score], ...]; RESP2: [member, score, member, score, ...].
        if let first = elements.first, first.elements != nil {
            return try elements.map { pair in
                guard let p = pair.elements, p.count == 2 else { throw RedisResponseTypeError(expected: "member/score pair", reply: pair) }
                return (try String(fromRESP: p[0]), try Double(fromRESP: p[1]))
            }
        }
        guard elements.count % 2 == 0 else { throw RedisResponseTypeError(expected: "[(String, Double)]", reply: reply) }
        return try stride(from: 0, to: elements.count, by: 2).map {
            (try String(fromRESP: elements[$0]), try Double(fromRESP: elements[$0 + 1]))
        }
    }
}
