import NIOCore
import WireCore

/// Request/response framing: a 4-byte size, then the header, then the schema-encoded body.
public enum KafkaFraming {
    /// The largest response frame accepted by default (a Fetch answer can be large).
    public static let defaultMaxFrameSize = 256 * 1024 * 1024

    /// Whether the request header for `api`/`version` is header v2 (flexible, tagged fields).
    @inlinable
    public static func requestHeaderIsFlexible(_ api: KafkaAPI, version: Int16) -> Bool {
        api.request.isFlexible(version)
    }

    /// Whether the response header for `api`/`version` has a tagged-field section.
    /// ApiVersions responses always use header v0 so that a client can parse them before negotiation.
    @inlinable
    public static func responseHeaderIsFlexible(_ api: KafkaAPI, version: Int16) -> Bool {
        api != .apiVersions && api.response.isFlexible(version)
    }

    /// Writes one complete request frame (size prefix included) into `buffer`.
    public static func encodeRequest(
        api: KafkaAPI, version: Int16, correlationID: Int32, clientID: String?,
        body: KafkaStruct, into buffer: inout ByteBuffer
    ) throws(KafkaEncodingError) {
        let sizeIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(api.rawValue)
        buffer.writeInteger(version)
        buffer.writeInteger(correlationID)
        buffer.writeString(clientID, prefix: .int16)
        if requestHeaderIsFlexible(api, version: version) { buffer.writeUnsignedVarint(UInt64(0)) }
        try KafkaSchemaCodec.encode(body, schema: api.request, version: version, into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - sizeIndex - 4), at: sizeIndex)
    }

    /// Reads the correlation id at the start of a response frame (without the size prefix).
    public static func peekCorrelationID(_ frame: ByteBuffer) -> Int32? {
        frame.getInteger(at: frame.readerIndex, as: Int32.self)
    }

    /// Decodes a response frame (without the size prefix): header, then body.
    public static func decodeResponse(api: KafkaAPI, version: Int16, frame: inout ByteBuffer) throws(WireDecodingError) -> KafkaStruct {
        _ = try frame.readCheckedInteger(as: Int32.self, field: "correlation id")
        if responseHeaderIsFlexible(api, version: version) {
            _ = try KafkaSchemaCodec.decodeStruct(&frame, fields: [], version: version, flexible: true, depth: 0)
        }
        return try KafkaSchemaCodec.decode(&frame, schema: api.response, version: version)
    }

    /// Decodes a request frame (without the size prefix); used by tests and fake brokers.
    public static func decodeRequest(frame: inout ByteBuffer) throws(WireDecodingError) -> (api: KafkaAPI, version: Int16, correlationID: Int32, clientID: String?, body: KafkaStruct) {
        let key = try frame.readCheckedInteger(as: Int16.self, field: "api key")
        guard let api = KafkaAPI(rawValue: key) else { throw .invalidValue(field: "api key", reason: "unknown api \(key)") }
        let version = try frame.readCheckedInteger(as: Int16.self, field: "api version")
        let correlationID = try frame.readCheckedInteger(as: Int32.self, field: "correlation id")
        let clientID = try frame.readNullableString(prefix: .int16, field: "client id")
        if requestHeaderIsFlexible(api, version: version) {
            _ = try KafkaSchemaCodec.decodeStruct(&frame, fields: [], version: version, flexible: true, depth: 0)
        }
        let body = try KafkaSchemaCodec.decode(&frame, schema: api.request, version: version)
        return (api, version, correlationID, clientID, body)
    }

    /// Writes a response frame (size prefix included); used by tests and fake brokers.
    public static func encodeResponse(api: KafkaAPI, version: Int16, correlationID: Int32, body: KafkaStruct, into buffer: inout ByteBuffer) throws(KafkaEncodingError) {
        let sizeIndex = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(correlationID)
        if responseHeaderIsFlexible(api, version: version) { buffer.writeUnsignedVarint(UInt64(0)) }
        try KafkaSchemaCodec.encode(body, schema: api.response, version: version, into: &buffer)
        buffer.setInteger(Int32(buffer.writerIndex - sizeIndex - 4), at: sizeIndex)
    }
}
