import NIOCore

/// One entry of a stream: its ID and its field/value pairs in insertion order.
public struct RedisStreamEntry: Sendable, Hashable {
    /// The entry ID, e.g. `"1700000000000-0"`.
    public var id: String
    /// The field names and values.
    public var fields: [RESPMapEntry]

    /// The value of `field` as text, if present.
    public subscript(field: String) -> String? {
        fields.first { $0.key.string == field }?.value.string
    }

    init(_ value: RESPValue) throws {
        guard let parts = value.elements, parts.count == 2 else { throw RedisResponseTypeError(expected: "stream entry", reply: value) }
        id = try String(fromRESP: parts[0])
        let flat = try [RESPValue](fromRESP: parts[1])
        guard flat.count % 2 == 0 else { throw RedisResponseTypeError(expected: "stream entry fields", reply: value) }
        fields = stride(from: 0, to: flat.count, by: 2).map { RESPMapEntry(key: flat[$0], value: flat[$0 + 1]) }
    }
}

/// Entries read from one stream by `XREAD` / `XREADGROUP`.
public struct RedisStreamRead: Sendable, Hashable {
    /// The stream's key.
    public var stream: String
    /// The entries, oldest first.
    public var entries: [RedisStreamEntry]
}

/// The summary form of `XPENDING key group`.
public struct RedisPendingSummary: Sendable, Hashable {
    /// Number of pending entries.
    public var count: Int
    /// Smallest and largest pending IDs (nil when nothing is pending).
    public var smallestID: String?, largestID: String?
    /// Pending count per consumer.
    public var consumers: [String: Int]
}

/// One entry of the extended form of `XPENDING key group start end count`.
public struct RedisPendingEntry: Sendable, Hashable {
    /// The entry ID.
    public var id: String
    /// The consumer that owns it.
    public var consumer: String
    /// Milliseconds since it was last delivered.
    public var idleMilliseconds: Int64
    /// How many times it was delivered.
    public var deliveries: Int64
}

extension RedisCommandExecutor {
    /// `XADD key [MAXLEN ~ n] id field value ...`; returns the new entry's ID.
    @discardableResult
    public func xadd(_ key: String, id: String = "*", fields: [(field: String, value: any RedisArgumentConvertible)],
                     maxLength: Int? = nil) async throws -> String {
        var args: [RedisArgument] = [.string(key)]
        if let maxLength { args += ["MAXLEN", "~", .integer(Int64(maxLength))] }
        args.append(.string(id))
        for f in fields { args += [.string(f.field), f.value.redisArgument] }
        return try await send(RedisCommand("XADD", args, keyIndices: [0]), as: String.self)
    }

    /// `XLEN key`.
    public func xlen(_ key: String) async throws -> Int {
        try await send(RedisCommand("XLEN", [.string(key)], keyIndices: [0], isReadOnly: true), as: Int.self)
    }

    /// `XRANGE key start end [COUNT n]`.
    public func xrange(_ key: String, from start: String = "-", to end: String = "+", count: Int? = nil) async throws -> [RedisStreamEntry] {
        var args: [RedisArgument] = [.string(key), .string(start), .string(end)]
        if let count { args += ["COUNT", .integer(Int64(count))] }
        let reply = try await send(RedisCommand("XRANGE", args, keyIndices: [0], isReadOnly: true))
        return try (reply.elements ?? []).map(RedisStreamEntry.init)
    }

    /// `XREAD [COUNT n] [BLOCK ms] STREAMS key... id...`; an empty result when nothing arrived in time.
    public func xread(streams: [(key: String, after: String)], count: Int? = nil, block: Duration? = nil) async throws -> [RedisStreamRead] {
        var args: [RedisArgument] = []
        if let count { args += ["COUNT", .integer(Int64(count))] }
        if let block { args += ["BLOCK", .integer(Self.milliseconds(block))] }
        args.append("STREAMS")
        let firstKey = args.count
        args += streams.map { .string($0.key) }
        args += streams.map { .string($0.after) }
        let reply = try await send(RedisCommand("XREAD", args, keyIndices: Array(firstKey..<(firstKey + streams.count)), isReadOnly: true))
        return try Self.streamReads(reply)
    }

    /// `XGROUP CREATE key group id [MKSTREAM]`.
    public func xgroupCreate(_ key: String, group: String, startingAt id: String = "$", makeStream: Bool = true) async throws {
        var args: [RedisArgument] = ["CREATE", .string(key), .string(group), .string(id)]
        if makeStream { args.append("MKSTREAM") }
        _ = try await send(RedisCommand("XGROUP", args, keyIndices: [1]))
    }

    /// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...`
    /// (`">"` reads new entries, an ID re-reads this consumer's pending ones).
    public func xreadgroup(group: String, consumer: String, streams: [(key: String, after: String)], count: Int? = nil,
                           block: Duration? = nil, noAck: Bool = false) async throws -> [RedisStreamRead] {
        var args: [RedisArgument] = ["GROUP", .string(group), .string(consumer)]
        if let count { args += ["COUNT", .integer(Int64(count))] }
        if let block { args += ["BLOCK", .integer(Self.milliseconds(block))] }
        if noAck { args.append("NOACK") }
        args.append("STREAMS")
        let firstKey = args.count
        args += streams.map { .string($0.key) }
        args += streams.map { .string($0.after) }
        let reply = try await send(RedisCommand("XREADGROUP", args, keyIndices: Array(firstKey..<(firstKey + streams.count))))
        return try Self.streamReads(reply)
    }

    /// `XACK key group id...`; returns how many entries were acknowledged.
    @discardableResult
    public func xack(_ key: String, group: String, ids: [String]) async throws -> Int {
        try await send(RedisCommand("XACK", [.string(key), .string(group)] + ids.map { .string($0) }, keyIndices: [0]), as: Int.self)
    }

    /// `XPENDING key group` (summary form).
    public func xpending(_ key: String, group: String) async throws -> RedisPendingSummary {
        let reply = try await send(RedisCommand("XPENDING", [.string(key), .string(group)], keyIndices: [0], isReadOnly: true))
        guard let parts = reply.elements, parts.count == 4 else { throw RedisResponseTypeError(expected: "XPENDING summary", reply: reply) }
        var consumers: [String: Int] = [:]
        for c in parts[3].elements ?? [] {
            guard let pair = c.elements, pair.count == 2 else { continue }
            consumers[try String(fromRESP: pair[0])] = try Int(fromRESP: pair[1])
        }
        return RedisPendingSummary(count: try Int(fromRESP: parts[0]), smallestID: try String?(fromRESP: parts[1]),
                                   largestID: try String?(fromRESP: parts[2]), consumers: consumers)
    }

    /// `XPENDING key group start end count [consumer]` (extended form).
    public func xpending(_ key: String, group: String, from start: String = "-", to end: String = "+", count: Int,
                         consumer: String? = nil) async throws -> [RedisPendingEntry] {
        var args: [RedisArgument] = [.string(key), .string(group), .string(start), .string(end), .integer(Int64(count))]
        if let consumer { args.append(.string(consumer)) }
        let reply = try await send(RedisCommand("XPENDING", args, keyIndices: [0], isReadOnly: true))
        return try (reply.elements ?? []).map { e in
            guard let p = e.elements, p.count == 4 else { throw RedisResponseTypeError(expected: "XPENDING entry", reply: e) }
            return RedisPendingEntry(id: try String(fromRESP: p[0]), consumer: try String(fromRESP: p[1]),
                                     idleMilliseconds: try Int64(fromRESP: p[2]), deliveries: try Int64(fromRESP: p[3]))
        }
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    static func streamReads(_ reply: RESPValue) throws -> [RedisStreamRead] {
        switch reply.withoutAttributes {
        case .null: return []
        case .map(let entries):
            return try entries.map { RedisStreamRead(stream: try String(fromRESP: $0.key), entries: try ($0.value.elements ?? []).map(RedisStreamEntry.init)) }
        case .array(let streams):
            return try streams.map { s in
                guard let p = s.elements, p.count == 2 else { throw RedisResponseTypeError(expected: "stream read", reply: s) }
                return RedisStreamRead(stream: try String(fromRESP: p[0]), entries: try (p[1].elements ?? []).map(RedisStreamEntry.init))
            }
        default: throw RedisResponseTypeError(expected: "XREAD reply", reply: reply)
        }
    }
}
