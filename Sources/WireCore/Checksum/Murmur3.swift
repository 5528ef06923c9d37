/// MurmurHash3 x64 128-bit as Cassandra computes it (`org.apache.cassandra.utils.MurmurHash.hash3_x64_128`),
/// including Cassandra's quirk: the tail bytes are read as *signed* Java bytes and sign-extended
/// before being shifted into place. For inputs whose tail bytes are all below 0x80 the result
/// equals the reference (Austin Appleby) MurmurHash3_x64_128.
public enum Murmur3 {
    /// The two 64-bit halves `(h1, h2)` of Cassandra's `hash3_x64_128(key, 0, key.length, seed)`.
    @inlinable
    public static func x64_128(_ bytes: some Collection<UInt8>, seed: UInt64 = 0) -> (UInt64, UInt64) {
        if let result = bytes.withContiguousStorageIfAvailable({ x64_128(UnsafeRawBufferPointer($0), seed: seed) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { x64_128($0, seed: seed) }
    }

    /// The two 64-bit halves `(h1, h2)` of Cassandra's `hash3_x64_128` over raw memory.
    @inlinable
    public static func x64_128(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> (UInt64, UInt64) {
        let c1: UInt64 = 0x87C3_7B91_1142_53D5
        let c2: UInt64 = 0x4CF5_AD43_2745_937F
        let length = bytes.count
        var h1 = seed
        var h2 = seed
        let blocks = length / 16
        for i in 0..<blocks {
            var k1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt64.self))
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52DC_E729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5AB5
        }
        let tail = blocks * 16
        let rest = length & 15
        // Java: `k ^= ((long) key.get(offset + i)) << shift` — the byte is signed and sign-extends.
        @inline(__always) func signed(_ index: Int) -> UInt64 {
            UInt64(bitPattern: Int64(Int8(bitPattern: bytes[tail + index])))
        }
        var k1: UInt64 = 0
        var k2: UInt64 = 0
        if rest > 8 {
            for i in stride(from: rest - 1, through: 8, by: -1) {
                k2 ^= signed(i) << UInt64((i - 8) * 8)
            }
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if rest > 0 {
            for i in stride(from: min(rest, 8) - 1, through: 0, by: -1) {
                k1 ^= signed(i) << UInt64(i * 8)
            }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }
        h1 ^= UInt64(length)
        h2 ^= UInt64(length)
        h1 &+= h2
        h2 &+= h1
        h1 = fmix(h1)
        h2 = fmix(h2)
        h1 &+= h2
        h2 &+= h1
        return (h1, h2)
    }

    /// The token Cassandra's `Murmur3Partitioner` assigns to a partition key (the serialized key
    /// bytes): the first half of the hash as a signed integer, with `Int64.min` mapped to
    /// `Int64.max`; the empty key gets the minimum token `Int64.min`, as in Cassandra.
    @inlinable
    public static func cassandraToken(_ key: some Collection<UInt8>) -> Int64 {
        if key.isEmpty { return Int64.min }
        let token = Int64(bitPattern: x64_128(key).0)
        return token == Int64.min ? Int64.max : token
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
        (x << r) | (x >> (64 - r))
    }

    @inlinable @inline(__always)
    static func fmix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xFF51_AFD7_ED55_8CCD
        k ^= k >> 33
        k &*= 0xC4CE_B9FE_1A85_EC53
        k ^= k >> 33
        return k
    }
}
