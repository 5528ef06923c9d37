import WireCore

/// An error reply from the server (`-ERR ...`, `-WRONGTYPE ...`, `!...`).
public struct RedisServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The full error text as sent, e.g. `"WRONGTYPE Operation against a key holding the wrong kind of value"`.
    public var message: String

    /// Creates an error from the server's text.
    public init(message: String) { self.message = message }

    /// The error code: the first word of the message (`ERR`, `WRONGTYPE`, `MOVED`, `NOSCRIPT`, ...).
    public var code: String {
        String(message.prefix { $0 != " " })
    }

    public var description: String { "Redis server error: \(message)" }
}

/// Why a command could not be completed on a connection.
public enum RedisConnectionError: Error, Sendable, CustomStringConvertible {
    /// The connection closed (or was lost) before the reply arrived; the command may or may not
    /// have been executed by the server.
    case connectionClosed(reason: String)
    /// The command was never written: the connection had already closed. It did not run, so
    /// it is always safe to send it again on another connection.
    case notSent(reason: String)
    /// The server sent bytes that are not valid RESP, or a reply where none was expected; the
    /// connection was closed and its in-flight commands failed.
    case protocolViolation(String)
    /// The connection handshake (`HELLO`, `AUTH`, `SELECT`, `CLIENT SETNAME`) failed.
    case handshakeFailed(String)
    /// Connecting failed.
    case connectFailed(String)
    /// No reply arrived within the command's timeout. The connection was closed (failing the
    /// commands pipelined behind it with ``connectionClosed(reason:)``), so a late reply can never
    /// be taken for another command's; the command may still have run on the server.
    case timedOut(command: String, after: Duration)

    public var description: String {
        switch self {
        case .connectionClosed(let reason):
            return "Redis connection closed before the reply arrived (\(reason)); the command may have run — retry if it is idempotent"
        case .notSent(let reason):
            return "Redis command not sent: the connection had already closed (\(reason)); it did not run and can be retried"
        case .protocolViolation(let what):
            return "Redis protocol violation: \(what); the connection was closed"
        case .handshakeFailed(let what):
            return "Redis connection handshake failed: \(what)"
        case .connectFailed(let what):
            return "could not connect to Redis: \(what)"
        case .timedOut(let command, let after):
            return "Redis command \(command) got no reply within \(after); the connection was closed and the command may have run — retry if it is idempotent"
        }
    }
}

extension RedisConnectionError {
    /// Whether the server may have executed the command (so only idempotent commands should
    /// be retried): true when the connection closed or timed out while the reply was awaited.
    public var commandMayHaveRun: Bool {
        switch self {
        case .connectionClosed, .protocolViolation, .timedOut: return true
        case .notSent, .handshakeFailed, .connectFailed: return false
        }
    }
}

/// A reply did not have the shape the typed command expected.
public struct RedisResponseTypeError: Error, Sendable, CustomStringConvertible {
    /// The Swift type the reply was decoded into.
    public var expected: String
    /// The reply that could not be converted.
    public var reply: RESPValue

    /// Creates the error.
    public init(expected: String, reply: RESPValue) {
        self.expected = expected
        self.reply = reply
    }

    public var description: String { "cannot decode Redis reply \(reply) as \(expected)" }
}

/// Errors of the client layer (URLs, cluster routing, sentinel discovery, clients not running).
public enum RedisClientError: Error, Sendable, CustomStringConvertible {
    /// A `redis://`, `rediss://` or `unix://` URL could not be parsed.
    case invalidURL(String)
    /// A cluster command was redirected more often than the configured limit.
    case tooManyRedirects(command: String)
    /// Keys of a multi-key command that cannot be split map to different cluster slots.
    case crossSlot(command: String)
    /// No node serves the slot (the cluster has not finished configuring or is down).
    case slotNotCovered(Int)
    /// Cluster topology could not be read from any node.
    case topologyUnavailable(String)
    /// No sentinel knew a master of this name.
    case masterNotFound(String)
    /// The client was shut down.
    case clientShutDown
    /// A `MULTI`/`EXEC` transaction was aborted because a `WATCH`ed key changed.
    case transactionAborted

    public var description: String {
        switch self {
        case .invalidURL(let u): return "invalid Redis URL: \(u)"
        case .tooManyRedirects(let c): return "Redis cluster redirected \(c) too many times"
        case .crossSlot(let c): return "keys of \(c) hash to different cluster slots; use hash tags {…}"
        case .slotNotCovered(let s): return "no cluster node serves slot \(s)"
        case .topologyUnavailable(let why): return "could not read cluster topology: \(why)"
        case .masterNotFound(let name): return "no sentinel knows a master named \(name)"
        case .clientShutDown: return "the Redis client was shut down"
        case .transactionAborted: return "the transaction was aborted because a watched key changed"
        }
    }
}
