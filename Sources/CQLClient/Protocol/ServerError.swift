import NIOCore
import WireCore

/// An ERROR response (spec section 9), with each code's extra fields typed.
public struct CQLServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The raw error code.
    public var code: Int32
    /// The server's message.
    public var message: String
    /// The typed kind with the extra fields of its code.
    public var kind: Kind

    public init(code: Int32, message: String, kind: Kind) {
        self.code = code
        self.message = message
        self.kind = kind
    }

    /// The error kinds and their extra fields.
    public enum Kind: Sendable, Hashable {
        case serverError
        case protocolError
        case authenticationError
        case unavailable(consistency: CQLConsistency, required: Int32, alive: Int32)
        case overloaded
        case isBootstrapping
        case truncateError
        /// `contentions` is only sent on v5 for `CAS` writes.
        case writeTimeout(consistency: CQLConsistency, received: Int32, blockFor: Int32, writeType: String, contentions: Int16?)
        case readTimeout(consistency: CQLConsistency, received: Int32, blockFor: Int32, dataPresent: Bool)
        /// v4 carries `failureCount`; v5 carries per-replica `reasons` (and `failureCount` = its size).
        case readFailure(consistency: CQLConsistency, received: Int32, blockFor: Int32, failureCount: Int32,
                         reasons: [FailureReason]?, dataPresent: Bool)
        case functionFailure(keyspace: String, function: String, argumentTypes: [String])
        case writeFailure(consistency: CQLConsistency, received: Int32, blockFor: Int32, failureCount: Int32,
                          reasons: [FailureReason]?, writeType: String)
        /// v5.
        case cdcWriteFailure
        /// v5.
        case casWriteUnknown(consistency: CQLConsistency, received: Int32, blockFor: Int32)
        case syntaxError
        case unauthorized
        case invalid
        case configError
        case alreadyExists(keyspace: String, table: String)
        case unprepared(id: [UInt8])
        /// A code this client does not know; the message is kept.
        case unknown
    }

    /// One replica's failure in a v5 read/write failure.
    public struct FailureReason: Sendable, Hashable {
        public var endpoint: CQLInet
        public var code: UInt16
        public init(endpoint: CQLInet, code: UInt16) {
            self.endpoint = endpoint
            self.code = code
        }
    }

    public var description: String {
        "CQL server error 0x\(String(self.code, radix: 16, uppercase: true)) (\(self.kind.name)): \(self.message)"
    }

    /// True when the server rejected the requested protocol version (used for v5 -> v4 fallback).
    public var isUnsupportedProtocolVersion: Bool {
        self.kind == .protocolError && (self.message.contains("Invalid or unsupported protocol version")
            || self.message.contains("unsupported protocol version") || self.message.contains("Beta version"))
    }

    /// Decodes an ERROR body.
    public static func decode(from buffer: inout ByteBuffer, version: CQLProtocolVersion) throws(WireDecodingError) -> CQLServerError {
        let code = try buffer.readCheckedInteger(as: Int32.self, field: "error code")
        let message = try buffer.readCQLString(field: "error message")
        let kind: Kind
        switch code {
        case 0x0000: kind = .serverError
        case 0x000A: kind = .protocolError
        case 0x0100: kind = .authenticationError
        case 0x1000:
            kind = .unavailable(consistency: try buffer.readCQLConsistency(),
                                required: try buffer.readCheckedInteger(as: Int32.self, field: "required"),
                                alive: try buffer.readCheckedInteger(as: Int32.self, field: "alive"))
        case 0x1001: kind = .overloaded
        case 0x1002: kind = .isBootstrapping
        case 0x1003: kind = .truncateError
        case 0x1100:
            let cl = try buffer.readCQLConsistency()
            let received = try buffer.readCheckedInteger(as: Int32.self, field: "received")
            let blockFor = try buffer.readCheckedInteger(as: Int32.self, field: "blockfor")
            let writeType = try buffer.readCQLString(field: "write type")
            var contentions: Int16?
            if version >= .v5, writeType == "CAS", buffer.readableBytes >= 2 {
                contentions = try buffer.readCheckedInteger(as: Int16.self, field: "contentions")
            }
            kind = .writeTimeout(consistency: cl, received: received, blockFor: blockFor, writeType: writeType, contentions: contentions)
        case 0x1200:
            kind = .readTimeout(consistency: try buffer.readCQLConsistency(),
                                received: try buffer.readCheckedInteger(as: Int32.self, field: "received"),
                                blockFor: try buffer.readCheckedInteger(as: Int32.self, field: "blockfor"),
                                dataPresent: try buffer.readCheckedInteger(as: UInt8.self, field: "data_present") != 0)
        case 0x1300:
            let cl = try buffer.readCQLConsistency()
            let received = try buffer.readCheckedInteger(as: Int32.self, field: "received")
            let blockFor = try buffer.readCheckedInteger(as: Int32.self, field: "blockfor")
            let (count, reasons) = try decodeFailures(&buffer, version: version)
            let dataPresent = try buffer.readCheckedInteger(as: UInt8.self, field: "data_present") != 0
            kind = .readFailure(consistency: cl, received: received, blockFor: blockFor, failureCount: count,
                                reasons: reasons, dataPresent: dataPresent)
        case 0x1400:
            kind = .functionFailure(keyspace: try buffer.readCQLString(field: "keyspace"),
                                    function: try buffer.readCQLString(field: "function"),
                                    argumentTypes: try buffer.readCQLStringList(field: "arg types"))
        case 0x1500:
            let cl = try buffer.readCQLConsistency()
            let received = try buffer.readCheckedInteger(as: Int32.self, field: "received")
            let blockFor = try buffer.readCheckedInteger(as: Int32.self, field: "blockfor")
            let (count, reasons) = try decodeFailures(&buffer, version: version)
            let writeType = try buffer.readCQLString(field: "write type")
            kind = .writeFailure(consistency: cl, received: received, blockFor: blockFor, failureCount: count,
                                 reasons: reasons, writeType: writeType)
        case 0x1600: kind = .cdcWriteFailure
        case 0x1700:
            kind = .casWriteUnknown(consistency: try buffer.readCQLConsistency(),
                                    received: try buffer.readCheckedInteger(as: Int32.self, field: "received"),
                                    blockFor: try buffer.readCheckedInteger(as: Int32.self, field: "blockfor"))
        case 0x2000: kind = .syntaxError
        case 0x2100: kind = .unauthorized
        case 0x2200: kind = .invalid
        case 0x2300: kind = .configError
        case 0x2400:
            kind = .alreadyExists(keyspace: try buffer.readCQLString(field: "keyspace"),
                                  table: try buffer.readCQLString(field: "table"))
        case 0x2500: kind = .unprepared(id: try buffer.readCQLShortBytes(field: "unprepared id"))
        default: kind = .unknown
        }
        return CQLServerError(code: code, message: message, kind: kind)
    }

    private static func decodeFailures(_ buffer: inout ByteBuffer, version: CQLProtocolVersion)
        throws(WireDecodingError) -> (Int32, [FailureReason]?)
    {
        if version >= .v5 {
            let count = try buffer.readCQLCount(minimumElementSize: 7, field: "reason map")
            var reasons: [FailureReason] = []
            for _ in 0..<count {
                let address = try buffer.readCQLInetAddress(field: "reason endpoint")
                reasons.append(FailureReason(endpoint: address, code: try buffer.readCheckedInteger(as: UInt16.self, field: "failure code")))
            }
            return (Int32(count), reasons)
        }
        return (try buffer.readCheckedInteger(as: Int32.self, field: "numfailures"), nil)
    }

    /// Encodes an ERROR body (used by tests and test servers).
    public func encode(into buffer: inout ByteBuffer, version: CQLProtocolVersion) {
        buffer.writeInteger(self.code)
        buffer.writeCQLString(self.message)
        switch self.kind {
        case .unavailable(let cl, let required, let alive):
            buffer.writeInteger(cl.rawValue); buffer.writeInteger(required); buffer.writeInteger(alive)
        case .writeTimeout(let cl, let received, let blockFor, let writeType, let contentions):
            buffer.writeInteger(cl.rawValue); buffer.writeInteger(received); buffer.writeInteger(blockFor)
            buffer.writeCQLString(writeType)
            if version >= .v5, let contentions { buffer.writeInteger(contentions) }
        case .readTimeout(let cl, let received, let blockFor, let dataPresent):
            buffer.writeInteger(cl.rawValue); buffer.writeInteger(received); buffer.writeInteger(blockFor)
            buffer.writeInteger(UInt8(dataPresent ? 1 : 0))
        case .readFailure(let cl, let received, let blockFor, let count, let reasons, let dataPresent):
            buffer.writeInteger(cl.rawValue); buffer.writeInteger(received); buffer.writeInteger(blockFor)
            Self.encodeFailures(&buffer, count: count, reasons: reasons, version: version)
            buffer.writeInteger(UInt8(dataPresent ? 1 : 0))
        case .functionFailure(let ks, let function, let args):
            buffer.writeCQLString(ks); buffer.writeCQLString(function); buffer.writeCQLStringList(args)
        case .writeFailure(let cl, let received, let blockFor, let count, let reasons, let writeType):
            buffer.writeInteger(cl.rawValue); buffer.writeInteger(received); buffer.writeInteger(blockFor)
            Self.encodeFailures(&buffer, count: count, reasons: reasons, version: version)
            buffer.writeCQLString(writeType)
        case .casWriteUnknown(let cl, let received, let blockFor):
            buffer.writeInteger(cl.rawValue); buffer.writeInteger(received); buffer.writeInteger(blockFor)
        case .alreadyExists(let ks, let table):
            buffer.writeCQLString(ks); buffer.writeCQLString(table)
        case .unprepared(let id):
            buffer.writeCQLShortBytes(id)
        default: break
        }
    }

    private static func encodeFailures(_ buffer: inout ByteBuffer, count: Int32, reasons: [FailureReason]?, version: CQLProtocolVersion) {
        if version >= .v5 {
            let reasons = reasons ?? []
            buffer.writeInteger(Int32(reasons.count))
            for reason in reasons {
                buffer.writeCQLInetAddress(reason.endpoint)
                buffer.writeInteger(reason.code)
            }
        } else {
            buffer.writeInteger(count)
        }
    }
}

extension CQLServerError.Kind {
    /// The spec's name for the error code.
    public var name: String {
        switch self {
        case .serverError: "Server error"
        case .protocolError: "Protocol error"
        case .authenticationError: "Authentication error"
        case .unavailable: "Unavailable"
        case .overloaded: "Overloaded"
        case .isBootstrapping: "Is_bootstrapping"
        case .truncateError: "Truncate_error"
        case .writeTimeout: "Write_timeout"
        case .readTimeout: "Read_timeout"
        case .readFailure: "Read_failure"
        case .functionFailure: "Function_failure"
        case .writeFailure: "Write_failure"
        case .cdcWriteFailure: "CDC_write_failure"
        case .casWriteUnknown: "CAS_write_unknown"
        case .syntaxError: "Syntax_error"
        case .unauthorized: "Unauthorized"
        case .invalid: "Invalid"
        case .configError: "Config_error"
        case .alreadyExists: "Already_exists"
        case .unprepared: "Unprepared"
        case .unknown: "Unknown"
        }
    }
}
