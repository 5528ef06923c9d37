import NIOCore
import WireCore

/// A message a client sends.
public protocol CQLRequest: Sendable {
    /// The frame opcode.
    var opcode: CQLOpcode { get }
    /// Writes the message body (without frame header, tracing or custom payload).
    func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion)
}

extension CQLRequest {
    /// Encodes the request as a complete frame.
    ///
    /// - Parameters:
    ///   - tracing: sets the tracing flag.
    ///   - customPayload: written before the body with the custom payload flag.
    public func encodeFrame(stream: Int16, version: CQLProtocolVersion, tracing: Bool = false,
                            customPayload: [String: [UInt8]]? = nil, into buffer: inout ByteBuffer) {
        var flags: CQLFrameFlags = []
        if tracing { flags.insert(.tracing) }
        if customPayload != nil { flags.insert(.customPayload) }
        let headerIndex = buffer.writerIndex
        CQLFrameHeader(version: version.rawValue, isResponse: false, flags: flags, stream: stream,
                       opcode: self.opcode, bodyLength: 0).encode(into: &buffer)
        let bodyStart = buffer.writerIndex
        if let customPayload { buffer.writeCQLBytesMap(customPayload) }
        self.encodeBody(into: &buffer, version: version)
        buffer.setInteger(Int32(buffer.writerIndex - bodyStart), at: headerIndex + 5)
    }
}

/// STARTUP: selects the CQL version and compression.
public struct CQLStartupRequest: CQLRequest {
    /// The options in the order they are written.
    public var options: [(key: String, value: String)]
    public init(options: [(key: String, value: String)]) { self.options = options }
    /// A STARTUP with `CQL_VERSION` 3.0.0, optional `COMPRESSION` and driver identification.
    public init(compression: CQLCompressionAlgorithm? = nil, driverName: String? = nil, driverVersion: String? = nil) {
        var options: [(key: String, value: String)] = []
        if let driverName { options.append(("DRIVER_NAME", driverName)) }
        if let driverVersion { options.append(("DRIVER_VERSION", driverVersion)) }
        options.append(("CQL_VERSION", "3.0.0"))
        if let compression { options.append(("COMPRESSION", compression.rawValue)) }
        self.options = options
    }
    public var opcode: CQLOpcode { .startup }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeCQLStringMap(ordered: self.options.map { ($0.key, $0.value) })
    }
}

/// OPTIONS: asks which STARTUP options the server supports.
public struct CQLOptionsRequest: CQLRequest {
    public init() {}
    public var opcode: CQLOpcode { .options }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {}
}

/// AUTH_RESPONSE: a SASL token for the server's authenticator.
public struct CQLAuthResponseRequest: CQLRequest {
    public var token: [UInt8]?
    public init(token: [UInt8]?) { self.token = token }
    public var opcode: CQLOpcode { .authResponse }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeBytes(self.token, prefix: .int32)
    }
}

/// Server event kinds a connection can REGISTER for.
public enum CQLEventType: String, Sendable, Hashable, CaseIterable {
    case topologyChange = "TOPOLOGY_CHANGE"
    case statusChange = "STATUS_CHANGE"
    case schemaChange = "SCHEMA_CHANGE"
}

/// REGISTER: subscribes this connection to server events.
public struct CQLRegisterRequest: CQLRequest {
    public var events: [CQLEventType]
    public init(events: [CQLEventType]) { self.events = events }
    public var opcode: CQLOpcode { .register }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeCQLStringList(self.events.map(\.rawValue))
    }
}

/// QUERY: runs a CQL string.
public struct CQLQueryRequest: CQLRequest {
    public var query: String
    public var parameters: CQLQueryParameters
    public init(query: String, parameters: CQLQueryParameters) {
        self.query = query
        self.parameters = parameters
    }
    public var opcode: CQLOpcode { .query }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeCQLLongString(self.query)
        self.parameters.encode(into: &buffer, version: version)
    }
}

/// PREPARE: prepares a statement (v5: optionally in a given keyspace).
public struct CQLPrepareRequest: CQLRequest {
    public var query: String
    public var keyspace: String?
    public init(query: String, keyspace: String? = nil) {
        self.query = query
        self.keyspace = keyspace
    }
    public var opcode: CQLOpcode { .prepare }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeCQLLongString(self.query)
        if version >= .v5 {
            if let keyspace = self.keyspace {
                buffer.writeInteger(UInt32(0x01))
                buffer.writeCQLString(keyspace)
            } else {
                buffer.writeInteger(UInt32(0))
            }
        }
    }
}

/// EXECUTE: runs a prepared statement.
public struct CQLExecuteRequest: CQLRequest {
    public var id: [UInt8]
    /// v5: the result metadata id the client holds for this statement.
    public var resultMetadataID: [UInt8]?
    public var parameters: CQLQueryParameters
    public init(id: [UInt8], resultMetadataID: [UInt8]? = nil, parameters: CQLQueryParameters) {
        self.id = id
        self.resultMetadataID = resultMetadataID
        self.parameters = parameters
    }
    public var opcode: CQLOpcode { .execute }
    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeCQLShortBytes(self.id)
        if version >= .v5 { buffer.writeCQLShortBytes(self.resultMetadataID ?? []) }
        // EXECUTE always carries the values section (like the DataStax drivers), even when empty
        self.parameters.encode(into: &buffer, version: version, alwaysIncludeValues: true)
    }
}

/// The kind of a BATCH.
public enum CQLBatchType: UInt8, Sendable, Hashable {
    case logged = 0
    case unlogged = 1
    case counter = 2
}

/// BATCH: several modification statements applied together.
public struct CQLBatchRequest: CQLRequest {
    /// One statement of a batch: a query string or a prepared id, with positional values.
    public enum Statement: Sendable, Hashable {
        case query(String, values: [CQLBoundValue])
        case prepared(id: [UInt8], values: [CQLBoundValue])
    }

    public var type: CQLBatchType
    public var statements: [Statement]
    public var consistency: CQLConsistency
    public var serialConsistency: CQLConsistency?
    public var defaultTimestamp: Int64?
    /// v5 only.
    public var keyspace: String?
    /// v5 only.
    public var nowInSeconds: Int32?

    public init(type: CQLBatchType, statements: [Statement], consistency: CQLConsistency,
                serialConsistency: CQLConsistency? = nil, defaultTimestamp: Int64? = nil,
                keyspace: String? = nil, nowInSeconds: Int32? = nil) {
        self.type = type
        self.statements = statements
        self.consistency = consistency
        self.serialConsistency = serialConsistency
        self.defaultTimestamp = defaultTimestamp
        self.keyspace = keyspace
        self.nowInSeconds = nowInSeconds
    }

    public var opcode: CQLOpcode { .batch }

    public func encodeBody(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeInteger(self.type.rawValue)
        buffer.writeInteger(UInt16(truncatingIfNeeded: self.statements.count))
        for statement in self.statements {
            switch statement {
            case .query(let query, let values):
                buffer.writeInteger(UInt8(0))
                buffer.writeCQLLongString(query)
                buffer.writeInteger(UInt16(truncatingIfNeeded: values.count))
                for value in values { value.encode(into: &buffer) }
            case .prepared(let id, let values):
                buffer.writeInteger(UInt8(1))
                buffer.writeCQLShortBytes(id)
                buffer.writeInteger(UInt16(truncatingIfNeeded: values.count))
                for value in values { value.encode(into: &buffer) }
            }
        }
        buffer.writeInteger(self.consistency.rawValue)
        var flags: CQLQueryParameters.Flags = []
        if self.serialConsistency != nil { flags.insert(.serialConsistency) }
        if self.defaultTimestamp != nil { flags.insert(.defaultTimestamp) }
        if version >= .v5 {
            if self.keyspace != nil { flags.insert(.keyspace) }
            if self.nowInSeconds != nil { flags.insert(.nowInSeconds) }
            buffer.writeInteger(flags.rawValue)
        } else {
            buffer.writeInteger(UInt8(truncatingIfNeeded: flags.rawValue))
        }
        if let serial = self.serialConsistency { buffer.writeInteger(serial.rawValue) }
        if let timestamp = self.defaultTimestamp { buffer.writeInteger(timestamp) }
        if flags.contains(.keyspace), let keyspace = self.keyspace { buffer.writeCQLString(keyspace) }
        if flags.contains(.nowInSeconds), let now = self.nowInSeconds { buffer.writeInteger(now) }
    }
}
