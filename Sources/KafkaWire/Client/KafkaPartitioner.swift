import NIOCore
import WireCore

/// The default partitioner: the Java client's murmur2 (same as librdkafka `murmur2_random` and kafka-python).
public enum KafkaPartitioner {
    /// `toPositive(murmur2(key)) % partitionCount`.
    public static func murmur2Partition(key: ByteBuffer, partitionCount: Int32) -> Int32 {
        let hash = Murmur2.hash(key.readableBytesView)
        return (hash & 0x7fff_ffff) % partitionCount
    }

    /// Same for a byte array key.
    public static func murmur2Partition(key: [UInt8], partitionCount: Int32) -> Int32 {
        (Murmur2.hash(key) & 0x7fff_ffff) % partitionCount
    }
}
