import CWireCRC
import NIOCore

/// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected), as used by Kafka record batches,
/// iSCSI (RFC 3720), ext4 and gRPC's optional checksums.
///
/// ``checksum(_:seed:)-(UnsafeRawBufferPointer,_)`` picks the hardware path when the CPU has
/// CRC32C instructions (SSE4.2 on x86_64, the ARMv8 CRC32 extension on arm64) and falls back to a
/// slicing-by-8 table otherwise. Both paths are also callable directly for tests and benchmarks.
///
/// The `seed` is the finalized CRC of the bytes that precede `bytes` (0 for none), so a checksum
/// can be computed incrementally: `checksum(b, seed: checksum(a)) == checksum(a + b)`.
public enum CRC32C {
    /// Whether this CPU has the CRC32C instructions the hardware path uses.
    public static var isHardwareAccelerated: Bool { wire_crc32c_hardware_available() != 0 }

    /// The CRC32C of `bytes`, continuing from `seed`, on the fastest path this CPU supports.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return seed }
        return wire_crc32c(seed, base, bytes.count)
    }

    /// The CRC32C of `bytes`, continuing from `seed`, always on the hardware path (falls back to
    /// the table when ``isHardwareAccelerated`` is false).
    @inlinable
    public static func hardwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return seed }
        return wire_crc32c_hardware(seed, base, bytes.count)
    }

    /// The CRC32C of `bytes`, continuing from `seed`, always on the portable slicing-by-8 path.
    @inlinable
    public static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return seed }
        return wire_crc32c_software(seed, base, bytes.count)
    }

    /// The CRC32C of the readable bytes of `buffer` (the reader index is not moved).
    @inlinable
    public static func checksum(_ buffer: ByteBuffer, seed: UInt32 = 0) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0, seed: seed) }
    }

    /// The CRC32C of a byte collection.
    @inlinable
    public static func checksum(_ bytes: some Collection<UInt8>, seed: UInt32 = 0) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }
}
