import NIOCore
import Testing
import WireCore

@Suite("Checksums and hashes")
struct ChecksumTests {
    static let check = Array("123456789".utf8)

    // MARK: CRC32C

    @Test("CRC32C check value and RFC 3720 B.4 vectors on every path")
    func crc32cKnownAnswers() {
        let vectors: [([UInt8], UInt32)] = [
            (Self.check, 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
            ([], 0),
        ]
        for (input, expected) in vectors {
            input.withUnsafeBytes { bytes in
                #expect(CRC32C.checksum(bytes) == expected)
                #expect(CRC32C.hardwareChecksum(bytes) == expected)
                #expect(CRC32C.softwareChecksum(bytes) == expected)
            }
            #expect(CRC32C.checksum(input) == expected)
            #expect(CRC32C.checksum(ByteBuffer(bytes: input)) == expected)
        }
    }

    @Test("CRC32C seeds continue a checksum across pieces")
    func crc32cIncremental() {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32C.checksum(data)
        for split in [0, 1, 7, 8, 255, 4096, 9_999, 10_000] {
            let first = CRC32C.checksum(data[..<split])
            #expect(CRC32C.checksum(data[split...], seed: first) == whole)
        }
    }

    @Test("CRC32C hardware and software agree on every length 0...4096 at every alignment")
    func crc32cPathsAgree() {
        var rng = SplitMix64(seed: 0xC0FF_EE)
        let storage = (0..<(4096 + 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        storage.withUnsafeBytes { all in
            for length in 0...4096 {
                for alignment in 0..<8 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[alignment..<(alignment + length)])
                    let seed = UInt32(truncatingIfNeeded: rng.next())
                    let software = CRC32C.softwareChecksum(slice, seed: seed)
                    let hardware = CRC32C.hardwareChecksum(slice, seed: seed)
                    if software != hardware {
                        Issue.record("CRC32C mismatch at length \(length) alignment \(alignment): sw \(software) hw \(hardware)")
                        return
                    }
                }
            }
        }
    }

    @Test("CRC32C paths agree on large buffers that use the interleaved blocks")
    func crc32cLargeBuffers() {
        var rng = SplitMix64(seed: 42)
        let storage = (0..<(300_000)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        storage.withUnsafeBytes { all in
            for length in [767, 768, 769, 24_575, 24_576, 24_577, 50_000, 100_003, 299_990] {
                for alignment in [0, 3, 8] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[alignment..<(alignment + length)])
                    #expect(CRC32C.softwareChecksum(slice) == CRC32C.hardwareChecksum(slice), "length \(length) alignment \(alignment)")
                }
            }
        }
    }

    @Test("CRC32C reports whether hardware is in use")
    func crc32cHardwareFlag() {
        #if arch(x86_64) || arch(arm64)
        // Every x86_64 and arm64 CPU this project targets has the instructions.
        #expect(CRC32C.isHardwareAccelerated)
        #endif
    }

    // MARK: CRC32

    @Test("CRC32 (IEEE) check value and chaining")
    func crc32KnownAnswers() {
        #expect(CRC32.checksum(Self.check) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        // The Cassandra v5 segment payload CRC starts from crc32 of these four bytes.
        #expect(CRC32.checksum([0xFA, 0x2D, 0x55, 0xCA]) == 0x4477_7ED3)
        let seed = CRC32.checksum(Self.check[..<4])
        #expect(CRC32.checksum(Self.check[4...], seed: seed) == 0xCBF4_3926)
        #expect(CRC32.checksum(ByteBuffer(bytes: Self.check)) == 0xCBF4_3926)
    }

    // MARK: CRC24 (vectors from the DataStax python driver's cassandra.segment.compute_crc24)

    @Test("CRC24 matches the Cassandra v5 segment header CRC", arguments: [
        (UInt64(0), 3, UInt32(0x7D_E777)),
        (UInt64(1), 3, UInt32(0x15_876F)),
        (UInt64(0x12_3456), 3, UInt32(0xF5_230F)),
        (UInt64(0xFF_FFFF), 3, UInt32(0x7A_86FF)),
        (UInt64(0x2_0001), 3, UInt32(0xAC_5672)),
        (UInt64(0x00_0040_0002), 5, UInt32(0xEC_43DD)),
        (UInt64(0xFF_FFFF_FFFF), 5, UInt32(0x8E_4E78)),
        (UInt64(0x12_3456_7890), 5, UInt32(0x56_49A6)),
    ])
    func crc24(header: UInt64, length: Int, expected: UInt32) {
        #expect(CRC24.checksum(header: header, length: length) == expected)
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: header >> (8 * UInt64($0))) }
        #expect(CRC24.checksum(bytes) == expected)
        #expect(CRC24.checksum(ByteBuffer(bytes: bytes)) == expected)
    }

    // MARK: Murmur2 (Kafka)

    @Test("Murmur2 matches Kafka's Utils.murmur2 (UtilsTest and librdkafka vectors)", arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
        ("kafka", -798_503_068),
        ("1", -1_993_445_489),
        ("12", 126_087_238),
        ("123", -267_702_483),
        ("1234", -1_614_185_708),
        ("12345", -1_188_365_604),
        ("", 275_646_681),
    ])
    func murmur2(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test("Murmur2 reads bytes unsigned and partitions like Kafka's default partitioner")
    func murmur2Partition() {
        // kafka-python's murmur2 (a port of the Java one) gives 4134240899 = -160726397 as int32.
        #expect(Murmur2.hash([0xFF, 0xFE, 0x80]) == -160_726_397)
        #expect(Murmur2.toPositive(-973_932_308) == 1_173_551_340)
        #expect(Murmur2.kafkaPartition(key: Array("21".utf8), partitionCount: 12) == 1_173_551_340 % 12)
        #expect(Murmur2.toPositive(Int32.min) == 0)
    }

    // MARK: Murmur3 (Cassandra)

    @Test("Murmur3 tokens match Cassandra's Murmur3Partitioner (python driver vectors)", arguments: [
        ("61", Int64(-8_839_064_797_231_613_815)),
        ("616263", -5_434_086_359_492_102_041),
        ("68656c6c6f", -3_758_069_500_696_749_310),
        ("313233343536373839", 4_360_720_697_772_133_540),
        ("00000001", -4_069_959_284_402_364_209),
        ("ff", -4_442_228_696_663_692_417),
        ("808182", 4_805_209_697_930_042_770),
        ("6162636465666768696a6b6c6d6e6f", -8_449_275_918_290_243_589),
        ("6162636465666768696a6b6c6d6e6f70", -4_266_531_025_627_334_877),
        ("6162636465666768696a6b6c6d6e6f7071", 8_459_014_091_212_432_983),
        ("feff8090a0b0c0d0e0f081828384858687", -1_008_091_684_079_866_440),
        ("757365723a3432fffe", -6_441_123_944_774_155_570),
    ])
    func murmur3Token(hex: String, expected: Int64) {
        #expect(Murmur3.cassandraToken(bytes(hex: hex)) == expected)
    }

    @Test("Murmur3 x64-128 reference vectors and edge cases")
    func murmur3Reference() {
        let fox = Array("The quick brown fox jumps over the lazy dog".utf8)
        let (h1, h2) = Murmur3.x64_128(fox)
        #expect(h1 == 0xE34B_BC7B_BC07_1B6C)
        #expect(h2 == 0x7A43_3CA9_C49A_9347)
        #expect(Murmur3.cassandraToken(fox) == -2_068_352_364_225_029_268)
        let empty = Murmur3.x64_128([UInt8]())
        #expect(empty.0 == 0 && empty.1 == 0)
        #expect(Murmur3.cassandraToken([UInt8]()) == Int64.min)
        let all = (0...255).map { UInt8($0) }
        #expect(Murmur3.cassandraToken(all) == 2_060_892_794_568_774_329)
    }
}

/// Decodes a hex string (test vectors).
func bytes(hex: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// A small deterministic generator for test data.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
