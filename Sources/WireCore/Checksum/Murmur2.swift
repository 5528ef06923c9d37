/// MurmurHash2 (32-bit) exactly as Kafka's Java client computes it (`Utils.murmur2`, seed
/// 0x9747b28c), which its default partitioner uses for keyed records:
/// `partition = toPositive(murmur2(keyBytes)) % numPartitions`.
public enum Murmur2 {
    /// The seed Kafka uses.
    public static let kafkaSeed: UInt32 = 0x9747_B28C

    /// Kafka's `Utils.murmur2(bytes)`.
    @inlinable
    public static func hash(_ bytes: some Collection<UInt8>) -> Int32 {
        if let result = bytes.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { hash($0) }
    }

    /// Kafka's `Utils.murmur2(bytes)` over raw memory.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let m: UInt32 = 0x5BD1_E995
        let length = bytes.count
        var h = kafkaSeed ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            var k = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            k &*= m
            k ^= k >> 24
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = blocks * 4
        switch length & 3 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 1:
            h ^= UInt32(bytes[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    /// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`).
    @inlinable
    public static func toPositive(_ value: Int32) -> Int32 {
        value & 0x7FFF_FFFF
    }

    /// The partition Kafka's default partitioner assigns to a record with this (non-null) key:
    /// `toPositive(murmur2(key)) % partitionCount`.
    @inlinable
    public static func kafkaPartition(key: some Collection<UInt8>, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "partitionCount must be positive")
        return toPositive(hash(key)) % partitionCount
    }
}
