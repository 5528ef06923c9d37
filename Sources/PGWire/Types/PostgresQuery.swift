import NIOCore

/// Encoded parameter values for the extended protocol.
public struct PostgresBindings: Sendable, Hashable {
    /// Declared types of the parameters.
    public private(set) var types: [PostgresDataType] = []
    /// Formats of the parameters.
    public var formats: [PostgresFormat] { explicitFormats ?? Array(repeating: .binary, count: types.count) }
    /// The formats once a parameter is not binary; nil while all are binary (no array per query).
    private var explicitFormats: [PostgresFormat]?
    /// `Int32 length + bytes` per parameter.
    public private(set) var bytes = ByteBuffer()
    /// The first encoding error, reported when the query runs.
    var encodingError: PostgresEncodingError?

    /// Empty bindings.
    public init() {}

    /// Number of parameters.
    public var count: Int { types.count }

    /// Reserves room for `count` more parameters of about `bytesEach` encoded bytes (length
    /// prefix included), so building a query's bindings allocates each buffer once.
    mutating func reserveCapacity(parameters count: Int, bytesEach: Int = 12) {
        guard count > 0 else { return }
        types.reserveCapacity(types.count + count)
        bytes.reserveCapacity(bytes.writerIndex + count * bytesEach)
    }

    /// Appends a parameter.
    public mutating func append<T: PostgresEncodable>(_ value: T, context: PostgresCodingContext = .default) {
        let mark = bytes.writerIndex
        do {
            try bytes.writePostgresCell(value, context: context)
        } catch {
            bytes.moveWriterIndex(to: mark)
            bytes.writeInteger(Int32(-1))
            if encodingError == nil { encodingError = PostgresEncodingError("parameter $\(types.count + 1) (\(T.self)): \(error)") }
        }
        appendFormat(value.postgresFormat)
        types.append(value.postgresType)
    }

    /// Appends SQL NULL with an unspecified type.
    public mutating func appendNull() {
        bytes.writeInteger(Int32(-1))
        appendFormat(.binary)
        types.append(.unspecified)
    }

    /// Records the format of the parameter being appended (before `types` grows).
    private mutating func appendFormat(_ format: PostgresFormat) {
        if explicitFormats == nil {
            if format == .binary { return }
            explicitFormats = Array(repeating: .binary, count: types.count)
        }
        explicitFormats!.append(format)
    }

    var formatsForBind: [PostgresFormat] {
        if formats.allSatisfy({ $0 == .binary }) { return formats.isEmpty ? [] : [.binary] }
        return formats
    }

    /// Writes a Bind message's parameter format codes and count (one code when all are binary),
    /// then the parameter values, without building arrays.
    func writeBindParameters(into buffer: inout ByteBuffer) {
        if types.isEmpty {
            buffer.writeInteger(Int16(0))
        } else if explicitFormats == nil {
            buffer.writeInteger(Int16(1))
            buffer.writeInteger(PostgresFormat.binary.rawValue)
        } else if let formats = explicitFormats, !formats.contains(where: { $0 != .binary }) {
            buffer.writeInteger(Int16(1))
            buffer.writeInteger(PostgresFormat.binary.rawValue)
        } else {
            let formats = explicitFormats ?? []
            buffer.writeInteger(Int16(truncatingIfNeeded: formats.count))
            for f in formats { buffer.writeInteger(f.rawValue) }
        }
        buffer.writeInteger(Int16(truncatingIfNeeded: types.count))
        buffer.writeImmutableBuffer(bytes)
    }
}

/// A SQL statement with bound parameters. String interpolation turns every interpolated value into
/// a `$n` parameter, so values are never spliced into the SQL text:
///
/// ```swift
/// let rows = try await connection.query("SELECT name FROM users WHERE id = \(id)")
/// ```
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The SQL text with `$1 ... $n` placeholders.
    public var sql: String
    /// The parameter values.
    public var binds: PostgresBindings

    /// A query with explicit bindings.
    public init(unsafeSQL sql: String, binds: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.binds = binds
    }

    /// A query without parameters.
    public init(stringLiteral value: String) {
        self.sql = value
        self.binds = PostgresBindings()
    }

    /// Builds from interpolation.
    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.binds = stringInterpolation.binds
    }

    /// The interpolation builder.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql: String
        var binds: PostgresBindings

        /// Reserves space.
        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = PostgresBindings()
            binds.reserveCapacity(parameters: interpolationCount)
        }

        /// Appends SQL text.
        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// Binds a value as the next `$n` parameter.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T) {
            binds.append(value)
            appendPlaceholder()
        }

        /// Appends `$n` for the last bound parameter (no string interpolation machinery).
        @inline(__always)
        mutating func appendPlaceholder() {
            let n = binds.count
            if n < 10 {
                sql.unicodeScalars.append("$")
                sql.unicodeScalars.append(Unicode.Scalar(UInt8(48 + n)))
            } else {
                sql += "$" + String(n)
            }
        }

        /// Binds a value with an explicit coding context (custom JSON coders).
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T, context: PostgresCodingContext) {
            binds.append(value, context: context)
            appendPlaceholder()
        }

        /// Splices an identifier, quoted with double quotes (embedded quotes doubled).
        public mutating func appendInterpolation(identifier: String) {
            sql += quoteIdentifier(identifier)
        }

        /// Splices raw SQL text. Never use with untrusted input.
        public mutating func appendInterpolation(unescaped: String) { sql += unescaped }
    }
}

/// Quotes an identifier for SQL (`"name"`, embedded quotes doubled).
func quoteIdentifier(_ identifier: String) -> String {
    "\"" + identifier.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
}
