/// A W3C Trace Context trace ID: 16 bytes, written as 32 lower-case hex digits. All zeros is invalid.
public struct TraceID: Sendable, Hashable, CustomStringConvertible {
    /// The high 8 bytes (big-endian order on the wire).
    public var high: UInt64
    /// The low 8 bytes.
    public var low: UInt64

    /// A trace ID from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A random, valid (non-zero) trace ID.
    public static func random() -> TraceID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let id = TraceID(high: generator.next(), low: generator.next())
            if id.isValid { return id }
        }
    }

    /// False for the all-zero ID, which the specification forbids.
    public var isValid: Bool { high != 0 || low != 0 }

    /// Parses exactly 32 lower-case hex digits.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 32, let high = TraceContextHex.parse(utf8[0..<16]), let low = TraceContextHex.parse(utf8[16..<32]) else { return nil }
        self.init(high: high, low: low)
    }

    /// 32 lower-case hex digits.
    public var description: String { TraceContextHex.format(high, digits: 16) + TraceContextHex.format(low, digits: 16) }
}

/// A W3C Trace Context span ID (`parent-id`): 8 bytes, written as 16 lower-case hex digits. All zeros is invalid.
public struct SpanID: Sendable, Hashable, CustomStringConvertible {
    /// The 8 bytes as a big-endian integer.
    public var value: UInt64

    /// A span ID from its bytes as a big-endian integer.
    public init(_ value: UInt64) { self.value = value }

    /// A random, valid (non-zero) span ID.
    public static func random() -> SpanID {
        var generator = SystemRandomNumberGenerator()
        while true {
            let id = SpanID(generator.next())
            if id.isValid { return id }
        }
    }

    /// False for the all-zero ID, which the specification forbids.
    public var isValid: Bool { value != 0 }

    /// Parses exactly 16 lower-case hex digits.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 16, let value = TraceContextHex.parse(utf8[...]) else { return nil }
        self.init(value)
    }

    /// 16 lower-case hex digits.
    public var description: String { TraceContextHex.format(value, digits: 16) }
}

/// The `trace-flags` byte of a `traceparent`. Version 00 defines one flag, `sampled`.
public struct TraceFlags: OptionSet, Sendable, Hashable {
    /// The raw byte.
    public var rawValue: UInt8
    /// Creates flags from the raw byte.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The caller may have recorded trace data (bit 0).
    public static let sampled = TraceFlags(rawValue: 0x01)
}

/// The W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/), version 00:
/// `00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`.
///
/// Parsing follows the specification's rules: hex must be lower-case; all-zero trace and parent
/// IDs are invalid; version `ff` is invalid; a version 00 header must be exactly 55 characters;
/// a higher (unknown) version is parsed for its first four fields when the header is at least 55
/// characters long and anything after the flags starts with `-`. What this type formats is always
/// version 00 (the version it knows), as the specification asks of a vendor forwarding a higher
/// version.
public struct TraceParent: Sendable, Hashable, CustomStringConvertible {
    /// The header name, `traceparent`.
    public static let headerName = "traceparent"

    /// The trace the request is part of.
    public var traceID: TraceID
    /// The ID of the caller's span (the `parent-id` field).
    public var parentID: SpanID
    /// The trace flags.
    public var flags: TraceFlags

    /// A `traceparent` from its fields.
    public init(traceID: TraceID, parentID: SpanID, flags: TraceFlags = .sampled) {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// Parses a header value; nil when it is invalid (the receiver then starts a new trace and
    /// must ignore `tracestate` too).
    public init?(parsing header: some StringProtocol) {
        // Optional whitespace around a header value is not part of it (RFC 9110).
        let bytes = Array(header.utf8.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed())
        guard bytes.count >= 55, let version = TraceContextHex.parse(bytes[0..<2]), version != 0xff, bytes[2] == UInt8(ascii: "-") else { return nil }
        if version == 0 {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55 {
            guard bytes[55] == UInt8(ascii: "-") else { return nil }
        }
        guard bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
              let high = TraceContextHex.parse(bytes[3..<19]), let low = TraceContextHex.parse(bytes[19..<35]),
              let parent = TraceContextHex.parse(bytes[36..<52]), let flags = TraceContextHex.parse(bytes[53..<55])
        else { return nil }
        let traceID = TraceID(high: high, low: low)
        let parentID = SpanID(parent)
        guard traceID.isValid, parentID.isValid else { return nil }
        self.init(traceID: traceID, parentID: parentID, flags: TraceFlags(rawValue: UInt8(flags)))
    }

    /// The version 00 header value.
    public var description: String {
        "00-\(traceID)-\(parentID)-\(TraceContextHex.format(UInt64(flags.rawValue), digits: 2))"
    }
}

/// The W3C Trace Context `tracestate` header: vendor-specific key/value pairs, carried along
/// unchanged (this tracer adds no entry of its own).
///
/// Several `tracestate` header lines are one list joined with `,`; empty list members are dropped,
/// at most 32 members are kept (the specification's limit), and a value that does not parse as a
/// list is passed on as it came (the specification forbids modifying what one cannot parse).
public struct TraceState: Sendable, Hashable, CustomStringConvertible {
    /// The header name, `tracestate`.
    public static let headerName = "tracestate"

    /// The header value to send on.
    public var rawValue: String

    /// A `tracestate` from one header value or several joined with `,`; nil when it holds no member.
    public init?(_ value: some StringProtocol) {
        let members = value.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
        guard !members.isEmpty else { return nil }
        if members.allSatisfy({ Self.isValidMember($0) }) {
            self.rawValue = members.prefix(32).joined(separator: ",")
        } else {
            self.rawValue = String(value)
        }
    }

    /// The list members as key/value pairs, in order (empty when the value is not a valid list).
    public var entries: [(key: String, value: String)] {
        rawValue.split(separator: ",").compactMap { member -> (key: String, value: String)? in
            let member = member.trimmingSpaces()
            guard Self.isValidMember(member), let eq = member.firstIndex(of: "=") else { return nil }
            return (String(member[..<eq]), String(member[member.index(after: eq)...]))
        }
    }

    /// `key=value` with a key of lower-case letters, digits, `_ - * /` (and one `@` for a
    /// multi-tenant key) starting with a letter or digit, and a value of 1-256 printable ASCII
    /// characters other than `,` and `=`, not ending in a space.
    static func isValidMember(_ member: String) -> Bool {
        guard let eq = member.firstIndex(of: "=") else { return false }
        let key = member[..<eq].utf8
        let value = member[member.index(after: eq)...].utf8
        guard (1...256).contains(key.count), (1...256).contains(value.count), let first = key.first,
              (0x61...0x7a).contains(first) || (0x30...0x39).contains(first) else { return false }
        var ats = 0
        for c in key {
            switch c {
            case 0x61...0x7a, 0x30...0x39, UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"): continue
            case UInt8(ascii: "@"): ats += 1
            default: return false
            }
        }
        guard ats <= 1, value.last != 0x20 else { return false }
        return value.allSatisfy { (0x20...0x7e).contains($0) && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") }
    }

    /// The header value.
    public var description: String { rawValue }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        let trimmed = self.drop { $0 == " " || $0 == "\t" }
        return String(trimmed.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Lower-case hex for the Trace Context fields.
enum TraceContextHex {
    static func parse(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        var value: UInt64 = 0
        for c in digits {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            default: return nil  // upper-case hex is invalid in trace context
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    static func format(_ value: UInt64, digits: Int) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: digits)
        var v = value
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out[i] = table[Int(v & 0xf)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}
