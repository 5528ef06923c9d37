import NIOCore
import WireCore

/// The wire format of a parameter or result column: text (0) or binary (1).
public enum PostgresFormat: Int16, Sendable, Hashable {
    /// Text representation.
    case text = 0
    /// Binary representation.
    case binary = 1
}

/// What a `Describe` or `Close` message targets.
public enum PostgresDescribeTarget: Sendable, Hashable {
    /// A prepared statement by name ("" is the unnamed statement).
    case statement(String)
    /// A portal by name ("" is the unnamed portal).
    case portal(String)
}

/// The parameters of a `Bind` message. Parameter values are pre-encoded into one buffer of
/// `Int32 length + bytes` cells (length -1 for NULL), exactly as they go on the wire.
public struct PostgresBindMessage: Sendable, Equatable {
    /// Destination portal name.
    public var portal: String
    /// Source prepared statement name.
    public var statement: String
    /// Formats of the parameters (empty = all text, one = applies to all).
    public var parameterFormats: [PostgresFormat]
    /// Number of parameter values in `parameterData`.
    public var parameterCount: Int
    /// Encoded parameter cells.
    public var parameterData: ByteBuffer
    /// Formats requested for result columns (empty = all text, one = applies to all).
    public var resultFormats: [PostgresFormat]

    /// Creates a bind message.
    public init(portal: String = "", statement: String, parameterFormats: [PostgresFormat], parameterCount: Int,
                parameterData: ByteBuffer, resultFormats: [PostgresFormat]) {
        self.portal = portal
        self.statement = statement
        self.parameterFormats = parameterFormats
        self.parameterCount = parameterCount
        self.parameterData = parameterData
        self.resultFormats = resultFormats
    }
}

/// A message the client (frontend) sends to the server.
public enum FrontendMessage: Sendable, Equatable {
    /// StartupMessage (protocol 3.0) with parameters such as `user`, `database`, `application_name`.
    case startup(parameters: [String: String])
    /// SSLRequest (asks the server to switch to TLS).
    case sslRequest
    /// CancelRequest, sent on a separate connection.
    case cancelRequest(processID: Int32, secretKey: Int32)
    /// PasswordMessage with a cleartext or MD5-hashed password.
    case password(String)
    /// SASLInitialResponse.
    case saslInitialResponse(mechanism: String, data: [UInt8])
    /// SASLResponse.
    case saslResponse([UInt8])
    /// Simple Query.
    case query(String)
    /// Parse: prepare `query` as statement `name` with optional parameter type OIDs (0 = unspecified).
    case parse(name: String, query: String, parameterTypes: [PostgresDataType])
    /// Bind.
    case bind(PostgresBindMessage)
    /// Describe a statement or portal.
    case describe(PostgresDescribeTarget)
    /// Execute a portal returning at most `maxRows` rows (0 = all).
    case execute(portal: String, maxRows: Int32)
    /// Close a statement or portal.
    case close(PostgresDescribeTarget)
    /// Sync: ends an extended-query batch; the server answers ReadyForQuery.
    case sync
    /// Flush: asks the server to send pending output.
    case flush
    /// CopyData.
    case copyData(ByteBuffer)
    /// CopyDone.
    case copyDone
    /// CopyFail with an error message.
    case copyFail(String)
    /// Terminate.
    case terminate

    /// Encodes the message with its type byte and length.
    /// - Throws: ``PostgresProtocolError/nulInString(field:)`` when a string contains NUL.
    public func encode(into buffer: inout ByteBuffer) throws(PostgresProtocolError) {
        switch self {
        case .startup(let parameters):
            let start = buffer.writerIndex
            buffer.writeInteger(Int32(0))
            buffer.writeInteger(Int32(196_608))
            for (key, value) in parameters.sorted(by: { $0.key < $1.key }) {
                try buffer.writePGString(key, field: "startup parameter name")
                try buffer.writePGString(value, field: "startup parameter \(key)")
            }
            buffer.writeInteger(UInt8(0))
            buffer.setInteger(Int32(buffer.writerIndex - start), at: start)
        case .sslRequest:
            buffer.writeInteger(Int32(8))
            buffer.writeInteger(Int32(80_877_103))
        case .cancelRequest(let pid, let key):
            buffer.writeInteger(Int32(16))
            buffer.writeInteger(Int32(80_877_102))
            buffer.writeInteger(pid)
            buffer.writeInteger(key)
        case .password(let password):
            let start = buffer.beginMessage(UInt8(ascii: "p"))
            try buffer.writePGString(password, field: "password")
            buffer.endMessage(start)
        case .saslInitialResponse(let mechanism, let data):
            let start = buffer.beginMessage(UInt8(ascii: "p"))
            try buffer.writePGString(mechanism, field: "SASL mechanism")
            buffer.writeInteger(Int32(data.count))
            buffer.writeBytes(data)
            buffer.endMessage(start)
        case .saslResponse(let data):
            let start = buffer.beginMessage(UInt8(ascii: "p"))
            buffer.writeBytes(data)
            buffer.endMessage(start)
        case .query(let sql):
            let start = buffer.beginMessage(UInt8(ascii: "Q"))
            try buffer.writePGString(sql, field: "query")
            buffer.endMessage(start)
        case .parse(let name, let query, let types):
            let start = buffer.beginMessage(UInt8(ascii: "P"))
            try buffer.writePGString(name, field: "statement name")
            try buffer.writePGString(query, field: "query")
            buffer.writeInteger(Int16(truncatingIfNeeded: types.count))
            for t in types { buffer.writeInteger(t.rawValue) }
            buffer.endMessage(start)
        case .bind(let bind):
            let start = buffer.beginMessage(UInt8(ascii: "B"))
            try buffer.writePGString(bind.portal, field: "portal name")
            try buffer.writePGString(bind.statement, field: "statement name")
            buffer.writeInteger(Int16(truncatingIfNeeded: bind.parameterFormats.count))
            for f in bind.parameterFormats { buffer.writeInteger(f.rawValue) }
            buffer.writeInteger(Int16(truncatingIfNeeded: bind.parameterCount))
            var data = bind.parameterData
            buffer.writeBuffer(&data)
            buffer.writeInteger(Int16(truncatingIfNeeded: bind.resultFormats.count))
            for f in bind.resultFormats { buffer.writeInteger(f.rawValue) }
            buffer.endMessage(start)
        case .describe(let target):
            let start = buffer.beginMessage(UInt8(ascii: "D"))
            try buffer.writeTarget(target)
            buffer.endMessage(start)
        case .execute(let portal, let maxRows):
            let start = buffer.beginMessage(UInt8(ascii: "E"))
            try buffer.writePGString(portal, field: "portal name")
            buffer.writeInteger(maxRows)
            buffer.endMessage(start)
        case .close(let target):
            let start = buffer.beginMessage(UInt8(ascii: "C"))
            try buffer.writeTarget(target)
            buffer.endMessage(start)
        case .sync:
            buffer.writeInteger(UInt8(ascii: "S"))
            buffer.writeInteger(Int32(4))
        case .flush:
            buffer.writeInteger(UInt8(ascii: "H"))
            buffer.writeInteger(Int32(4))
        case .copyData(let data):
            buffer.writeInteger(UInt8(ascii: "d"))
            buffer.writeInteger(Int32(4 + data.readableBytes))
            var data = data
            buffer.writeBuffer(&data)
        case .copyDone:
            buffer.writeInteger(UInt8(ascii: "c"))
            buffer.writeInteger(Int32(4))
        case .copyFail(let message):
            let start = buffer.beginMessage(UInt8(ascii: "f"))
            try buffer.writePGString(message, field: "CopyFail message")
            buffer.endMessage(start)
        case .terminate:
            buffer.writeInteger(UInt8(ascii: "X"))
            buffer.writeInteger(Int32(4))
        }
    }
}

extension ByteBuffer {
    @inlinable
    mutating func beginMessage(_ type: UInt8) -> Int {
        self.writeInteger(type)
        let start = self.writerIndex
        self.writeInteger(Int32(0))
        return start
    }

    @inlinable
    mutating func endMessage(_ start: Int) {
        self.setInteger(Int32(truncatingIfNeeded: self.writerIndex - start), at: start)
    }

    /// Writes a NUL-terminated string, throwing instead of trapping when it contains NUL.
    @inlinable
    mutating func writePGString(_ string: String, field: @autoclosure () -> String) throws(PostgresProtocolError) {
        var string = string
        let ok: Bool = string.withUTF8 { utf8 in
            if utf8.contains(0) { return false }
            self.writeBytes(utf8)
            return true
        }
        guard ok else { throw .nulInString(field: field()) }
        self.writeInteger(UInt8(0))
    }

    mutating func writeTarget(_ target: PostgresDescribeTarget) throws(PostgresProtocolError) {
        switch target {
        case .statement(let name):
            self.writeInteger(UInt8(ascii: "S"))
            try self.writePGString(name, field: "statement name")
        case .portal(let name):
            self.writeInteger(UInt8(ascii: "P"))
            try self.writePGString(name, field: "portal name")
        }
    }
}
