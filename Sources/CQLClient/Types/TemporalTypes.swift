import WireCore

/// A CQL `date`: days since the Unix epoch (stored on the wire as an unsigned 32-bit number
/// centred at 2^31).
public struct CQLDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int32
    public init(daysSinceEpoch: Int32) { self.daysSinceEpoch = daysSinceEpoch }

    /// Creates a date from a proleptic Gregorian year, month and day.
    public init(year: Int, month: Int, day: Int) {
        self.daysSinceEpoch = Int32(CivilCalendar.daysSinceUnixEpoch(year: year, month: month, day: day))
    }

    /// The wire representation.
    public var wireValue: UInt32 { UInt32(bitPattern: self.daysSinceEpoch) &+ (1 << 31) }
    public init(wireValue: UInt32) { self.daysSinceEpoch = Int32(bitPattern: wireValue &- (1 << 31)) }

    /// Year, month and day in the proleptic Gregorian calendar.
    public var components: (year: Int, month: Int, day: Int) {
        CivilCalendar.date(daysSinceUnixEpoch: Int(self.daysSinceEpoch))
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    public var description: String {
        let c = self.components
        func pad(_ v: Int, _ n: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, n - s.count)) + s }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }
}

/// A CQL `time`: nanoseconds since midnight (0 ..< 86 400 000 000 000).
public struct CQLTime: Sendable, Hashable, Comparable {
    public var nanosecondsSinceMidnight: Int64
    public init(nanosecondsSinceMidnight: Int64) { self.nanosecondsSinceMidnight = nanosecondsSinceMidnight }
    public init(hour: Int, minute: Int, second: Int, nanosecond: Int = 0) {
        self.nanosecondsSinceMidnight = ((Int64(hour) * 60 + Int64(minute)) * 60 + Int64(second)) * 1_000_000_000 + Int64(nanosecond)
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanosecondsSinceMidnight < rhs.nanosecondsSinceMidnight }
}

/// A CQL `timestamp`: milliseconds since the Unix epoch.
public struct CQLTimestamp: Sendable, Hashable, Comparable {
    public var millisecondsSinceEpoch: Int64
    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }
}

/// A CQL `duration`: months, days and nanoseconds, each signed (all with the same sign).
public struct CQLDuration: Sendable, Hashable {
    public var months: Int32
    public var days: Int32
    public var nanoseconds: Int64
    public init(months: Int32, days: Int32, nanoseconds: Int64) {
        self.months = months
        self.days = days
        self.nanoseconds = nanoseconds
    }
}
