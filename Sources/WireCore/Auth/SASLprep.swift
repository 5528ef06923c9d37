import Foundation

/// SASLprep (RFC 4013): the stringprep (RFC 3454) profile that SCRAM applies to user names and
/// passwords, so that differently typed but equivalent strings authenticate alike.
///
/// The steps, in order:
/// 1. Map: non-ASCII space characters (table C.1.2) become U+0020; characters "commonly mapped
///    to nothing" (table B.1, e.g. the soft hyphen and zero-width joiners) are removed.
/// 2. Normalize with Unicode normalization form KC.
/// 3. Prohibit: non-ASCII spaces, ASCII and non-ASCII control characters, private use,
///    non-characters, surrogates, characters inappropriate for plain text or canonical
///    representation, display-changing and deprecated characters, tagging characters
///    (tables C.1.2, C.2.1, C.2.2, C.3 - C.9); and unassigned code points when preparing a
///    stored string.
/// 4. Bidi (RFC 3454 section 6): a string containing right-to-left characters (table D.1) must
///    not contain left-to-right characters (table D.2), and must start and end with a
///    right-to-left character.
///
/// Tables B.1, C.* and D.1 are RFC 3454's. Normalization uses the platform's current Unicode
/// data rather than Unicode 3.2; "unassigned" (table A.1) is the current general category; and
/// "left-to-right" (table D.2) is approximated by letters, spacing marks and letter numbers
/// outside the right-to-left blocks. D.2 also lists some non-ASCII digits and symbols, which
/// this approximation treats as neutral: a right-to-left string containing them is accepted.
///
/// ```swift
/// try SASLprep.prepare("I\u{00AD}X")      // "IX"
/// try SASLprep.prepare("user\u{00A0}1")   // "user 1"
/// try SASLprep.prepare("\u{2168}")        // "IX" (NFKC)
/// try SASLprep.prepare("a\u{0007}")       // throws .prohibited(U+0007)
/// ```
public enum SASLprep {
    /// Why a string cannot be prepared.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// The (mapped, normalized) string contains a prohibited character.
        case prohibited(Unicode.Scalar)
        /// An unassigned code point in a stored string.
        case unassigned(Unicode.Scalar)
        /// The string mixes right-to-left and left-to-right characters, or a right-to-left
        /// string does not start and end with a right-to-left character.
        case bidi

        public var description: String {
            switch self {
            case .prohibited(let s): return "SASLprep: prohibited character U+\(String(s.value, radix: 16, uppercase: true))"
            case .unassigned(let s): return "SASLprep: unassigned code point U+\(String(s.value, radix: 16, uppercase: true))"
            case .bidi: return "SASLprep: invalid mix of right-to-left and left-to-right characters"
            }
        }
    }

    /// Prepares `string`.
    ///
    /// - Parameter storedString: Refuse unassigned code points (for strings being stored, such as
    ///   a new password). SCRAM prepares names and passwords as queries, where they are allowed.
    public static func prepare(_ string: String, storedString: Bool = false) throws(Failure) -> String {
        // Printable ASCII maps to itself and passes every check.
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return string }

        // 1. Map.
        var mapped = String.UnicodeScalarView()
        for scalar in string.unicodeScalars {
            if isNonASCIISpace(scalar) {
                mapped.append(" ")
            } else if !isMappedToNothing(scalar) {
                mapped.append(scalar)
            }
        }
        // 2. Normalize (NFKC).
        let normalized = String(mapped).precomposedStringWithCompatibilityMapping
        // 3. Prohibit.
        var hasRandAL = false
        var hasL = false
        for scalar in normalized.unicodeScalars {
            if isProhibited(scalar) { throw .prohibited(scalar) }
            if storedString, scalar.properties.generalCategory == .unassigned { throw .unassigned(scalar) }
            if isRandALCat(scalar) { hasRandAL = true } else if isLCat(scalar) { hasL = true }
        }
        // 4. Bidi.
        if hasRandAL {
            let scalars = normalized.unicodeScalars
            guard !hasL, let first = scalars.first, let last = scalars.last, isRandALCat(first), isRandALCat(last) else {
                throw .bidi
            }
        }
        return normalized
    }

    // MARK: - Tables (RFC 3454 appendices, as code point ranges)

    /// C.1.2 Non-ASCII space characters.
    static func isNonASCIISpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00A0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// B.1 Commonly mapped to nothing.
    static func isMappedToNothing(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00AD, 0x034F, 0x1806, 0x180B...0x180D, 0x200B...0x200D, 0x2060, 0xFE00...0xFE0F, 0xFEFF: return true
        default: return false
        }
    }

    /// C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
    static func isProhibited(_ s: Unicode.Scalar) -> Bool {
        if isNonASCIISpace(s) { return true }
        switch s.value {
        // C.2.1 ASCII control characters
        case 0x0000...0x001F, 0x007F: return true
        // C.2.2 Non-ASCII control characters
        case 0x0080...0x009F, 0x06DD, 0x070F, 0x180E, 0x200C, 0x200D, 0x2028, 0x2029, 0x2060...0x2063,
             0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC, 0x1D173...0x1D17A: return true
        // C.3 Private use
        case 0xE000...0xF8FF, 0xF0000...0xFFFFD, 0x100000...0x10FFFD: return true
        // C.5 Surrogate codes (cannot occur in a Swift string; listed for completeness)
        case 0xD800...0xDFFF: return true
        // C.6 Inappropriate for plain text
        case 0xFFF9...0xFFFD: return true
        // C.7 Inappropriate for canonical representation
        case 0x2FF0...0x2FFB: return true
        // C.8 Change display properties or are deprecated
        case 0x0340, 0x0341, 0x200E, 0x200F, 0x202A...0x202E: return true
        // C.9 Tagging characters
        case 0xE0001, 0xE0020...0xE007F: return true
        default:
            // C.4 Non-character code points (U+FDD0-FDEF and the last two of every plane)
            return s.properties.isNoncharacterCodePoint
        }
    }

    /// D.1 Characters with bidirectional property "R" or "AL".
    static func isRandALCat(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x05BE, 0x05C0, 0x05C3, 0x05D0...0x05EA, 0x05F0...0x05F4, 0x061B, 0x061F, 0x0621...0x063A,
             0x0640...0x064A, 0x066D...0x066F, 0x0671...0x06D5, 0x06DD, 0x06E5...0x06E6, 0x06FA...0x06FE,
             0x0700...0x070D, 0x0710, 0x0712...0x072C, 0x0780...0x07A5, 0x07B1, 0x200F, 0xFB1D,
             0xFB1F...0xFB28, 0xFB2A...0xFB36, 0xFB38...0xFB3C, 0xFB3E, 0xFB40...0xFB41, 0xFB43...0xFB44,
             0xFB46...0xFBB1, 0xFBD3...0xFD3D, 0xFD50...0xFD8F, 0xFD92...0xFDC7, 0xFDF0...0xFDFC,
             0xFE70...0xFE74, 0xFE76...0xFEFC:
            return true
        default:
            return false
        }
    }

    /// D.2 Characters with bidirectional property "L": letters and spacing marks outside the
    /// right-to-left blocks (Hebrew, Arabic, Syriac, Thaana and their presentation forms).
    static func isLCat(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0590...0x08FF, 0xFB1D...0xFDFF, 0xFE70...0xFEFF, 0x10800...0x10FFF, 0x1E800...0x1EFFF: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .spacingMark, .letterNumber:
            return true
        default:
            return false
        }
    }
}
