import NIOCore
import WireCore

/// Body compression negotiated in STARTUP.
public enum CQLCompressionAlgorithm: String, Sendable, Hashable {
    /// LZ4: v4 frame bodies (length-prefixed blocks) and v5 segments.
    case lz4
    /// Snappy: v4 frame bodies only (v5 dropped it).
    case snappy
}

/// Errors of frame and segment framing.
public enum CQLFramingError: Error, Sendable, Equatable, CustomStringConvertible {
    case headerChecksumMismatch(expected: UInt32, computed: UInt32)
    case payloadChecksumMismatch(expected: UInt32, computed: UInt32)
    case compressionFailed(String)
    case decompressionFailed(String)
    case snappyNotAllowedOnV5
    case selfContainedSegmentSplitsFrame
    case malformed(WireDecodingError)

    public var description: String {
        switch self {
        case .headerChecksumMismatch(let e, let c): "v5 segment header CRC24 mismatch (expected \(e), computed \(c))"
        case .payloadChecksumMismatch(let e, let c): "v5 segment payload CRC32 mismatch (expected \(e), computed \(c))"
        case .compressionFailed(let m): "compression failed: \(m)"
        case .decompressionFailed(let m): "decompression failed: \(m)"
        case .snappyNotAllowedOnV5: "snappy compression does not exist in protocol v5"
        case .selfContainedSegmentSplitsFrame: "a self-contained v5 segment ended inside a frame"
        case .malformed(let e): "malformed frame: \(e)"
        }
    }
}

/// v4 frame body compression (spec v4 section 5): LZ4 bodies start with the big-endian
/// uncompressed length, Snappy bodies are raw snappy.
public struct CQLFrameCompressor: Sendable {
    public let algorithm: CQLCompressionAlgorithm
    /// Largest decompressed body accepted.
    public var maxDecompressedSize: Int = CQLFrameHeader.maxBodyLength

    public init(algorithm: CQLCompressionAlgorithm) {
        self.algorithm = algorithm
    }

    public func compress(_ body: ByteBuffer, into output: inout ByteBuffer) throws(CQLFramingError) {
        do {
            switch self.algorithm {
            case .lz4:
                output.writeInteger(UInt32(body.readableBytes))
                try LZ4BlockCodec().compress(body, into: &output)
            case .snappy:
                try SnappyRawCodec().compress(body, into: &output)
            }
        } catch {
            throw .compressionFailed("\(error)")
        }
    }

    public func decompress(_ body: ByteBuffer, into output: inout ByteBuffer) throws(CQLFramingError) {
        do {
            switch self.algorithm {
            case .lz4:
                var input = body
                guard let length = input.readInteger(as: UInt32.self) else { throw CQLFramingError.decompressionFailed("missing lz4 length") }
                guard Int(length) <= self.maxDecompressedSize else {
                    throw CQLFramingError.decompressionFailed("declared size \(length) exceeds \(self.maxDecompressedSize)")
                }
                let start = output.writerIndex
                try LZ4BlockCodec().decompress(input, into: &output, uncompressedSize: Int(length))
                guard output.writerIndex - start == Int(length) else {
                    throw CQLFramingError.decompressionFailed("lz4 body decompressed to \(output.writerIndex - start) bytes, header said \(length)")
                }
            case .snappy:
                try SnappyRawCodec().decompress(body, into: &output, maxOutputSize: self.maxDecompressedSize)
            }
        } catch let error as CQLFramingError {
            throw error
        } catch {
            throw .decompressionFailed("\(error)")
        }
    }

    /// Compresses a frame's body in place and sets the compression flag.
    public func compressFrame(_ frame: CQLFrame) throws(CQLFramingError) -> CQLFrame {
        var out = ByteBuffer()
        out.reserveCapacity(frame.body.readableBytes + 16)
        try self.compress(frame.body, into: &out)
        var header = frame.header
        header.flags.insert(.compression)
        header.bodyLength = out.readableBytes
        return CQLFrame(header: header, body: out)
    }

    /// Decompresses a frame whose compression flag is set; other frames pass through.
    public func decompressFrame(_ frame: CQLFrame) throws(CQLFramingError) -> CQLFrame {
        guard frame.header.flags.contains(.compression) else { return frame }
        var out = ByteBuffer()
        try self.decompress(frame.body, into: &out)
        var header = frame.header
        header.flags.remove(.compression)
        header.bodyLength = out.readableBytes
        return CQLFrame(header: header, body: out)
    }
}
