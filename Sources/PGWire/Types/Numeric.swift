import Foundation
import NIOCore

/// An exact PostgreSQL `numeric` value, kept as its canonical decimal string (any precision),
/// including `NaN`, `Infinity` and `-Infinity`.
public struct PostgresNumeric: PostgresCodable, PostgresArrayElement, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Canonical text, e.g. `-12.3400`.
    public let description: String

    /// Parses a decimal string (`[-+]digits[.digits]`, `NaN`, `Infinity`, `-Infinity`).
    public init?(_ string: String) {
        if ["NaN", "Infinity", "-Infinity"].contains(string) { description = string; return }
        guard Self.parse(string) != nil else { return nil }
        description = string.hasPrefix("+") ? String(string.dropFirst()) : string
    }

    /// Creates a value from a literal; traps if the literal is not a number.
    public init(stringLiteral value: String) {
        guard let v = Self(value) else { preconditionFailure("'\(value)' is not a numeric literal") }
        self = v
    }

    /// Converts a `Decimal` exactly.
    public init(_ decimal: Decimal) {
        description = decimal.isNaN ? "NaN" : "\(decimal)"
    }

    /// The value as `Decimal` (exact up to 38 significant digits; `nil` for NaN/Infinity or more digits).
    public var decimal: Decimal? {
        guard let p = Self.parse(description) else { return nil }
        let significant = (p.integer + p.fraction).drop { $0 == "0" }
        guard significant.count <= 38 else { return nil }
        return Decimal(string: description, locale: Locale(identifier: "en_US_POSIX"))
    }

    static func parse(_ s: String) -> (negative: Bool, integer: Substring, fraction: Substring)? {
        var body = Substring(s)
        var negative = false
        if body.first == "-" { negative = true; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integer = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(integer.isEmpty && fraction.isEmpty),
              integer.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return (negative, integer, fraction)
    }

    public var postgresType: PostgresDataType { .numeric }
    public static var postgresArrayType: PostgresDataType { .numericArray }
    public static var postgresElementType: PostgresDataType { .numeric }

    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        switch description {
        case "NaN": buffer.writeNumericHeader(0, 0, 0xC000, 0); return
        case "Infinity": buffer.writeNumericHeader(0, 0, 0xD000, 0); return
        case "-Infinity": buffer.writeNumericHeader(0, 0, 0xF000, 0); return
        default: break
        }
        let p = Self.parse(description)!
        let dscale = p.fraction.count
        var intDigits = Array(p.integer.utf8.map { Int16($0 - 48) })
        while intDigits.first == 0 { intDigits.removeFirst() }
        var fracDigits = Array(p.fraction.utf8.map { Int16($0 - 48) })
        let padInt = (4 - intDigits.count % 4) % 4
        intDigits.insert(contentsOf: repeatElement(0, count: padInt), at: 0)
        fracDigits.append(contentsOf: repeatElement(0, count: (4 - fracDigits.count % 4) % 4))
        var groups: [Int16] = []
        for i in stride(from: 0, to: intDigits.count, by: 4) { groups.append(intDigits[i] * 1000 + intDigits[i + 1] * 100 + intDigits[i + 2] * 10 + intDigits[i + 3]) }
        var weight = Int16(groups.count) - 1
        for i in stride(from: 0, to: fracDigits.count, by: 4) { groups.append(fracDigits[i] * 1000 + fracDigits[i + 1] * 100 + fracDigits[i + 2] * 10 + fracDigits[i + 3]) }
        while groups.first == 0 { groups.removeFirst(); weight -= 1 }
        while groups.last == 0 { groups.removeLast() }
        if groups.isEmpty { weight = 0 }
        buffer.writeNumericHeader(Int16(groups.count), weight, p.negative && !groups.isEmpty ? 0x4000 : 0, Int16(dscale))
        for g in groups { buffer.writeInteger(g) }
    }

    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .numeric else { throw mismatch(PostgresNumeric.self, type, format) }
        if format == .text {
            let s = buffer.readAllString()
            guard let v = PostgresNumeric(s) else { throw invalid(PostgresNumeric.self, type, format, "'\(s)'") }
            self = v
            return
        }
        guard let ndigits = buffer.readInteger(as: Int16.self), let weight = buffer.readInteger(as: Int16.self),
              let sign = buffer.readInteger(as: UInt16.self), let dscale = buffer.readInteger(as: Int16.self),
              ndigits >= 0, dscale >= 0, buffer.readableBytes == Int(ndigits) * 2, abs(Int(weight)) <= 10_000 else {
            throw invalid(PostgresNumeric.self, type, format, "malformed header")
        }
        switch sign {
        case 0xC000: self.description = "NaN"; return
        case 0xD000: self.description = "Infinity"; return
        case 0xF000: self.description = "-Infinity"; return
        case 0x0000, 0x4000: break
        default: throw invalid(PostgresNumeric.self, type, format, "bad sign 0x\(String(sign, radix: 16))")
        }
        var digits: [Int16] = []
        digits.reserveCapacity(Int(ndigits))
        for _ in 0..<ndigits {
            let d = buffer.readInteger(as: Int16.self)!
            guard (0...9999).contains(d) else { throw invalid(PostgresNumeric.self, type, format, "digit \(d) out of range") }
            digits.append(d)
        }
        func digit(_ i: Int) -> Int16 { i >= 0 && i < digits.count ? digits[i] : 0 }
        var out = sign == 0x4000 ? "-" : ""
        if weight < 0 {
            out += "0"
        } else {
            for i in 0...Int(weight) {
                let d = digit(i)
                if i == 0 { out += String(d) } else { out += pad4(d) }
            }
        }
        if dscale > 0 {
            out += "."
            var frac = ""
            var i = Int(weight) + 1
            while frac.count < Int(dscale) { frac += pad4(digit(i)); i += 1 }
            out += frac.prefix(Int(dscale))
        }
        self.description = out
    }
}

private func pad4(_ d: Int16) -> String {
    let s = String(d)
    return String(repeating: "0", count: 4 - s.count) + s
}

extension ByteBuffer {
    fileprivate mutating func writeNumericHeader(_ ndigits: Int16, _ weight: Int16, _ sign: UInt16, _ dscale: Int16) {
        writeInteger(ndigits); writeInteger(weight); writeInteger(sign); writeInteger(dscale)
    }
}

extension Decimal: PostgresCodable, PostgresArrayElement {
    public var postgresType: PostgresDataType { .numeric }
    public static var postgresArrayType: PostgresDataType { .numericArray }
    public static var postgresElementType: PostgresDataType { .numeric }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        PostgresNumeric(self).encode(into: &buffer, context: context)
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        let n = try PostgresNumeric(from: &buffer, type: type, format: format, context: context)
        guard let d = n.decimal else { throw invalid(Decimal.self, type, format, "\(n) is not representable as Decimal") }
        self = d
    }
}
