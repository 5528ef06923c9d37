import NIOCore

/// A SQLSTATE error code (see PostgreSQL's Appendix A), typed but open-ended.
public struct SQLState: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The five-character code.
    public var rawValue: String
    /// Wraps a code.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a code.
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    /// The two-character class (e.g. `23` integrity constraint violation).
    public var errorClass: String { String(rawValue.prefix(2)) }

    public static let successfulCompletion: SQLState = "00000"
    public static let connectionException: SQLState = "08000"
    public static let connectionFailure: SQLState = "08006"
    public static let featureNotSupported: SQLState = "0A000"
    public static let invalidTransactionState: SQLState = "25000"
    public static let readOnlySQLTransaction: SQLState = "25006"
    public static let inFailedSQLTransaction: SQLState = "25P02"
    public static let invalidAuthorizationSpecification: SQLState = "28000"
    public static let invalidPassword: SQLState = "28P01"
    public static let integrityConstraintViolation: SQLState = "23000"
    public static let notNullViolation: SQLState = "23502"
    public static let foreignKeyViolation: SQLState = "23503"
    public static let uniqueViolation: SQLState = "23505"
    public static let checkViolation: SQLState = "23514"
    public static let exclusionViolation: SQLState = "23P01"
    public static let serializationFailure: SQLState = "40001"
    public static let deadlockDetected: SQLState = "40P01"
    public static let syntaxError: SQLState = "42601"
    public static let insufficientPrivilege: SQLState = "42501"
    public static let undefinedColumn: SQLState = "42703"
    public static let undefinedFunction: SQLState = "42883"
    public static let undefinedTable: SQLState = "42P01"
    public static let duplicateTable: SQLState = "42P07"
    public static let duplicatePreparedStatement: SQLState = "42P05"
    public static let invalidSQLStatementName: SQLState = "26000"
    public static let divisionByZero: SQLState = "22012"
    public static let numericValueOutOfRange: SQLState = "22003"
    public static let invalidTextRepresentation: SQLState = "22P02"
    public static let queryCanceled: SQLState = "57014"
    public static let adminShutdown: SQLState = "57P01"
    public static let crashShutdown: SQLState = "57P02"
    public static let cannotConnectNow: SQLState = "57P03"
    public static let invalidCatalogName: SQLState = "3D000"
    public static let tooManyConnections: SQLState = "53300"
    public static let lockNotAvailable: SQLState = "55P03"
}

/// Every field of a PostgreSQL ErrorResponse / NoticeResponse.
public struct PostgresServerError: Sendable, Hashable, CustomStringConvertible {
    /// The raw fields by code byte.
    public var fields: PostgresMessageFields
    /// Creates from raw fields.
    public init(fields: PostgresMessageFields) { self.fields = fields }

    /// Severity, never localized (`ERROR`, `FATAL`, `PANIC`, `WARNING`, `NOTICE`, ...).
    public var severity: String { fields["V"] ?? fields["S"] ?? "ERROR" }
    /// SQLSTATE.
    public var code: SQLState { SQLState(rawValue: fields["C"] ?? "XX000") }
    /// Primary message.
    public var message: String { fields["M"] ?? "" }
    /// Optional detail.
    public var detail: String? { fields["D"] }
    /// Optional hint.
    public var hint: String? { fields["H"] }
    /// Cursor position (1-based characters) in the query.
    public var position: Int? { fields["P"].flatMap { Int($0) } }
    /// Position in an internally generated query.
    public var internalPosition: Int? { fields["p"].flatMap { Int($0) } }
    /// The internally generated query.
    public var internalQuery: String? { fields["q"] }
    /// Call-stack context.
    public var context: String? { fields["W"] }
    /// Schema name.
    public var schemaName: String? { fields["s"] }
    /// Table name.
    public var tableName: String? { fields["t"] }
    /// Column name.
    public var columnName: String? { fields["c"] }
    /// Data type name.
    public var dataTypeName: String? { fields["d"] }
    /// Constraint name.
    public var constraintName: String? { fields["n"] }
    /// Source file of the server.
    public var file: String? { fields["F"] }
    /// Source line of the server.
    public var line: Int? { fields["L"].flatMap { Int($0) } }
    /// Source routine of the server.
    public var routine: String? { fields["R"] }

    public var description: String {
        var s = "\(severity) \(code.rawValue): \(message)"
        if let detail { s += " (detail: \(detail))" }
        if let hint { s += " (hint: \(hint))" }
        return s
    }
}

/// The error type of PGWire operations.
public enum PostgresError: Error, Sendable, CustomStringConvertible {
    /// The server answered with an ErrorResponse.
    case server(PostgresServerError)
    /// Connecting (TCP) failed.
    case connectFailed(host: String, port: Int, reason: String)
    /// The server refused TLS but the TLS mode requires it.
    case tlsRefusedByServer
    /// The TLS handshake or certificate verification failed.
    case tls(String)
    /// Authentication could not proceed on the client side (unsupported method, missing password,
    /// SCRAM server signature mismatch, channel binding required but unavailable).
    case authentication(String)
    /// The connection was closed (by the server, the network or ``PostgresConnection/close()``)
    /// while the request was in flight or before it was sent. The request may or may not have run.
    case connectionClosed(String)
    /// The server violated the protocol; the connection was closed.
    case protocolViolation(PostgresProtocolError)
    /// A parameter could not be encoded.
    case encoding(PostgresEncodingError)
    /// A value could not be decoded.
    case decoding(PostgresDecodingError)
    /// The configuration (URL, key/value string, options) is invalid.
    case invalidConfiguration(String)
    /// The operation is not valid in the current state (e.g. a nested transaction on one connection).
    case misuse(String)
    /// No host accepted a connection with the requested `target_session_attrs`.
    case noSuitableHost(String)
    /// COMMIT was answered with ROLLBACK because a statement in the transaction had failed.
    case transactionRolledBack

    /// The SQLSTATE when the server reported the error.
    public var sqlState: SQLState? {
        if case .server(let e) = self { return e.code }
        return nil
    }

    public var description: String {
        switch self {
        case .server(let e): return "server error: \(e)"
        case .connectFailed(let h, let p, let r): return "could not connect to \(h):\(p): \(r)"
        case .tlsRefusedByServer: return "the server does not accept TLS connections but the TLS mode requires TLS"
        case .tls(let r): return "TLS failed: \(r)"
        case .authentication(let r): return "authentication failed: \(r)"
        case .connectionClosed(let r): return "connection closed: \(r)"
        case .protocolViolation(let e): return "protocol violation: \(e)"
        case .encoding(let e): return e.description
        case .decoding(let e): return e.description
        case .invalidConfiguration(let r): return "invalid configuration: \(r)"
        case .misuse(let r): return "invalid use: \(r)"
        case .noSuitableHost(let r): return "no suitable host: \(r)"
        case .transactionRolledBack: return "the transaction was rolled back because a statement in it failed"
        }
    }
}

extension StartupFailure {
    var postgresError: PostgresError {
        switch self {
        case .server(let f): return .server(PostgresServerError(fields: f))
        case .sslRefused: return .tlsRefusedByServer
        case .unsupportedAuthentication(let m): return .authentication("unsupported authentication method \(m)")
        case .passwordRequired(let m): return .authentication("the server asked for a \(m) password but none was configured")
        case .scram(let e): return .authentication(e.description)
        case .channelBindingRequired: return .authentication("channel binding is required but the server did not complete SCRAM-SHA-256-PLUS")
        case .protocolViolation(let e): return .protocolViolation(e)
        }
    }
}
