#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WireCore

/// A UTC instant with microsecond precision, used for optimistic-concurrency versions and time
/// bounds. Encoded in JSON as ISO 8601 text with six fractional digits, e.g.
/// `"2026-11-28T23:54:44.123456Z"`, so a version read from the API compares exactly when sent back.
public struct ChatTimestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    /// An instant from Unix microseconds.
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The current time.
    public static func now() -> ChatTimestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ChatTimestamp(microseconds: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }

    /// The snowflake epoch, 2021-01-01T00:00:00Z.
    public static let snowflakeEpoch = ChatTimestamp(microseconds: Snowflake.epochMilliseconds * 1000)

    public static func < (lhs: ChatTimestamp, rhs: ChatTimestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    /// ISO 8601 text with six fractional digits and `Z`.
    public var description: String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let micros = microseconds - seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = Self.civil(fromDays: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    /// Parses `yyyy-MM-ddTHH:mm:ss[.fffffff][Z|±HH:MM]`, `yyyyMMddTHHmmss[.fffffff][Z|±HHMM]`
    /// or `MM/dd/yyyy HH:mm:ss[.fffffff][Z]` (the reference's query formats). No zone means UTC.
    public init?(parsing text: String) {
        let chars = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= chars.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let c = chars[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < chars.count, chars[i] == c else { return false }
            i += 1
            return true
        }
        var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64
        if chars.count >= 19, chars[2] == UInt8(ascii: "/") {
            guard let mo = digits(2), expect(UInt8(ascii: "/")), let dd = digits(2), expect(UInt8(ascii: "/")),
                  let yy = digits(4), expect(UInt8(ascii: " ")), let hh = digits(2), expect(UInt8(ascii: ":")),
                  let mi = digits(2), expect(UInt8(ascii: ":")), let ss = digits(2) else { return nil }
            (year, month, day, hour, minute, second) = (yy, mo, dd, hh, mi, ss)
        } else if chars.count >= 15, chars[8] == UInt8(ascii: "T") {
            guard let yy = digits(4), let mo = digits(2), let dd = digits(2), expect(UInt8(ascii: "T")),
                  let hh = digits(2), let mi = digits(2), let ss = digits(2) else { return nil }
            (year, month, day, hour, minute, second) = (yy, mo, dd, hh, mi, ss)
        } else {
            guard let yy = digits(4), expect(UInt8(ascii: "-")), let mo = digits(2), expect(UInt8(ascii: "-")),
                  let dd = digits(2), expect(UInt8(ascii: "T")) || expect(UInt8(ascii: " ")), let hh = digits(2),
                  expect(UInt8(ascii: ":")), let mi = digits(2), expect(UInt8(ascii: ":")), let ss = digits(2)
            else { return nil }
            (year, month, day, hour, minute, second) = (yy, mo, dd, hh, mi, ss)
        }
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var micros: Int64 = 0
        if expect(UInt8(ascii: ".")) {
            var count = 0
            while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                if count < 6 { micros = micros * 10 + Int64(chars[i] - 48) }
                count += 1
                i += 1
            }
            guard count > 0, count <= 9 else { return nil }
            if count < 6 { for _ in count..<6 { micros *= 10 } }
        }
        var offsetSeconds: Int64 = 0
        if i < chars.count {
            if expect(UInt8(ascii: "Z")) {
            } else if chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-") {
                let sign: Int64 = chars[i] == UInt8(ascii: "+") ? 1 : -1
                i += 1
                guard let oh = digits(2) else { return nil }
                _ = expect(UInt8(ascii: ":"))
                guard let om = digits(2), oh < 24, om < 60 else { return nil }
                offsetSeconds = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
        }
        guard i == chars.count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.microseconds = seconds * 1_000_000 + micros
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = ChatTimestamp(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 timestamp: \(text)")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        Int64(CivilCalendar.daysIn(month: Int(month), year: Int(year)))
    }

    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        Int64(CivilCalendar.daysSinceUnixEpoch(year: Int(year), month: Int(month), day: Int(day)))
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let (y, m, d) = CivilCalendar.date(daysSinceUnixEpoch: Int(days))
        return (Int64(y), Int64(m), Int64(d))
    }
}
