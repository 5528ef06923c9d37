import CZlib
import NIOCore

/// CRC32 (IEEE 802.3, polynomial 0x04C11DB7, reflected), bit-compatible with zlib's `crc32`,
/// Java's `java.util.zip.CRC32` and Python's `zlib.crc32`. Computed by zlib.
///
/// The `seed` is the finalized CRC of the preceding bytes (0 for none), so
/// `checksum(b, seed: checksum(a)) == checksum(a + b)`. The Cassandra v5 segment payload CRC, for
/// example, is `CRC32.checksum(payload, seed: CRC32.checksum([0xFA, 0x2D, 0x55, 0xCA]))`.
public enum CRC32 {
    /// The CRC32 of `bytes`, continuing from `seed`.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return seed }
        return UInt32(truncatingIfNeeded: crc32_z(UInt(seed), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// The CRC32 of the readable bytes of `buffer` (the reader index is not moved).
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, seed: UInt32 = 0) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, seed: seed) }
    }

    /// The CRC32 of a byte collection.
    @inlinable
    public static func checksum(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }
}
