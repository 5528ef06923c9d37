/// Per-statement execution options.
public struct CQLStatementOptions: Sendable {
    /// Nil uses the session's default consistency.
    public var consistency: CQLConsistency?
    /// For lightweight transactions (`IF ...`): SERIAL or LOCAL_SERIAL.
    public var serialConsistency: CQLConsistency?
    /// Rows per page; nil uses the session default.
    public var pageSize: Int32?
    /// Resume from a previous page (manual paging).
    public var pagingState: [UInt8]?
    /// Write timestamp in microseconds since the epoch.
    public var timestamp: Int64?
    /// v5: run in this keyspace (on v4 the session's keyspace applies).
    public var keyspace: String?
    /// v5: the "now" used by the server for TTLs and functions.
    public var nowInSeconds: Int32?
    /// Ask the server to trace the request; the result carries the tracing id.
    public var tracing: Bool
    /// Sent to the server as the custom payload.
    public var customPayload: [String: [UInt8]]?
    /// Idempotent statements may be retried on another host and run speculatively.
    public var isIdempotent: Bool
    /// Overrides the session's request timeout.
    public var timeout: Duration?

    public init(consistency: CQLConsistency? = nil, serialConsistency: CQLConsistency? = nil, pageSize: Int32? = nil,
                pagingState: [UInt8]? = nil, timestamp: Int64? = nil, keyspace: String? = nil, nowInSeconds: Int32? = nil,
                tracing: Bool = false, customPayload: [String: [UInt8]]? = nil, isIdempotent: Bool = false,
                timeout: Duration? = nil) {
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.pageSize = pageSize
        self.pagingState = pagingState
        self.timestamp = timestamp
        self.keyspace = keyspace
        self.nowInSeconds = nowInSeconds
        self.tracing = tracing
        self.customPayload = customPayload
        self.isIdempotent = isIdempotent
        self.timeout = timeout
    }

    public static var `default`: CQLStatementOptions { CQLStatementOptions() }
}

/// A CQL statement whose interpolated values become bound parameters, never spliced text:
///
/// ```swift
/// let q: CQLQuery = "SELECT * FROM chat.messages WHERE chat_id = \(chatID) LIMIT 10"
/// // q.text == "SELECT * FROM chat.messages WHERE chat_id = ? LIMIT 10", q.values == [.text(chatID)]
/// ```
public struct CQLQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    public var text: String
    public var values: [CQLValue]

    public init(_ text: String, _ values: [CQLValue] = []) {
        self.text = text
        self.values = values
    }

    public init(stringLiteral value: String) {
        self.text = value
        self.values = []
    }

    public init(stringInterpolation: StringInterpolation) {
        self.text = stringInterpolation.text
        self.values = stringInterpolation.values
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        var values: [CQLValue] = []
        public init(literalCapacity: Int, interpolationCount: Int) {
            self.text.reserveCapacity(literalCapacity + interpolationCount)
        }
        public mutating func appendLiteral(_ literal: String) { self.text += literal }
        /// Binds `value` as a parameter (`?`).
        public mutating func appendInterpolation(_ value: some CQLValueConvertible) {
            self.text += "?"
            self.values.append(value.cqlValue)
        }
        /// Splices trusted text (identifiers) verbatim; never use with user input.
        public mutating func appendInterpolation(unescaped text: String) { self.text += text }
    }
}

/// One statement of a batch.
public struct CQLBatchStatement: Sendable {
    public var query: String
    public var values: [CQLValue]
    /// Prepare the statement (through the session cache) instead of sending its text.
    public var prepared: Bool

    public init(_ query: String, _ values: [CQLValue] = [], prepared: Bool = true) {
        self.query = query
        self.values = values
        self.prepared = prepared
    }

    public init(_ query: CQLQuery, prepared: Bool = true) {
        self.init(query.text, query.values, prepared: prepared)
    }
}
