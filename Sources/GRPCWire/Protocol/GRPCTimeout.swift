/// The `grpc-timeout` header: a positive integer of at most eight digits followed by a unit
/// (`H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds).
public enum GRPCTimeout {
    private static let maxValue: Int64 = 99_999_999

    /// Encodes a duration with the finest unit whose value fits in eight digits, rounding up so the
    /// timeout never encodes shorter than asked. Zero or negative durations encode as `1n`.
    public static func encode(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return "1n" }
        // Total nanoseconds, saturating.
        let nanosFromSeconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let extraNanos = (attoseconds + 999_999_999) / 1_000_000_000
        let total: Int64
        if nanosFromSeconds.overflow {
            total = .max
        } else {
            let sum = nanosFromSeconds.partialValue.addingReportingOverflow(extraNanos)
            total = sum.overflow ? .max : sum.partialValue
        }
        let units: [(Int64, Character)] = [
            (1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"),
            (60_000_000_000, "M"), (3_600_000_000_000, "H"),
        ]
        for (scale, unit) in units {
            let value = (total + scale - 1) / scale  // round up
            if value <= maxValue { return "\(value)\(unit)" }
        }
        return "\(maxValue)H"
    }

    /// Parses a `grpc-timeout` value; nil when malformed.
    public static func parse(_ value: String) -> Duration? {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 2, utf8.count <= 9, let unit = utf8.last else { return nil }
        var amount: Int64 = 0
        for digit in utf8.dropLast() {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        switch unit {
        case UInt8(ascii: "H"): return .seconds(amount * 3600)
        case UInt8(ascii: "M"): return .seconds(amount * 60)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }
}
