// TEMPORARY: stand-ins for WireCore's CRC24 / CRC32 / LZ4BlockCodec / SnappyRawCodec (core-codec
// helper, not yet on main). Delete this file when `git merge main` brings them in.
import NIOCore

enum CRC24 {
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0x875060
        for byte in bytes {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x100_0000 != 0 { crc ^= 0x1974F0B }
            }
        }
        return crc & 0xFF_FFFF
    }
}

enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var c = ~seed
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }
    static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }
}

struct PendingCodecError: Error {}

struct LZ4BlockCodec {
    func compress(_ input: ByteBuffer, into: inout ByteBuffer) throws { throw PendingCodecError() }
    func decompress(_ input: ByteBuffer, into: inout ByteBuffer, maxOutputSize: Int) throws { throw PendingCodecError() }
}

struct SnappyRawCodec {
    func compress(_ input: ByteBuffer, into: inout ByteBuffer) throws { throw PendingCodecError() }
    func decompress(_ input: ByteBuffer, into: inout ByteBuffer, maxOutputSize: Int) throws { throw PendingCodecError() }
}

enum Murmur3 {
    static func cassandraToken(_ key: [UInt8]) -> Int64 {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5, c2: UInt64 = 0x4cf5_ad43_2745_937f
        func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        func fmix(_ k: UInt64) -> UInt64 {
            var k = k
            k ^= k >> 33; k = k &* 0xff51_afd7_ed55_8ccd; k ^= k >> 33; k = k &* 0xc4ce_b9fe_1a85_ec53; k ^= k >> 33
            return k
        }
        var h1: UInt64 = 0, h2: UInt64 = 0
        let n = key.count
        var i = 0
        while i + 16 <= n {
            var k1: UInt64 = 0, k2: UInt64 = 0
            for j in 0..<8 { k1 |= UInt64(key[i + j]) << (8 * UInt64(j)); k2 |= UInt64(key[i + 8 + j]) << (8 * UInt64(j)) }
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 = h1 &+ h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 = h2 &+ h1; h2 = h2 &* 5 &+ 0x3849_5ab5
            i += 16
        }
        let rem = n - i
        func sb(_ j: Int) -> UInt64 { UInt64(bitPattern: Int64(Int8(bitPattern: key[i + j]))) }
        var k1: UInt64 = 0, k2: UInt64 = 0
        if rem > 8 {
            for j in stride(from: rem - 1, through: 8, by: -1) { k2 ^= sb(j) << (8 * UInt64(j - 8)) }
            k2 = k2 &* c2; k2 = rotl(k2, 33); k2 = k2 &* c1; h2 ^= k2
        }
        if rem > 0 {
            for j in stride(from: min(rem, 8) - 1, through: 0, by: -1) { k1 ^= sb(j) << (8 * UInt64(j)) }
            k1 = k1 &* c1; k1 = rotl(k1, 31); k1 = k1 &* c2; h1 ^= k1
        }
        h1 ^= UInt64(n); h2 ^= UInt64(n)
        h1 = h1 &+ h2; h2 = h2 &+ h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 = h1 &+ h2
        let token = Int64(bitPattern: h1)
        return token == Int64.min ? Int64.max : token
    }
}
