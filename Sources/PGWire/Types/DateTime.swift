import Foundation
import NIOCore
import WireCore

/// Seconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
let postgresEpochOffset: Int64 = 946_684_800

extension Date: PostgresCodable, PostgresArrayElement {
    /// Sent as `timestamptz` (microsecond precision).
    public var postgresType: PostgresDataType { .timestamptz }
    public static var postgresArrayType: PostgresDataType { .timestamptzArray }
    public static var postgresElementType: PostgresDataType { .timestamptz }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        if self == .distantFuture { buffer.writeInteger(Int64.max); return }
        if self == .distantPast { buffer.writeInteger(Int64.min); return }
        let micros = ((self.timeIntervalSince1970 - Double(postgresEpochOffset)) * 1_000_000).rounded()
        buffer.writeInteger(Int64(micros))
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard format == .binary else { throw mismatch(Date.self, type, format) }
        switch (type, buffer.readableBytes) {
        case (.timestamptz, 8), (.timestamp, 8):
            let micros = buffer.readInteger(as: Int64.self)!
            if micros == .max { self = .distantFuture; return }
            if micros == .min { self = .distantPast; return }
            let seconds = micros.quotientAndRemainder(dividingBy: 1_000_000)
            self = Date(timeIntervalSince1970: Double(seconds.quotient + postgresEpochOffset) + Double(seconds.remainder) / 1_000_000)
        case (.date, 4):
            let days = buffer.readInteger(as: Int32.self)!
            if days == .max { self = .distantFuture; return }
            if days == .min { self = .distantPast; return }
            self = Date(timeIntervalSince1970: Double(Int64(days) * 86_400 + postgresEpochOffset))
        default:
            throw mismatch(Date.self, type, format)
        }
    }
}

/// A `date` value: days since 2000-01-01 (`Int32.max`/`min` are `infinity`/`-infinity`).
public struct PostgresDate: PostgresCodable, PostgresArrayElement, Hashable, Comparable {
    /// Days since 2000-01-01.
    public var daysSince2000: Int32
    /// Wraps a day count.
    public init(daysSince2000: Int32) { self.daysSince2000 = daysSince2000 }
    /// The proleptic Gregorian date.
    public init(year: Int, month: Int, day: Int) {
        self.daysSince2000 = Int32(CivilCalendar.daysSinceUnixEpoch(year: year, month: month, day: day) - 10_957)
    }
    /// Year, month and day (proleptic Gregorian).
    public var components: (year: Int, month: Int, day: Int) {
        CivilCalendar.date(daysSinceUnixEpoch: Int(daysSince2000) + 10_957)
    }
    public static func < (a: Self, b: Self) -> Bool { a.daysSince2000 < b.daysSince2000 }
    public var postgresType: PostgresDataType { .date }
    public static var postgresArrayType: PostgresDataType { .dateArray }
    public static var postgresElementType: PostgresDataType { .date }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(daysSince2000) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .date, format == .binary else { throw mismatch(PostgresDate.self, type, format) }
        guard buffer.readableBytes == 4 else { throw invalid(PostgresDate.self, type, format, "expected 4 bytes") }
        self.daysSince2000 = buffer.readInteger()!
    }
}

/// A `timestamp` (without time zone) value: microseconds since 2000-01-01 00:00:00 in an unspecified zone.
public struct PostgresTimestamp: PostgresCodable, PostgresArrayElement, Hashable, Comparable {
    /// Microseconds since 2000-01-01 00:00:00 (`Int64.max`/`min` are infinities).
    public var microsecondsSince2000: Int64
    /// Wraps a count.
    public init(microsecondsSince2000: Int64) { self.microsecondsSince2000 = microsecondsSince2000 }
    /// The same wall-clock reading interpreted as UTC.
    public init(utc date: Date) {
        microsecondsSince2000 = Int64(((date.timeIntervalSince1970 - Double(postgresEpochOffset)) * 1_000_000).rounded())
    }
    /// The wall-clock reading interpreted as UTC.
    public var utcDate: Date {
        Date(timeIntervalSince1970: Double(postgresEpochOffset) + Double(microsecondsSince2000) / 1_000_000)
    }
    public static func < (a: Self, b: Self) -> Bool { a.microsecondsSince2000 < b.microsecondsSince2000 }
    public var postgresType: PostgresDataType { .timestamp }
    public static var postgresArrayType: PostgresDataType { .timestampArray }
    public static var postgresElementType: PostgresDataType { .timestamp }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(microsecondsSince2000) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .timestamp || type == .timestamptz, format == .binary else { throw mismatch(PostgresTimestamp.self, type, format) }
        guard buffer.readableBytes == 8 else { throw invalid(PostgresTimestamp.self, type, format, "expected 8 bytes") }
        self.microsecondsSince2000 = buffer.readInteger()!
    }
}

/// A `time` (without time zone) value: microseconds since midnight.
public struct PostgresTime: PostgresCodable, PostgresArrayElement, Hashable {
    /// Microseconds since midnight (0 ... 86 400 000 000).
    public var microseconds: Int64
    /// Wraps a count.
    public init(microseconds: Int64) { self.microseconds = microseconds }
    /// Builds from components.
    public init(hour: Int, minute: Int, second: Int, microsecond: Int = 0) {
        microseconds = Int64(((hour * 60 + minute) * 60 + second)) * 1_000_000 + Int64(microsecond)
    }
    public var postgresType: PostgresDataType { .time }
    public static var postgresArrayType: PostgresDataType { .timeArray }
    public static var postgresElementType: PostgresDataType { .time }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeInteger(microseconds) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .time, format == .binary else { throw mismatch(PostgresTime.self, type, format) }
        guard buffer.readableBytes == 8 else { throw invalid(PostgresTime.self, type, format, "expected 8 bytes") }
        self.microseconds = buffer.readInteger()!
    }
}

/// A `timetz` value: local time plus UTC offset.
public struct PostgresTimeTZ: PostgresCodable, PostgresArrayElement, Hashable {
    /// Microseconds since midnight, local time.
    public var microseconds: Int64
    /// Offset from UTC in seconds, east positive (PostgreSQL stores the negation).
    public var utcOffsetSeconds: Int32
    /// Creates a value.
    public init(microseconds: Int64, utcOffsetSeconds: Int32) {
        self.microseconds = microseconds
        self.utcOffsetSeconds = utcOffsetSeconds
    }
    public var postgresType: PostgresDataType { .timetz }
    public static var postgresArrayType: PostgresDataType { .timetzArray }
    public static var postgresElementType: PostgresDataType { .timetz }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        buffer.writeInteger(microseconds)
        buffer.writeInteger(-utcOffsetSeconds)
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .timetz, format == .binary else { throw mismatch(PostgresTimeTZ.self, type, format) }
        guard buffer.readableBytes == 12 else { throw invalid(PostgresTimeTZ.self, type, format, "expected 12 bytes") }
        self.microseconds = buffer.readInteger()!
        self.utcOffsetSeconds = -buffer.readInteger(as: Int32.self)!
    }
}

/// An `interval` value, kept in PostgreSQL's three fields.
public struct PostgresInterval: PostgresCodable, PostgresArrayElement, Hashable {
    /// Months (years are 12 months).
    public var months: Int32
    /// Days.
    public var days: Int32
    /// Microseconds.
    public var microseconds: Int64
    /// Creates an interval.
    public init(months: Int32 = 0, days: Int32 = 0, microseconds: Int64 = 0) {
        self.months = months
        self.days = days
        self.microseconds = microseconds
    }
    public var postgresType: PostgresDataType { .interval }
    public static var postgresArrayType: PostgresDataType { .intervalArray }
    public static var postgresElementType: PostgresDataType { .interval }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        buffer.writeInteger(microseconds)
        buffer.writeInteger(days)
        buffer.writeInteger(months)
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .interval, format == .binary else { throw mismatch(PostgresInterval.self, type, format) }
        guard buffer.readableBytes == 16 else { throw invalid(PostgresInterval.self, type, format, "expected 16 bytes") }
        self.microseconds = buffer.readInteger()!
        self.days = buffer.readInteger()!
        self.months = buffer.readInteger()!
    }
}
