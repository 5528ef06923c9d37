import NIOCore
import WireCore

/// Limits the decoder enforces on untrusted input. A reply that exceeds any of them is a
/// protocol violation: the decoder throws and the connection that received it is closed.
public struct RESPDecoderLimits: Sendable, Hashable {
    /// Largest bulk string, bulk error or verbatim string accepted, in bytes (Redis's own
    /// `proto-max-bulk-len` default is 512 MiB).
    public var maxBulkLength: Int
    /// Largest element count of one array, set, push, map or attribute.
    public var maxAggregateLength: Int
    /// Deepest nesting of aggregates (a flat array has depth 1).
    public var maxDepth: Int
    /// Longest header or simple line (simple strings/errors, numbers), in bytes without CRLF.
    public var maxLineLength: Int

    /// Creates limits; the defaults suit any reply a Redis 7 server produces.
    public init(
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxAggregateLength: Int = 1 << 26,
        maxDepth: Int = 64,
        maxLineLength: Int = 1024 * 1024
    ) {
        self.maxBulkLength = maxBulkLength
        self.maxAggregateLength = maxAggregateLength
        self.maxDepth = maxDepth
        self.maxLineLength = maxLineLength
    }
}

/// A streaming decoder of RESP2 and RESP3 values (including RESP3 streamed strings and
/// aggregates).
///
/// Call ``decode(from:)`` whenever bytes arrive: it returns `nil` and leaves the buffer
/// untouched while a value is incomplete, or consumes exactly one value. Lengths are never
/// trusted: sizes are checked against ``limits`` before anything is allocated, and malformed
/// input throws `WireDecodingError` instead of trapping.
public struct RESPDecoder: Sendable {
    /// The limits applied to every value.
    public var limits: RESPDecoderLimits

    /// Creates a decoder with the given limits.
    public init(limits: RESPDecoderLimits = RESPDecoderLimits()) {
        self.limits = limits
    }

    /// Decodes one complete value from the front of `buffer`, advancing its reader index past
    /// it; returns nil (buffer unchanged) if more bytes are needed.
    public func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> RESPValue? {
        var first: RESPValue?
        try decodeValues(from: &buffer) { value in
            first = value
            return false
        }
        return first
    }

    /// Decodes every complete value at the front of `buffer` in one pass over its bytes, handing
    /// each to `body` in order (`body` returns false to stop after that value). The reader index
    /// moves past the values handed over; an incomplete value at the end stays in the buffer.
    /// Malformed input throws after the values before it were handed over.
    ///
    /// Equivalent to calling ``decode(from:)`` until it returns nil, without setting up a parse
    /// per value (a reply to a pipeline of n commands is n values in one read).
    public func decodeValues(from buffer: inout ByteBuffer, _ body: (RESPValue) -> Bool) throws(WireDecodingError) {
        let snapshot = buffer
        let limits = self.limits
        var consumed = 0
        var failure: WireDecodingError?
        snapshot.withUnsafeReadableBytes { bytes in
            var parser = RESPParser(bytes: bytes, buffer: snapshot, limits: limits)
            while parser.position < bytes.count {
                do throws(WireDecodingError) {
                    guard let value = try parser.parseValue(depth: 0) else { return }
                    consumed = parser.position
                    guard body(value) else { return }
                } catch {
                    failure = error
                    return
                }
            }
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        if let failure { throw failure }
    }
}

/// The recursive-descent parser over one contiguous view of the readable bytes.
struct RESPParser {
    let bytes: UnsafeRawBufferPointer
    let buffer: ByteBuffer
    let limits: RESPDecoderLimits
    var position = 0

    init(bytes: UnsafeRawBufferPointer, buffer: ByteBuffer, limits: RESPDecoderLimits) {
        self.bytes = bytes
        self.buffer = buffer
        self.limits = limits
    }

    private static let cr: UInt8 = 13
    private static let lf: UInt8 = 10

    /// Finds the next CRLF-terminated line; returns its byte range and moves past the CRLF.
    mutating func readLine(field: String) throws(WireDecodingError) -> Range<Int>? {
        let start = position
        let end = bytes.count
        let scanLimit = Swift.min(end, start &+ limits.maxLineLength &+ 1)
        var i = start
        while i < scanLimit {
            if bytes[i] == Self.cr {
                guard i + 1 < end else { return nil }
                guard bytes[i + 1] == Self.lf else {
                    throw .invalidValue(field: field, reason: "CR not followed by LF at offset \(i)")
                }
                position = i + 2
                return start..<i
            }
            i &+= 1
        }
        if end - start > limits.maxLineLength {
            throw .lengthTooLarge(field: field, length: end - start, limit: limits.maxLineLength)
        }
        return nil
    }

    func text(_ range: Range<Int>, field: String) throws(WireDecodingError) -> String {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard let s = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return s
    }

    func integer(_ range: Range<Int>, field: String) throws(WireDecodingError) -> Int64 {
        var i = range.lowerBound
        let end = range.upperBound
        guard i < end else { throw .invalidValue(field: field, reason: "empty integer") }
        var negative = false
        if bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if bytes[i] == UInt8(ascii: "+") { i += 1 }
        guard i < end else { throw .invalidValue(field: field, reason: "integer without digits") }
        var value: Int64 = 0
        while i < end {
            let c = bytes[i]
            guard c >= 48, c <= 57 else {
                throw .invalidValue(field: field, reason: "non-digit byte \(c) in integer")
            }
            let digit = Int64(c - 48)
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(digit) : m.addingReportingOverflow(digit)
            if o1 || o2 { throw .varintOverflow(field: field) }
            value = a
            i += 1
        }
        return value
    }

    /// Reads a length header: nil = incomplete, -1 = null (when allowed), else a checked count.
    mutating func length(field: String, limit: Int, allowNull: Bool) throws(WireDecodingError) -> Int? {
        guard let line = try readLine(field: field) else { return nil }
        let n = try integer(line, field: field)
        if n == -1 && allowNull { return -1 }
        if n < 0 { throw .negativeLength(field: field, length: Int(clamping: n)) }
        if n > Int64(limit) { throw .lengthTooLarge(field: field, length: Int(clamping: n), limit: limit) }
        return Int(n)
    }

    /// Reads `count` payload bytes followed by CRLF; nil if incomplete.
    mutating func payload(count: Int, field: String) throws(WireDecodingError) -> Range<Int>? {
        let start = position
        guard bytes.count - start >= count + 2 else { return nil }
        guard bytes[start + count] == Self.cr, bytes[start + count + 1] == Self.lf else {
            throw .invalidValue(field: field, reason: "payload of \(count) bytes not followed by CRLF")
        }
        position = start + count + 2
        return start..<(start + count)
    }

    mutating func parseValue(depth: Int) throws(WireDecodingError) -> RESPValue? {
        guard position < bytes.count else { return nil }
        let type = bytes[position]
        position += 1
        switch type {
        case UInt8(ascii: "+"):
            guard let line = try readLine(field: "simple string") else { return nil }
            // `+OK` answers most writes: no UTF-8 validation, no string construction for it.
            if line.count == 2, bytes[line.lowerBound] == UInt8(ascii: "O"), bytes[line.lowerBound + 1] == UInt8(ascii: "K") {
                return .simpleString("OK")
            }
            return .simpleString(try text(line, field: "simple string"))
        case UInt8(ascii: "-"):
            guard let line = try readLine(field: "simple error") else { return nil }
            return .simpleError(try text(line, field: "simple error"))
        case UInt8(ascii: ":"):
            guard let line = try readLine(field: "integer") else { return nil }
            return .integer(try integer(line, field: "integer"))
        case UInt8(ascii: "$"):
            if position < bytes.count, bytes[position] == UInt8(ascii: "?") {
                return try parseStreamedString(depth: depth)
            }
            guard let n = try length(field: "bulk string length", limit: limits.maxBulkLength, allowNull: true) else { return nil }
            if n == -1 { return .null }
            guard let range = try payload(count: n, field: "bulk string") else { return nil }
            return .bulkString(buffer.getSlice(at: buffer.readerIndex + range.lowerBound, length: n)!)
        case UInt8(ascii: "!"):
            guard let n = try length(field: "bulk error length", limit: limits.maxBulkLength, allowNull: false) else { return nil }
            guard let range = try payload(count: n, field: "bulk error") else { return nil }
            return .bulkError(try text(range, field: "bulk error"))
        case UInt8(ascii: "="):
            guard let n = try length(field: "verbatim string length", limit: limits.maxBulkLength, allowNull: false) else { return nil }
            guard let range = try payload(count: n, field: "verbatim string") else { return nil }
            guard n >= 4, bytes[range.lowerBound + 3] == UInt8(ascii: ":") else {
                throw .invalidValue(field: "verbatim string", reason: "missing three-byte format and ':'")
            }
            let format = try text(range.lowerBound..<(range.lowerBound + 3), field: "verbatim format")
            return .verbatimString(format: format, text: try text((range.lowerBound + 4)..<range.upperBound, field: "verbatim string"))
        case UInt8(ascii: "_"):
            guard let line = try readLine(field: "null") else { return nil }
            guard line.isEmpty else { throw .invalidValue(field: "null", reason: "null carries data") }
            return .null
        case UInt8(ascii: "#"):
            guard let line = try readLine(field: "boolean") else { return nil }
            guard line.count == 1 else { throw .invalidValue(field: "boolean", reason: "expected t or f") }
            switch bytes[line.lowerBound] {
            case UInt8(ascii: "t"): return .boolean(true)
            case UInt8(ascii: "f"): return .boolean(false)
            default: throw .invalidValue(field: "boolean", reason: "expected t or f")
            }
        case UInt8(ascii: ","):
            guard let line = try readLine(field: "double") else { return nil }
            let s = try text(line, field: "double")
            switch s {
            case "inf", "+inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan", "-nan": return .double(.nan)
            default:
                guard let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || (first >= 48 && first <= 57),
                      let d = Double(s), d.isFinite else {
                    throw .invalidValue(field: "double", reason: "'\(s.prefix(32))' is not a number")
                }
                return .double(d)
            }
        case UInt8(ascii: "("):
            guard let line = try readLine(field: "big number") else { return nil }
            let s = try text(line, field: "big number")
            let digits = s.utf8.first == UInt8(ascii: "-") || s.utf8.first == UInt8(ascii: "+") ? s.utf8.dropFirst() : s.utf8[...]
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw .invalidValue(field: "big number", reason: "not a decimal integer")
            }
            return .bigNumber(s)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            let field = type == UInt8(ascii: "*") ? "array" : type == UInt8(ascii: "~") ? "set" : "push"
            guard depth < limits.maxDepth else {
                throw .invalidValue(field: field, reason: "nesting deeper than \(limits.maxDepth)")
            }
            let elements: [RESPValue]
            if position < bytes.count, bytes[position] == UInt8(ascii: "?") {
                guard let streamed = try parseStreamedElements(depth: depth, field: field) else { return nil }
                elements = streamed
            } else {
                guard let n = try length(field: field + " length", limit: limits.maxAggregateLength, allowNull: type == UInt8(ascii: "*")) else { return nil }
                if n == -1 { return .null }
                guard let parsed = try parseElements(count: n, depth: depth) else { return nil }
                elements = parsed
            }
            switch type {
            case UInt8(ascii: "*"): return .array(elements)
            case UInt8(ascii: "~"): return .set(elements)
            default: return .push(elements)
            }
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            let field = type == UInt8(ascii: "%") ? "map" : "attribute"
            guard depth < limits.maxDepth else {
                throw .invalidValue(field: field, reason: "nesting deeper than \(limits.maxDepth)")
            }
            let flat: [RESPValue]
            if position < bytes.count, bytes[position] == UInt8(ascii: "?") {
                guard let streamed = try parseStreamedElements(depth: depth, field: field) else { return nil }
                guard streamed.count % 2 == 0 else {
                    throw .invalidValue(field: field, reason: "streamed map has an odd number of elements")
                }
                flat = streamed
            } else {
                guard let n = try length(field: field + " length", limit: limits.maxAggregateLength / 2, allowNull: false) else { return nil }
                guard let parsed = try parseElements(count: n * 2, depth: depth) else { return nil }
                flat = parsed
            }
            var entries: [RESPMapEntry] = []
            entries.reserveCapacity(flat.count / 2)
            var i = 0
            while i < flat.count {
                entries.append(RESPMapEntry(key: flat[i], value: flat[i + 1]))
                i += 2
            }
            if type == UInt8(ascii: "%") { return .map(entries) }
            guard let annotated = try parseValue(depth: depth + 1) else { return nil }
            return .attributed(attributes: entries, value: annotated)
        default:
            throw .invalidValue(field: "type", reason: "unknown RESP type byte \(type) at offset \(position - 1)")
        }
    }

    mutating func parseElements(count: Int, depth: Int) throws(WireDecodingError) -> [RESPValue]? {
        // Every element needs at least three bytes; never reserve more than the input could hold.
        guard bytes.count - position >= count &* 3 || count <= 0 else {
            // Still validate what is there so garbage fails fast rather than waiting for bytes.
            var probe = self
            for _ in 0..<count { guard try probe.parseValue(depth: depth + 1) != nil else { return nil } }
            return nil
        }
        var elements: [RESPValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            guard let element = try parseValue(depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return elements
    }

    mutating func parseStreamedElements(depth: Int, field: String) throws(WireDecodingError) -> [RESPValue]? {
        guard let header = try readLine(field: field + " length") else { return nil }
        guard header.count == 1 else { throw .invalidValue(field: field, reason: "malformed streamed header") }
        var elements: [RESPValue] = []
        while true {
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard let end = try readLine(field: field + " end") else { return nil }
                guard end.isEmpty else { throw .invalidValue(field: field, reason: "malformed end marker") }
                return elements
            }
            guard elements.count < limits.maxAggregateLength else {
                throw .lengthTooLarge(field: field, length: elements.count + 1, limit: limits.maxAggregateLength)
            }
            guard let element = try parseValue(depth: depth + 1) else { return nil }
            elements.append(element)
        }
    }

    mutating func parseStreamedString(depth: Int) throws(WireDecodingError) -> RESPValue? {
        guard let header = try readLine(field: "streamed string") else { return nil }
        guard header.count == 1 else { throw .invalidValue(field: "streamed string", reason: "malformed header") }
        var total = ByteBuffer()
        while true {
            guard position < bytes.count else { return nil }
            guard bytes[position] == UInt8(ascii: ";") else {
                throw .invalidValue(field: "streamed string", reason: "chunk does not start with ';'")
            }
            position += 1
            guard let n = try length(field: "streamed string chunk", limit: limits.maxBulkLength, allowNull: false) else { return nil }
            if n == 0 { return .bulkString(total) }
            guard total.readableBytes + n <= limits.maxBulkLength else {
                throw .lengthTooLarge(field: "streamed string", length: total.readableBytes + n, limit: limits.maxBulkLength)
            }
            guard let range = try payload(count: n, field: "streamed string chunk") else { return nil }
            total.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }
}
