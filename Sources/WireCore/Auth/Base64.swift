/// Standard base64 (RFC 4648 section 4): padded, as SASL mechanisms use it, or unpadded, as gRPC
/// sends `-bin` metadata values (and must accept either).
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// Encodes `bytes`, with `=` padding to a multiple of four characters unless `padding` is false.
    public static func encode(_ bytes: [UInt8], padding: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 3) << 4 | b1 >> 4)])
            if i + 1 < bytes.count {
                out.append(alphabet[Int((b1 & 0xF) << 2 | b2 >> 6)])
            } else if padding {
                out.append(UInt8(ascii: "="))
            }
            if i + 2 < bytes.count {
                out.append(alphabet[Int(b2 & 0x3F)])
            } else if padding {
                out.append(UInt8(ascii: "="))
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64; `nil` for characters outside the alphabet, a length no encoding produces,
    /// or misplaced padding. With `requirePadding` (the default) the input must be padded to a
    /// multiple of four; without it, padding is optional but still only at the end.
    public static func decode<S: StringProtocol>(_ text: S, requirePadding: Bool = true) -> [UInt8]? {
        var chars = Array(text.utf8)
        if requirePadding && chars.count % 4 != 0 { return nil }
        var padding = 0
        while padding < 2, chars.last == UInt8(ascii: "=") {
            chars.removeLast()
            padding += 1
        }
        // A remainder of one character cannot come from any byte count.
        if chars.count % 4 == 1 { return nil }
        if padding > 0 && (chars.count + padding) % 4 != 0 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in chars {
            let d = reverse[Int(c)]
            guard d != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(d)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}
