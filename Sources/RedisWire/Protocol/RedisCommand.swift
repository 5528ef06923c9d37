import NIOCore

/// One argument of a Redis command. Arguments are always sent as bulk strings.
public enum RedisArgument: Sendable, Hashable {
    /// UTF-8 text.
    case string(String)
    /// Raw bytes.
    case bytes(ByteBuffer)
    /// An integer, sent as its decimal text.
    case integer(Int64)
    /// A double, sent in a form Redis parses (`inf`, `-inf` or the shortest round-trip decimal).
    case double(Double)

    /// The length of the argument's bytes on the wire (without the bulk-string framing).
    @inline(__always)
    var payloadLength: Int {
        switch self {
        case .string(let s): return s.utf8.count
        case .bytes(let b): return b.readableBytes
        case .integer(let i): return RESPEncoder.decimalLength(i)
        case .double(let d): return Self.text(of: d).utf8.count
        }
    }

    /// A double as Redis parses it: `inf`, `-inf` or the shortest round-trip decimal.
    static func text(of d: Double) -> String {
        d.isInfinite ? (d < 0 ? "-inf" : "inf") : d.description
    }

    /// The argument's bytes, as they go on the wire (used for hashing keys to cluster slots).
    public var bytes: [UInt8] {
        switch self {
        case .string(let s): return Array(s.utf8)
        case .bytes(let b): return Array(b.readableBytesView)
        case .integer(let i): return Array(String(i).utf8)
        case .double(let d): return Array(Self.text(of: d).utf8)
        }
    }
}

extension RedisArgument: ExpressibleByStringLiteral {
    /// A string argument from a literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension RedisArgument: ExpressibleByIntegerLiteral {
    /// An integer argument from a literal.
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

/// A value that can be passed as a command argument.
public protocol RedisArgumentConvertible: Sendable {
    /// The value as a command argument.
    var redisArgument: RedisArgument { get }
}

extension String: RedisArgumentConvertible {
    /// The string as a bulk-string argument.
    public var redisArgument: RedisArgument { .string(self) }
}
extension Substring: RedisArgumentConvertible {
    /// The substring as a bulk-string argument.
    public var redisArgument: RedisArgument { .string(String(self)) }
}
extension Int: RedisArgumentConvertible {
    /// The integer as its decimal text.
    public var redisArgument: RedisArgument { .integer(Int64(self)) }
}
extension Int64: RedisArgumentConvertible {
    /// The integer as its decimal text.
    public var redisArgument: RedisArgument { .integer(self) }
}
extension Double: RedisArgumentConvertible {
    /// The double as text.
    public var redisArgument: RedisArgument { .double(self) }
}
extension ByteBuffer: RedisArgumentConvertible {
    /// The bytes as a bulk string.
    public var redisArgument: RedisArgument { .bytes(self) }
}
extension RedisArgument: RedisArgumentConvertible {
    /// The argument itself.
    public var redisArgument: RedisArgument { self }
}

/// A command: its name and arguments, plus what routing needs to know about it.
///
/// Typed command helpers build these; ``RedisCommand/init(_:_:keyIndices:isReadOnly:)`` builds
/// any other command for the raw API.
public struct RedisCommand: Sendable, Hashable {
    /// The name followed by the arguments (`["SET", "k", "v"]`).
    public var arguments: [RedisArgument]
    /// Positions in ``arguments`` that hold keys (used for cluster slot routing).
    public var keyIndices: [Int]
    /// Whether the command only reads (may be served by a replica when the client allows it).
    public var isReadOnly: Bool
    /// A key that is not an argument but decides which cluster node runs the command
    /// (e.g. `SCRIPT LOAD` before an `EVALSHA` on that key). Never sent.
    public var routingKey: RedisArgument?
    /// How long to wait for the reply before failing with
    /// ``RedisConnectionError/timedOut(command:after:)`` and closing the connection. Overrides
    /// ``RedisCommand/withTimeout(_:_:)`` scopes and the connection's
    /// ``RedisConnectionConfiguration/commandTimeout``. Never sent.
    public var timeout: Duration?

    /// Creates a command from its name and arguments.
    /// - Parameters:
    ///   - name: the command name, e.g. `"GET"` or `"CLIENT"`.
    ///   - arguments: the arguments after the name.
    ///   - keyIndices: which of `arguments` (zero-based, not counting the name) are keys.
    ///   - isReadOnly: whether a replica may serve it.
    public init(_ name: String, _ arguments: [RedisArgument], keyIndices: [Int] = [], isReadOnly: Bool = false) {
        self.arguments = [.string(name)] + arguments
        self.keyIndices = keyIndices.map { $0 + 1 }
        self.isReadOnly = isReadOnly
    }

    /// Creates a command from its name and arguments (variadic form).
    public init(_ name: String, _ arguments: RedisArgument..., keyIndices: [Int] = [], isReadOnly: Bool = false) {
        self.init(name, arguments, keyIndices: keyIndices, isReadOnly: isReadOnly)
    }

    /// The command name in upper case.
    public var name: String {
        if case .string(let s) = arguments[0] { return s.uppercased() }
        return String(decoding: arguments[0].bytes, as: UTF8.self).uppercased()
    }

    /// The key arguments.
    public var keys: [RedisArgument] {
        if keyIndices.isEmpty, let routingKey { return [routingKey] }
        return keyIndices.map { arguments[$0] }
    }
}

extension RedisCommand {
    /// The timeout set by the innermost enclosing ``withTimeout(_:_:)`` scope, if any.
    @TaskLocal public static var scopedTimeout: Duration?

    /// Runs `body` with `timeout` applied to every command it sends (typed commands included)
    /// that has no ``timeout`` of its own, blocking commands too.
    ///
    /// ```swift
    /// let value = try await RedisCommand.withTimeout(.milliseconds(200)) { try await client.get("k") }
    /// ```
    public static func withTimeout<T>(_ timeout: Duration, _ body: () async throws -> T) async rethrows -> T {
        try await $scopedTimeout.withValue(timeout, operation: body)
    }

    /// Whether the server may hold the reply back for a while by design (`BLPOP`, `XREAD BLOCK`,
    /// `WAIT`, ...). Such commands get connections of their own in ``RedisClient`` and the
    /// connection's default command timeout does not apply to them.
    public var isBlocking: Bool {
        guard case .string(let raw) = arguments[0], let first = raw.utf8.first else { return false }
        guard first == UInt8(ascii: "B") || first == UInt8(ascii: "b") || first == UInt8(ascii: "X") || first == UInt8(ascii: "x")
            || first == UInt8(ascii: "W") || first == UInt8(ascii: "w") else { return false }
        switch raw.uppercased() {
        case "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF":
            return true
        case "XREAD", "XREADGROUP":
            return arguments.contains { if case .string(let s) = $0 { return s.uppercased() == "BLOCK" } else { return false } }
        default:
            return false
        }
    }

    /// The timeout that applies on a connection whose default is `connectionDefault`, inside a
    /// ``withTimeout(_:_:)`` scope of `scoped` (read the task-local once for many commands).
    func effectiveTimeout(connectionDefault: Duration?, scoped: Duration? = RedisCommand.scopedTimeout) -> Duration? {
        timeout ?? scoped ?? (isBlocking ? nil : connectionDefault)
    }
}
