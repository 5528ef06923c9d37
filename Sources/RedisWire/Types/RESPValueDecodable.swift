import NIOCore

/// A Swift type a reply can be decoded into.
public protocol RESPValueDecodable: Sendable {
    /// Decodes `value`, throwing ``RedisResponseTypeError`` if its shape does not fit.
    init(fromRESP value: RESPValue) throws
}

extension RESPValue: RESPValueDecodable {
    /// The value itself.
    public init(fromRESP value: RESPValue) throws { self = value }
}

extension String: RESPValueDecodable {
    /// Decodes simple, bulk and verbatim strings, big numbers, integers and doubles as text.
    public init(fromRESP value: RESPValue) throws {
        switch value.withoutAttributes {
        case .simpleString(let s), .bigNumber(let s): self = s
        case .bulkString(let b): self = String(buffer: b)
        case .verbatimString(_, let t): self = t
        case .integer(let i): self = String(i)
        case .double(let d): self = String(d)
        default: throw RedisResponseTypeError(expected: "String", reply: value)
        }
    }
}

extension Int64: RESPValueDecodable {
    /// Decodes integers and integer text (`"42"`).
    public init(fromRESP value: RESPValue) throws {
        switch value.withoutAttributes {
        case .integer(let i): self = i
        case .bulkString(let b):
            guard let i = Int64(String(buffer: b)) else { throw RedisResponseTypeError(expected: "Int64", reply: value) }
            self = i
        case .simpleString(let s), .bigNumber(let s):
            guard let i = Int64(s) else { throw RedisResponseTypeError(expected: "Int64", reply: value) }
            self = i
        case .boolean(let b): self = b ? 1 : 0
        default: throw RedisResponseTypeError(expected: "Int64", reply: value)
        }
    }
}

extension Int: RESPValueDecodable {
    /// Decodes integers and integer text.
    public init(fromRESP value: RESPValue) throws {
        self = Int(try Int64(fromRESP: value))
    }
}

extension Double: RESPValueDecodable {
    /// Decodes doubles, integers and numeric text (`"3.5"`, `"inf"`).
    public init(fromRESP value: RESPValue) throws {
        switch value.withoutAttributes {
        case .double(let d): self = d
        case .integer(let i): self = Double(i)
        case .bulkString, .simpleString, .bigNumber:
            let text = try String(fromRESP: value)
            switch text {
            case "inf", "+inf": self = .infinity
            case "-inf": self = -.infinity
            default:
                guard let d = Double(text) else { throw RedisResponseTypeError(expected: "Double", reply: value) }
                self = d
            }
        default: throw RedisResponseTypeError(expected: "Double", reply: value)
        }
    }
}

extension Bool: RESPValueDecodable {
    /// Decodes booleans and the integers 0/1 (RESP2's way of saying yes or no).
    public init(fromRESP value: RESPValue) throws {
        switch value.withoutAttributes {
        case .boolean(let b): self = b
        case .integer(let i): self = i != 0
        case .simpleString(let s): self = s == "OK"
        default: throw RedisResponseTypeError(expected: "Bool", reply: value)
        }
    }
}

extension ByteBuffer: RESPValueDecodable {
    /// Decodes bulk strings (and other strings as their UTF-8 bytes).
    public init(fromRESP value: RESPValue) throws {
        if case .bulkString(let b) = value.withoutAttributes { self = b; return }
        self = ByteBuffer(string: try String(fromRESP: value))
    }
}

extension Optional: RESPValueDecodable where Wrapped: RESPValueDecodable {
    /// `nil` for a null reply, else the wrapped type.
    public init(fromRESP value: RESPValue) throws {
        if case .null = value.withoutAttributes { self = nil } else { self = try Wrapped(fromRESP: value) }
    }
}

extension Array: RESPValueDecodable where Element: RESPValueDecodable {
    /// Decodes arrays, sets and pushes element by element (a null array decodes as empty).
    public init(fromRESP value: RESPValue) throws {
        switch value.withoutAttributes {
        case .array(let a), .set(let a), .push(let a): self = try a.map { try Element(fromRESP: $0) }
        case .null: self = []
        case .map(let entries):
            // RESP3 maps flatten to key, value, key, value (the RESP2 shape of the same reply).
            self = try entries.flatMap { [try Element(fromRESP: $0.key), try Element(fromRESP: $0.value)] }
        default: throw RedisResponseTypeError(expected: "Array", reply: value)
        }
    }
}

extension Dictionary: RESPValueDecodable where Key: RESPValueDecodable, Value: RESPValueDecodable {
    /// Decodes RESP3 maps and RESP2 flat key/value arrays.
    public init(fromRESP value: RESPValue) throws {
        var result: [Key: Value] = [:]
        switch value.withoutAttributes {
        case .map(let entries):
            for e in entries { result[try Key(fromRESP: e.key)] = try Value(fromRESP: e.value) }
        case .array(let a):
            guard a.count % 2 == 0 else { throw RedisResponseTypeError(expected: "Dictionary", reply: value) }
            var i = 0
            while i < a.count {
                result[try Key(fromRESP: a[i])] = try Value(fromRESP: a[i + 1])
                i += 2
            }
        case .null: break
        default: throw RedisResponseTypeError(expected: "Dictionary", reply: value)
        }
        self = result
    }
}

extension RESPValue {
    /// Decodes the value into `type`.
    public func decode<T: RESPValueDecodable>(as type: T.Type = T.self) throws -> T {
        try T(fromRESP: self)
    }
}
