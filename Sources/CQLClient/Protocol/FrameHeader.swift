import NIOCore
import WireCore

/// Frame header flags (spec section 2.2).
public struct CQLFrameFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The body is compressed (v4 only; v5 compresses segments instead).
    public static let compression = CQLFrameFlags(rawValue: 0x01)
    /// Request: trace this query. Response: the body starts with a tracing session id.
    public static let tracing = CQLFrameFlags(rawValue: 0x02)
    /// The body starts with (after a tracing id) a custom payload `[bytes map]`.
    public static let customPayload = CQLFrameFlags(rawValue: 0x04)
    /// Response: the body holds server warnings as a `[string list]`.
    public static let warning = CQLFrameFlags(rawValue: 0x08)
    /// Request: the client opts into a beta protocol version.
    public static let useBeta = CQLFrameFlags(rawValue: 0x10)
}

/// The 9-byte header of a v3+ CQL frame.
public struct CQLFrameHeader: Sendable, Hashable {
    /// Size of the header on the wire.
    public static let size = 9
    /// Largest body this client accepts (the server default `native_transport_max_frame_size` is 16 MiB;
    /// 256 MiB is the protocol's hard cap).
    public static let maxBodyLength = 256 * 1024 * 1024

    /// The raw protocol version number (without the direction bit).
    public var version: UInt8
    /// True for frames sent by the server.
    public var isResponse: Bool
    public var flags: CQLFrameFlags
    /// The stream id; negative ids are reserved for server-initiated EVENT frames.
    public var stream: Int16
    public var opcode: CQLOpcode
    public var bodyLength: Int

    public init(version: UInt8, isResponse: Bool, flags: CQLFrameFlags, stream: Int16, opcode: CQLOpcode, bodyLength: Int) {
        self.version = version
        self.isResponse = isResponse
        self.flags = flags
        self.stream = stream
        self.opcode = opcode
        self.bodyLength = bodyLength
    }

    /// Writes the header.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(self.version | (self.isResponse ? 0x80 : 0))
        buffer.writeInteger(self.flags.rawValue)
        buffer.writeInteger(self.stream)
        buffer.writeInteger(self.opcode.rawValue)
        buffer.writeInteger(Int32(self.bodyLength))
    }

    /// Reads a header; the reader index is unchanged on failure.
    ///
    /// An unknown opcode or a negative / oversized length is a protocol violation.
    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLFrameHeader {
        var copy = buffer
        let versionByte = try copy.readCheckedInteger(as: UInt8.self, field: "frame version")
        let flags = try copy.readCheckedInteger(as: UInt8.self, field: "frame flags")
        let stream = try copy.readCheckedInteger(as: Int16.self, field: "frame stream")
        let opcodeByte = try copy.readCheckedInteger(as: UInt8.self, field: "frame opcode")
        let length = Int(try copy.readCheckedInteger(as: Int32.self, field: "frame length"))
        guard let opcode = CQLOpcode(rawValue: opcodeByte) else {
            throw .invalidValue(field: "frame opcode", reason: "unknown opcode 0x\(String(opcodeByte, radix: 16))")
        }
        guard length >= 0 else { throw .negativeLength(field: "frame length", length: length) }
        guard length <= maxBodyLength else { throw .lengthTooLarge(field: "frame length", length: length, limit: maxBodyLength) }
        buffer = copy
        return CQLFrameHeader(version: versionByte & 0x7F, isResponse: versionByte & 0x80 != 0,
                              flags: CQLFrameFlags(rawValue: flags), stream: stream, opcode: opcode, bodyLength: length)
    }
}

/// One CQL frame: a header and its (possibly still compressed) body.
public struct CQLFrame: Sendable {
    public var header: CQLFrameHeader
    public var body: ByteBuffer

    public init(header: CQLFrameHeader, body: ByteBuffer) {
        self.header = header
        self.body = body
    }

    /// Writes header and body; the header's length is taken from `body`.
    public func encode(into buffer: inout ByteBuffer) {
        var header = self.header
        header.bodyLength = self.body.readableBytes
        header.encode(into: &buffer)
        var body = self.body
        buffer.writeBuffer(&body)
    }

    /// Decodes one complete frame from the front of `buffer`, or returns nil when more bytes are needed.
    /// Malformed headers throw; the reader index is unchanged unless a frame is returned.
    public static func decode(from buffer: inout ByteBuffer) throws(WireDecodingError) -> CQLFrame? {
        guard buffer.readableBytes >= CQLFrameHeader.size else { return nil }
        var copy = buffer
        let header = try CQLFrameHeader.decode(from: &copy)
        guard let body = copy.readSlice(length: header.bodyLength) else { return nil }
        buffer = copy
        return CQLFrame(header: header, body: body)
    }
}
