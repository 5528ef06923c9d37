import NIOCore

/// The 24-bit CRC that protects the header of a Cassandra native protocol v5 segment
/// (polynomial 0x1974F0B, initial value 0x875060, not reflected, no final xor).
///
/// The segment codec writes the 3-byte (uncompressed) or 5-byte (compressed) header as a
/// little-endian integer and feeds its bytes in order, least significant first, which is exactly
/// the byte order of the header on the wire: `CRC24.checksum(headerBytes)`. The result is
/// written after the header as 3 little-endian bytes.
public enum CRC24 {
    /// The initial register value Cassandra uses.
    public static let initialValue: UInt32 = 0x87_5060
    /// The generator polynomial including its x^24 term.
    public static let polynomial: UInt32 = 0x197_4F0B

    /// The CRC24 of `bytes`, continuing from `seed` (``initialValue`` to start). The result is
    /// always below 2^24.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = CRC24.initialValue) -> UInt32 {
        var crc = seed & 0xFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x100_0000 != 0 {
                    crc ^= polynomial
                }
            }
        }
        return crc
    }

    /// The CRC24 of the readable bytes of `buffer` (the reader index is not moved).
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, seed: UInt32 = CRC24.initialValue) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, seed: seed) }
    }

    /// The CRC24 of a byte collection.
    @inlinable
    public static func checksum(_ bytes: some Collection<UInt8>, seed: UInt32 = CRC24.initialValue) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The CRC24 of the low `length` bytes of `header`, least significant byte first — the form
    /// the Cassandra segment codecs (Java server, DataStax drivers) compute it in.
    @inlinable
    public static func checksum(header: UInt64, length: Int) -> UInt32 {
        precondition((0...8).contains(length), "CRC24 header length must be 0...8")
        var littleEndian = header.littleEndian
        return withUnsafeBytes(of: &littleEndian) { checksum(UnsafeRawBufferPointer(rebasing: $0.prefix(length))) }
    }
}
