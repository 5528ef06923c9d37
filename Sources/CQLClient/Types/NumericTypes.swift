/// A CQL `varint`: an arbitrary-precision integer as minimal big-endian two's complement bytes.
public struct CQLVarint: Sendable, Hashable, CustomStringConvertible {
    /// Minimal two's-complement big-endian bytes (at least one byte).
    public let bytes: [UInt8]

    /// Wraps raw bytes; they are normalised to the minimal encoding.
    public init(bytes: [UInt8]) {
        self.bytes = CQLVarint.minimal(bytes.isEmpty ? [0] : bytes)
    }

    public init(_ value: Int64) {
        var bytes: [UInt8] = []
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> Int64(shift))) }
        self.bytes = CQLVarint.minimal(bytes)
    }

    /// Parses a decimal string like "-1234567890123456789012345".
    public init?(_ text: String) {
        var digits = Substring(text)
        var negative = false
        if digits.first == "-" { negative = true; digits = digits.dropFirst() } else if digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        // magnitude as little-endian base-2^32 limbs
        var limbs: [UInt32] = [0]
        for ch in digits.utf8 {
            var carry = UInt64(ch - 48)
            for i in limbs.indices {
                let v = UInt64(limbs[i]) * 10 + carry
                limbs[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
        }
        var magnitude: [UInt8] = [0]  // leading zero keeps it positive
        for limb in limbs.reversed() {
            magnitude += [UInt8(limb >> 24), UInt8(truncatingIfNeeded: limb >> 16), UInt8(truncatingIfNeeded: limb >> 8), UInt8(truncatingIfNeeded: limb)]
        }
        self.bytes = CQLVarint.minimal(negative ? CQLVarint.negate(magnitude) : magnitude)
    }

    /// The value when it fits in 64 bits.
    public var int64: Int64? {
        guard self.bytes.count <= 8 else { return nil }
        var v: Int64 = self.bytes[0] & 0x80 != 0 ? -1 : 0
        for b in self.bytes { v = (v << 8) | Int64(b) }
        return v
    }

    public var isNegative: Bool { self.bytes[0] & 0x80 != 0 }

    public var description: String {
        if let v = self.int64 { return String(v) }
        var magnitude = self.isNegative ? CQLVarint.negate(self.bytes) : self.bytes
        var out: [UInt8] = []
        while magnitude.contains(where: { $0 != 0 }) {
            var remainder: UInt32 = 0
            for i in magnitude.indices {
                let cur = remainder << 8 | UInt32(magnitude[i])
                magnitude[i] = UInt8(cur / 10)
                remainder = cur % 10
            }
            out.append(UInt8(remainder) + 48)
        }
        if out.isEmpty { out = [48] }
        return (self.isNegative ? "-" : "") + String(decoding: out.reversed(), as: UTF8.self)
    }

    static func negate(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes.map { ~$0 }
        var i = result.count - 1
        while i >= 0 {
            let (v, overflow) = result[i].addingReportingOverflow(1)
            result[i] = v
            if !overflow { break }
            i -= 1
        }
        return result
    }

    static func minimal(_ bytes: [UInt8]) -> [UInt8] {
        var start = 0
        while start < bytes.count - 1 {
            let b = bytes[start], next = bytes[start + 1]
            if (b == 0 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) { start += 1 } else { break }
        }
        return Array(bytes[start...])
    }
}

/// A CQL `decimal`: `unscaled × 10^-scale`.
public struct CQLDecimal: Sendable, Hashable, CustomStringConvertible {
    public var unscaled: CQLVarint
    public var scale: Int32
    public init(unscaled: CQLVarint, scale: Int32) {
        self.unscaled = unscaled
        self.scale = scale
    }

    /// Parses plain decimal text like "-12.345".
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard let unscaled = CQLVarint(String(parts[0]) + fraction) else { return nil }
        self.unscaled = unscaled
        self.scale = Int32(fraction.count)
    }

    public var description: String {
        var digits = self.unscaled.description
        let negative = digits.hasPrefix("-")
        if negative { digits.removeFirst() }
        if self.scale > 0 {
            let s = Int(self.scale)
            if digits.count <= s { digits = String(repeating: "0", count: s - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -s))
        } else if self.scale < 0 {
            digits += String(repeating: "0", count: Int(-self.scale))
        }
        return (negative ? "-" : "") + digits
    }
}
