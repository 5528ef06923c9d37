import Testing
import WireCore

@Suite("CRC16 (XMODEM, Redis Cluster)")
struct CRC16Tests {
    @Test func knownAnswers() {
        #expect(CRC16.checksum(Array("123456789".utf8)) == 0x31C3)
        #expect(CRC16.checksum([UInt8]()) == 0)
        // Redis Cluster key slots (CRC16 mod 16384) as reported by CLUSTER KEYSLOT.
        #expect(CRC16.checksum(Array("foo".utf8)) % 16384 == 12182)
        #expect(CRC16.checksum(Array("bar".utf8)) % 16384 == 5061)
        // Incremental computation equals one-shot.
        let a = CRC16.checksum(Array("1234".utf8))
        #expect(CRC16.checksum(Array("56789".utf8), seed: a) == 0x31C3)
    }
}
