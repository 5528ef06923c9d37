import NIOCore
import WireCore

/// The authentication request variants of the `R` message.
public enum AuthenticationRequest: Sendable, Equatable {
    /// AuthenticationOk.
    case ok
    /// AuthenticationKerberosV5 (unsupported by this client).
    case kerberosV5
    /// AuthenticationCleartextPassword.
    case cleartextPassword
    /// AuthenticationMD5Password with its 4-byte salt.
    case md5Password(salt: [UInt8])
    /// AuthenticationGSS (unsupported).
    case gss
    /// AuthenticationGSSContinue (unsupported).
    case gssContinue([UInt8])
    /// AuthenticationSSPI (unsupported).
    case sspi
    /// AuthenticationSASL with the mechanisms the server offers.
    case sasl(mechanisms: [String])
    /// AuthenticationSASLContinue with the server-first message.
    case saslContinue([UInt8])
    /// AuthenticationSASLFinal with the server-final message.
    case saslFinal([UInt8])
}

/// The transaction status reported by ReadyForQuery.
public enum TransactionStatus: UInt8, Sendable, Hashable {
    /// Not in a transaction block.
    case idle = 73 // 'I'
    /// In a transaction block.
    case inTransaction = 84 // 'T'
    /// In a failed transaction block (queries rejected until rollback).
    case failed = 69 // 'E'
}

/// One column of a RowDescription.
public struct PostgresColumn: Sendable, Hashable {
    /// Column name (or alias).
    public var name: String
    /// OID of the source table, or 0.
    public var tableOID: UInt32
    /// Attribute number in the source table, or 0.
    public var columnAttributeNumber: Int16
    /// The column's data type.
    public var dataType: PostgresDataType
    /// pg_type.typlen.
    public var dataTypeSize: Int16
    /// pg_attribute.atttypmod.
    public var typeModifier: Int32
    /// Format of the values in DataRows.
    public var format: PostgresFormat

    /// Creates a column description.
    public init(name: String, tableOID: UInt32 = 0, columnAttributeNumber: Int16 = 0, dataType: PostgresDataType,
                dataTypeSize: Int16 = -1, typeModifier: Int32 = -1, format: PostgresFormat) {
        self.name = name
        self.tableOID = tableOID
        self.columnAttributeNumber = columnAttributeNumber
        self.dataType = dataType
        self.dataTypeSize = dataTypeSize
        self.typeModifier = typeModifier
        self.format = format
    }
}

/// A DataRow: `columnCount` cells, each `Int32 length` (-1 = NULL) followed by bytes, validated on decode.
public struct DataRow: Sendable, Equatable {
    /// Number of cells.
    public let columnCount: Int
    /// The raw cells (validated: every length fits).
    public let bytes: ByteBuffer

    /// Wraps already validated cells.
    public init(columnCount: Int, bytes: ByteBuffer) {
        self.columnCount = columnCount
        self.bytes = bytes
    }

    /// The cells in order; `nil` for SQL NULL.
    public var cells: [ByteBuffer?] {
        var out: [ByteBuffer?] = []
        out.reserveCapacity(columnCount)
        var b = bytes
        for _ in 0..<columnCount {
            let len = b.readInteger(as: Int32.self)!
            out.append(len < 0 ? nil : b.readSlice(length: Int(len))!)
        }
        return out
    }
}

/// The fields of an ErrorResponse or NoticeResponse, keyed by field type byte.
public struct PostgresMessageFields: Sendable, Hashable {
    /// Raw fields, keyed by the one-byte field code (`S`, `V`, `C`, `M`, `D`, `H`, `P`, ...).
    public var fields: [UInt8: String]
    /// Wraps fields.
    public init(_ fields: [UInt8: String]) { self.fields = fields }
    /// Field by its code character.
    public subscript(_ code: Character) -> String? { fields[code.asciiValue ?? 0] }
}

/// Columnar format information of CopyInResponse / CopyOutResponse / CopyBothResponse.
public struct CopyResponse: Sendable, Hashable {
    /// Overall format.
    public var format: PostgresFormat
    /// Per-column formats.
    public var columnFormats: [PostgresFormat]
    /// Creates a description.
    public init(format: PostgresFormat, columnFormats: [PostgresFormat]) {
        self.format = format
        self.columnFormats = columnFormats
    }
}

/// A message the server (backend) sends.
public enum BackendMessage: Sendable, Equatable {
    case authentication(AuthenticationRequest)
    case backendKeyData(processID: Int32, secretKey: Int32)
    case bindComplete
    case closeComplete
    case commandComplete(String)
    case copyData(ByteBuffer)
    case copyDone
    case copyInResponse(CopyResponse)
    case copyOutResponse(CopyResponse)
    case copyBothResponse(CopyResponse)
    case dataRow(DataRow)
    case emptyQueryResponse
    case errorResponse(PostgresMessageFields)
    case negotiateProtocolVersion(newestMinor: Int32, unrecognizedOptions: [String])
    case noData
    case noticeResponse(PostgresMessageFields)
    case notification(processID: Int32, channel: String, payload: String)
    case parameterDescription([PostgresDataType])
    case parameterStatus(name: String, value: String)
    case parseComplete
    case portalSuspended
    case readyForQuery(TransactionStatus)
    case rowDescription([PostgresColumn])

    /// Default upper bound for a single backend message (1 GiB is PostgreSQL's own limit for a value).
    public static let defaultMaximumMessageSize = 1 << 30

    /// Decodes one message from the front of `buffer`.
    ///
    /// Returns `nil` (and consumes nothing) when the buffer holds less than a whole message.
    /// Lengths are never trusted: each field is bounds-checked against the message's own length.
    /// On error the buffer's reader index is unchanged.
    public static func decode(
        from buffer: inout ByteBuffer, maximumMessageSize: Int = defaultMaximumMessageSize
    ) throws(PostgresProtocolError) -> BackendMessage? {
        guard buffer.readableBytes >= 5 else { return nil }
        let start = buffer.readerIndex
        let type = buffer.getInteger(at: start, as: UInt8.self)!
        let length = buffer.getInteger(at: start + 1, as: Int32.self)!
        guard length >= 4 else { throw .invalidLength(messageType: type, length: length) }
        guard Int(length) <= maximumMessageSize else {
            throw .messageTooLarge(messageType: type, length: Int(length), limit: maximumMessageSize)
        }
        guard buffer.readableBytes >= Int(length) + 1 else { return nil }
        var body = buffer.getSlice(at: start + 5, length: Int(length) - 4)!
        let message = try decodeBody(type: type, body: &body)
        buffer.moveReaderIndex(forwardBy: Int(length) + 1)
        return message
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func decodeBody(type: UInt8, body: inout ByteBuffer) throws(PostgresProtocolError) -> BackendMessage {
        let message: BackendMessage
        do {
            switch type {
            case UInt8(ascii: "R"):
                message = .authentication(try decodeAuthentication(&body))
            case UInt8(ascii: "K"):
                message = .backendKeyData(processID: try body.readCheckedInteger(field: "process ID"),
                                          secretKey: try body.readCheckedInteger(field: "secret key"))
            case UInt8(ascii: "2"): message = .bindComplete
            case UInt8(ascii: "3"): message = .closeComplete
            case UInt8(ascii: "1"): message = .parseComplete
            case UInt8(ascii: "n"): message = .noData
            case UInt8(ascii: "I"): message = .emptyQueryResponse
            case UInt8(ascii: "s"): message = .portalSuspended
            case UInt8(ascii: "c"): message = .copyDone
            case UInt8(ascii: "C"): message = .commandComplete(try body.readCString(field: "command tag"))
            case UInt8(ascii: "d"):
                message = .copyData(body)
                body.moveReaderIndex(to: body.writerIndex)
            case UInt8(ascii: "G"), UInt8(ascii: "H"), UInt8(ascii: "W"):
                let format = try decodeFormat(try body.readCheckedInteger(as: Int8.self, field: "copy format"))
                let count = try body.readCheckedInteger(as: Int16.self, field: "column count")
                guard count >= 0, Int(count) * 2 <= body.readableBytes else {
                    throw WireDecodingError.invalidValue(field: "column count", reason: "\(count) does not fit the message")
                }
                var formats: [PostgresFormat] = []
                formats.reserveCapacity(Int(count))
                for _ in 0..<count { formats.append(try decodeFormat(try body.readCheckedInteger(as: Int16.self, field: "column format"))) }
                let response = CopyResponse(format: format, columnFormats: formats)
                message = type == UInt8(ascii: "G") ? .copyInResponse(response)
                    : type == UInt8(ascii: "H") ? .copyOutResponse(response) : .copyBothResponse(response)
            case UInt8(ascii: "D"):
                message = .dataRow(try decodeDataRow(&body))
            case UInt8(ascii: "E"), UInt8(ascii: "N"):
                var fields: [UInt8: String] = [:]
                while true {
                    let code = try body.readCheckedInteger(as: UInt8.self, field: "field code")
                    if code == 0 { break }
                    fields[code] = try body.readCString(field: "field value")
                }
                message = type == UInt8(ascii: "E") ? .errorResponse(.init(fields)) : .noticeResponse(.init(fields))
            case UInt8(ascii: "v"):
                let minor = try body.readCheckedInteger(as: Int32.self, field: "newest minor version")
                let count = try body.readCheckedInteger(as: Int32.self, field: "option count")
                guard count >= 0, Int(count) <= body.readableBytes else {
                    throw WireDecodingError.invalidValue(field: "option count", reason: "\(count) does not fit the message")
                }
                var options: [String] = []
                for _ in 0..<count { options.append(try body.readCString(field: "option name")) }
                message = .negotiateProtocolVersion(newestMinor: minor, unrecognizedOptions: options)
            case UInt8(ascii: "A"):
                message = .notification(processID: try body.readCheckedInteger(field: "process ID"),
                                        channel: try body.readCString(field: "channel"),
                                        payload: try body.readCString(field: "payload"))
            case UInt8(ascii: "t"):
                let count = try body.readCheckedInteger(as: Int16.self, field: "parameter count")
                guard count >= 0, Int(count) * 4 <= body.readableBytes else {
                    throw WireDecodingError.invalidValue(field: "parameter count", reason: "\(count) does not fit the message")
                }
                var types: [PostgresDataType] = []
                types.reserveCapacity(Int(count))
                for _ in 0..<count { types.append(PostgresDataType(try body.readCheckedInteger(as: UInt32.self, field: "parameter type"))) }
                message = .parameterDescription(types)
            case UInt8(ascii: "S"):
                message = .parameterStatus(name: try body.readCString(field: "parameter name"),
                                           value: try body.readCString(field: "parameter value"))
            case UInt8(ascii: "Z"):
                let raw = try body.readCheckedInteger(as: UInt8.self, field: "transaction status")
                guard let status = TransactionStatus(rawValue: raw) else {
                    throw WireDecodingError.invalidValue(field: "transaction status", reason: "unknown status byte \(raw)")
                }
                message = .readyForQuery(status)
            case UInt8(ascii: "T"):
                let count = try body.readCheckedInteger(as: Int16.self, field: "field count")
                guard count >= 0, Int(count) * 19 <= body.readableBytes else {
                    throw WireDecodingError.invalidValue(field: "field count", reason: "\(count) does not fit the message")
                }
                var columns: [PostgresColumn] = []
                columns.reserveCapacity(Int(count))
                for _ in 0..<count {
                    let colName = try body.readCString(field: "column name")
                    let table = try body.readCheckedInteger(as: UInt32.self, field: "table OID")
                    let attr = try body.readCheckedInteger(as: Int16.self, field: "attribute number")
                    let oid = try body.readCheckedInteger(as: UInt32.self, field: "type OID")
                    let size = try body.readCheckedInteger(as: Int16.self, field: "type size")
                    let mod = try body.readCheckedInteger(as: Int32.self, field: "type modifier")
                    let format = try decodeFormat(try body.readCheckedInteger(as: Int16.self, field: "format"))
                    columns.append(PostgresColumn(name: colName, tableOID: table, columnAttributeNumber: attr,
                                                  dataType: PostgresDataType(oid), dataTypeSize: size,
                                                  typeModifier: mod, format: format))
                }
                message = .rowDescription(columns)
            default:
                throw PostgresProtocolError.unknownMessageType(type)
            }
        } catch let error as PostgresProtocolError {
            throw error
        } catch let error as WireDecodingError {
            throw .malformed(message: Self.messageName(type), error)
        } catch {
            throw .malformed(message: Self.messageName(type), .invalidValue(field: "message", reason: "\(error)"))
        }
        if body.readableBytes != 0 { throw .trailingBytes(message: Self.messageName(type), count: body.readableBytes) }
        return message
    }

    @inline(__always)
    static func decodeDataRow(_ body: inout ByteBuffer) throws(WireDecodingError) -> DataRow {
        let count = try body.readCheckedInteger(as: Int16.self, field: "column count")
        guard count >= 0 else { throw .invalidValue(field: "column count", reason: "negative (\(count))") }
        let cells = body
        // Validate every cell length against the remaining bytes without copying.
        let ok: Bool = body.withUnsafeReadableBytes { raw in
            var offset = 0
            let total = raw.count
            for _ in 0..<Int(count) {
                guard offset + 4 <= total else { return false }
                let len = Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                offset += 4
                if len < -1 { return false }
                if len > 0 {
                    guard Int(len) <= total - offset else { return false }
                    offset += Int(len)
                }
            }
            return offset == total
        }
        guard ok else { throw .invalidValue(field: "data row", reason: "cell lengths do not match the message length") }
        body.moveReaderIndex(to: body.writerIndex)
        return DataRow(columnCount: Int(count), bytes: cells)
    }

    static func decodeFormat<I: FixedWidthInteger>(_ raw: I) throws(WireDecodingError) -> PostgresFormat {
        switch raw {
        case 0: return .text
        case 1: return .binary
        default: throw .invalidValue(field: "format code", reason: "\(raw) is neither 0 nor 1")
        }
    }

    static func decodeAuthentication(_ body: inout ByteBuffer) throws(WireDecodingError) -> AuthenticationRequest {
        let code = try body.readCheckedInteger(as: Int32.self, field: "authentication code")
        switch code {
        case 0: return .ok
        case 2: return .kerberosV5
        case 3: return .cleartextPassword
        case 5: return .md5Password(salt: try body.readCheckedBytes(length: 4, field: "MD5 salt"))
        case 7: return .gss
        case 8: return .gssContinue(body.readBytes(length: body.readableBytes) ?? [])
        case 9: return .sspi
        case 10:
            var mechanisms: [String] = []
            while true {
                let m = try body.readCString(field: "SASL mechanism")
                if m.isEmpty { break }
                mechanisms.append(m)
            }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(body.readBytes(length: body.readableBytes) ?? [])
        case 12: return .saslFinal(body.readBytes(length: body.readableBytes) ?? [])
        default: throw .invalidValue(field: "authentication code", reason: "unknown code \(code)")
        }
    }

    static func messageName(_ type: UInt8) -> String {
        switch type {
        case UInt8(ascii: "R"): return "Authentication"
        case UInt8(ascii: "K"): return "BackendKeyData"
        case UInt8(ascii: "2"): return "BindComplete"
        case UInt8(ascii: "3"): return "CloseComplete"
        case UInt8(ascii: "C"): return "CommandComplete"
        case UInt8(ascii: "d"): return "CopyData"
        case UInt8(ascii: "c"): return "CopyDone"
        case UInt8(ascii: "G"): return "CopyInResponse"
        case UInt8(ascii: "H"): return "CopyOutResponse"
        case UInt8(ascii: "W"): return "CopyBothResponse"
        case UInt8(ascii: "D"): return "DataRow"
        case UInt8(ascii: "I"): return "EmptyQueryResponse"
        case UInt8(ascii: "E"): return "ErrorResponse"
        case UInt8(ascii: "v"): return "NegotiateProtocolVersion"
        case UInt8(ascii: "n"): return "NoData"
        case UInt8(ascii: "N"): return "NoticeResponse"
        case UInt8(ascii: "A"): return "NotificationResponse"
        case UInt8(ascii: "t"): return "ParameterDescription"
        case UInt8(ascii: "S"): return "ParameterStatus"
        case UInt8(ascii: "1"): return "ParseComplete"
        case UInt8(ascii: "s"): return "PortalSuspended"
        case UInt8(ascii: "Z"): return "ReadyForQuery"
        case UInt8(ascii: "T"): return "RowDescription"
        default: return "unknown(0x\(String(type, radix: 16)))"
        }
    }
}
