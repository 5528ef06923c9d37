import ChatWire
import NIOCore
import PGWire

/// A ``ChatTimestamp`` sent and read as `timestamptz`, exact to the microsecond (both count
/// microseconds; PostgreSQL from 2000-01-01, ChatTimestamp from 1970-01-01).
struct PGInstant: PostgresCodable {
    static let epochOffsetMicroseconds: Int64 = 946_684_800_000_000
    var timestamp: ChatTimestamp

    init(_ timestamp: ChatTimestamp) { self.timestamp = timestamp }

    var postgresType: PostgresDataType { .timestamptz }

    func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        buffer.writeInteger(timestamp.microseconds - Self.epochOffsetMicroseconds)
    }

    init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard format == .binary, type == .timestamptz || type == .timestamp, let micros = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError(.typeMismatch, type: type, format: format, swiftType: ChatTimestamp.self)
        }
        timestamp = ChatTimestamp(microseconds: micros + Self.epochOffsetMicroseconds)
    }
}

extension ConnectionState {
    /// The reference's text form (`NotConnected`, `Pending`, `Connected`; an EF string conversion).
    var postgresText: String {
        switch self {
        case .notConnected: "NotConnected"
        case .pending: "Pending"
        case .connected: "Connected"
        }
    }

    init(postgresText: String) {
        switch postgresText {
        case "Pending": self = .pending
        case "Connected": self = .connected
        default: self = .notConnected
        }
    }
}

/// SQL fragment: the next optimistic-concurrency version of a row, strictly newer than its current one.
let pgNextVersion = "greatest(clock_timestamp(), version + interval '1 microsecond')"

extension PostgresError {
    /// The SQLSTATE and constraint of a server error.
    var violation: (state: SQLState, constraint: String?)? {
        if case .server(let e) = self { return (e.code, e.constraintName) }
        return nil
    }
}
