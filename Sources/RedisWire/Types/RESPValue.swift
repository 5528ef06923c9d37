import NIOCore

/// One key/value pair of a RESP3 map or attribute, in the order the server sent it.
public struct RESPMapEntry: Sendable, Hashable {
    /// The entry's key.
    public var key: RESPValue
    /// The entry's value.
    public var value: RESPValue

    /// Creates a map entry.
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// A value of the Redis serialization protocol, RESP2 or RESP3.
///
/// RESP2 replies use a subset of the cases: ``simpleString(_:)``, ``simpleError(_:)``,
/// ``integer(_:)``, ``bulkString(_:)``, ``array(_:)`` and ``null`` (for both the null bulk string
/// and the null array). RESP3 adds the remaining cases. Only ``attributed(attributes:value:)`` is
/// boxed, so decoding a scalar reply allocates nothing for the value itself.
public enum RESPValue: Sendable, Hashable {
    /// `+OK` — a short, binary-unsafe status string.
    case simpleString(String)
    /// `-ERR message` — an error reply (the text includes the error code).
    case simpleError(String)
    /// `:42` — a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello` — a binary-safe string.
    case bulkString(ByteBuffer)
    /// `_`, RESP2 `$-1` or `*-1` — the null value.
    case null
    /// `,3.14` — a double (including `inf`, `-inf` and `nan`).
    case double(Double)
    /// `#t` / `#f` — a boolean.
    case boolean(Bool)
    /// `(3492890328409238509324850943850943825024385` — an integer of any size, as decimal digits.
    case bigNumber(String)
    /// `!21 SYNTAX invalid syntax` — a binary-safe error reply.
    case bulkError(String)
    /// `=15 txt:Some string` — a string with a three-letter format hint (`txt`, `mkd`).
    case verbatimString(format: String, text: String)
    /// `*n` — an ordered collection.
    case array([RESPValue])
    /// `%n` — key/value pairs in server order.
    case map([RESPMapEntry])
    /// `~n` — an unordered collection of distinct values.
    case set([RESPValue])
    /// `>n` — out-of-band data (pub/sub messages, invalidations) not tied to a request.
    case push([RESPValue])
    /// `|n` — auxiliary attributes that precede and annotate `value`.
    indirect case attributed(attributes: [RESPMapEntry], value: RESPValue)

    /// The value with any leading attributes removed.
    public var withoutAttributes: RESPValue {
        if case .attributed(_, let value) = self { return value.withoutAttributes }
        return self
    }

    /// Whether the value is an error reply (simple or bulk).
    public var isError: Bool {
        switch self {
        case .simpleError, .bulkError: return true
        case .attributed(_, let value): return value.isError
        default: return false
        }
    }

    /// A bulk string value holding the UTF-8 bytes of `string` (convenience for tests and encoders).
    public static func bulk(_ string: String) -> RESPValue {
        .bulkString(ByteBuffer(string: string))
    }

    /// The value as text when it is a string-like value (simple, bulk, verbatim, big number), else nil.
    public var string: String? {
        switch self {
        case .simpleString(let s), .bigNumber(let s): return s
        case .bulkString(let b): return String(buffer: b)
        case .verbatimString(_, let text): return text
        case .attributed(_, let value): return value.string
        default: return nil
        }
    }

    /// The elements of an array, set or push, or nil for other values.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let a), .set(let a), .push(let a): return a
        case .attributed(_, let value): return value.elements
        default: return nil
        }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A compact, human-readable rendering (for logs and error messages; bulk strings are
    /// shown as text, truncated after 64 bytes).
    public var description: String {
        switch self {
        case .simpleString(let s): return "+\(s)"
        case .simpleError(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulkString(let b):
            let text = String(decoding: b.readableBytesView.prefix(64), as: UTF8.self)
            return b.readableBytes > 64 ? "\"\(text)…\"" : "\"\(text)\""
        case .null: return "(null)"
        case .double(let d): return ",\(d)"
        case .boolean(let b): return b ? "#t" : "#f"
        case .bigNumber(let s): return "(\(s)"
        case .bulkError(let s): return "!\(s)"
        case .verbatimString(let f, let t): return "=\(f):\(t)"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .set(let a): return "~{" + a.map(\.description).joined(separator: ", ") + "}"
        case .push(let a): return ">[" + a.map(\.description).joined(separator: ", ") + "]"
        case .map(let m): return "{" + m.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .attributed(let attrs, let v):
            return "|{" + attrs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "} \(v)"
        }
    }
}
