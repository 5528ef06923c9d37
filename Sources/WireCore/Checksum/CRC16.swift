import NIOCore

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection) — the checksum Redis
/// Cluster uses to map keys to hash slots (`CRC16(key) mod 16384`).
public enum CRC16 {
    /// The 256-entry lookup table for polynomial 0x1021.
    static let table: [UInt16] = (0..<256).map { byte -> UInt16 in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 {
            crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }

    /// The checksum of `bytes`, continuing from `seed` (0 for a fresh checksum).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt16 = 0) -> UInt16 {
        var crc = seed
        table.withUnsafeBufferPointer { t in
            for b in bytes {
                crc = (crc << 8) ^ t[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ b)]
            }
        }
        return crc
    }

    /// The checksum of a byte collection.
    public static func checksum(_ bytes: some Collection<UInt8>, seed: UInt16 = 0) -> UInt16 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The checksum of the readable bytes of `buffer`.
    public static func checksum(_ buffer: ByteBuffer, seed: UInt16 = 0) -> UInt16 {
        buffer.withUnsafeReadableBytes { checksum($0, seed: seed) }
    }
}
