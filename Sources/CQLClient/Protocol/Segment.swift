import NIOCore
import WireCore

/// One v5 segment (spec v5 section 2): a payload of whole frames (self-contained) or a part of
/// one large frame.
public struct CQLSegment: Sendable {
    public var payload: ByteBuffer
    public var isSelfContained: Bool
    public init(payload: ByteBuffer, isSelfContained: Bool) {
        self.payload = payload
        self.isSelfContained = isSelfContained
    }
}

/// Encodes and decodes v5 segments: a 3-byte (5 with compression) little-endian header protected
/// by CRC24, then the payload protected by CRC32. With LZ4 the payload is a raw LZ4 block, or
/// stored uncompressed (uncompressed length 0) when compression would not shrink it.
public struct CQLSegmentCodec: Sendable {
    /// Largest payload one segment carries (2^17 - 1).
    public static let maxPayloadLength = 128 * 1024 - 1
    /// The bytes every payload CRC32 starts from.
    static let crc32InitialBytes: [UInt8] = [0xFA, 0x2D, 0x55, 0xCA]
    static let crc32Initial: UInt32 = CRC32.checksum(crc32InitialBytes)

    /// True when segments carry LZ4-compressed payloads.
    public let compressed: Bool

    public init(compressed: Bool) {
        self.compressed = compressed
    }

    var headerLength: Int { self.compressed ? 5 : 3 }

    /// Writes `frames` (one or more encoded frames) as segments: one self-contained segment when
    /// they fit, otherwise a sequence of non-self-contained segments.
    public func encode(_ frames: ByteBuffer, into output: inout ByteBuffer) throws(CQLFramingError) {
        var remaining = frames
        let selfContained = remaining.readableBytes <= Self.maxPayloadLength
        repeat {
            let chunk = remaining.readSlice(length: min(remaining.readableBytes, Self.maxPayloadLength))!
            try self.encodeSegment(chunk, selfContained: selfContained, into: &output)
        } while remaining.readableBytes > 0
    }

    func encodeSegment(_ payload: ByteBuffer, selfContained: Bool, into output: inout ByteBuffer) throws(CQLFramingError) {
        var encoded = payload
        var uncompressedLength = 0
        if self.compressed {
            var out = ByteBuffer()
            out.reserveCapacity(payload.readableBytes)
            do {
                try LZ4BlockCodec().compress(payload, into: &out)
            } catch {
                throw .compressionFailed("\(error)")
            }
            if out.readableBytes < payload.readableBytes {
                encoded = out
                uncompressedLength = payload.readableBytes
            }
        }
        var header = UInt64(encoded.readableBytes)
        var flagOffset: UInt64 = 17
        if self.compressed {
            header |= UInt64(uncompressedLength) << 17
            flagOffset += 17
        }
        if selfContained { header |= 1 << flagOffset }
        var headerBytes = [UInt8](repeating: 0, count: self.headerLength)
        for i in 0..<self.headerLength { headerBytes[i] = UInt8(truncatingIfNeeded: header >> (8 * UInt64(i))) }
        let crc24 = CRC24.checksum(headerBytes)
        output.writeBytes(headerBytes)
        output.writeInteger(UInt8(truncatingIfNeeded: crc24))
        output.writeInteger(UInt8(truncatingIfNeeded: crc24 >> 8))
        output.writeInteger(UInt8(truncatingIfNeeded: crc24 >> 16))
        let crc32 = encoded.withUnsafeReadableBytes { CRC32.checksum($0, seed: Self.crc32Initial) }
        output.writeBuffer(&encoded)
        output.writeInteger(crc32, endianness: .little)
    }

    /// Decodes one segment from the front of `buffer`; nil when more bytes are needed.
    /// Checksums are verified before anything else is trusted; LZ4 payloads are decompressed.
    public func decodeSegment(from buffer: inout ByteBuffer) throws(CQLFramingError) -> CQLSegment? {
        let headerLength = self.headerLength
        guard buffer.readableBytes >= headerLength + 3 else { return nil }
        var header: UInt64 = 0
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        for i in 0..<headerLength {
            let byte = buffer.getInteger(at: buffer.readerIndex + i, as: UInt8.self)!
            headerBytes[i] = byte
            header |= UInt64(byte) << (8 * UInt64(i))
        }
        var expected: UInt32 = 0
        for i in 0..<3 {
            expected |= UInt32(buffer.getInteger(at: buffer.readerIndex + headerLength + i, as: UInt8.self)!) << (8 * UInt32(i))
        }
        let computed = CRC24.checksum(headerBytes) & 0xFF_FFFF
        guard computed == expected else { throw .headerChecksumMismatch(expected: expected, computed: computed) }
        let payloadLength = Int(header & UInt64(Self.maxPayloadLength))
        header >>= 17
        var uncompressedLength = 0
        if self.compressed {
            uncompressedLength = Int(header & UInt64(Self.maxPayloadLength))
            header >>= 17
        }
        let selfContained = header & 1 == 1
        let total = headerLength + 3 + payloadLength + 4
        guard buffer.readableBytes >= total else { return nil }
        let payload = buffer.getSlice(at: buffer.readerIndex + headerLength + 3, length: payloadLength)!
        let expectedCRC32 = buffer.getInteger(at: buffer.readerIndex + headerLength + 3 + payloadLength, endianness: .little, as: UInt32.self)!
        let computedCRC32 = payload.withUnsafeReadableBytes { CRC32.checksum($0, seed: Self.crc32Initial) }
        guard expectedCRC32 == computedCRC32 else {
            throw .payloadChecksumMismatch(expected: expectedCRC32, computed: computedCRC32)
        }
        buffer.moveReaderIndex(forwardBy: total)
        if self.compressed && uncompressedLength > 0 {
            var out = ByteBuffer()
            out.reserveCapacity(uncompressedLength)
            do {
                try LZ4BlockCodec().decompress(payload, into: &out, uncompressedSize: uncompressedLength)
            } catch {
                throw .decompressionFailed("\(error)")
            }
            guard out.readableBytes == uncompressedLength else {
                throw .decompressionFailed("segment decompressed to \(out.readableBytes) bytes, header said \(uncompressedLength)")
            }
            return CQLSegment(payload: out, isSelfContained: selfContained)
        }
        return CQLSegment(payload: payload, isSelfContained: selfContained)
    }
}

/// Reassembles frames from segment payloads: a self-contained segment holds whole frames; a frame
/// larger than one segment is spread over consecutive non-self-contained segments.
public struct CQLSegmentFrameAssembler: Sendable {
    private var pending: ByteBuffer?

    public init() {}

    /// Feeds one segment and returns the frames it completes.
    public mutating func append(_ segment: CQLSegment) throws(CQLFramingError) -> [CQLFrame] {
        var frames: [CQLFrame] = []
        if segment.isSelfContained && self.pending == nil {
            var payload = segment.payload
            while payload.readableBytes > 0 {
                let frame: CQLFrame?
                do { frame = try CQLFrame.decode(from: &payload) } catch { throw .malformed(error) }
                guard let frame else { throw .selfContainedSegmentSplitsFrame }
                frames.append(frame)
            }
            return frames
        }
        var payload = segment.payload
        if self.pending == nil { self.pending = ByteBuffer() }
        self.pending!.writeBuffer(&payload)
        while true {
            let frame: CQLFrame?
            do { frame = try CQLFrame.decode(from: &self.pending!) } catch { throw .malformed(error) }
            guard let frame else { break }
            frames.append(frame)
        }
        if self.pending!.readableBytes == 0 {
            self.pending = nil
        } else {
            self.pending!.discardReadBytes()
        }
        return frames
    }
}
