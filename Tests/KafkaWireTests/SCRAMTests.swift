import Testing
@testable import KafkaWire

@Suite("SCRAM client against published vectors")
struct SCRAMTests {
    @Test("RFC 5802 section 5 (SCRAM-SHA-1)")
    func rfc5802() throws {
        var c = SCRAMClient(hash: .sha1, username: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL")
        #expect(c.clientFirstMessage() == "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
        let final = try c.clientFinalMessage(serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
        #expect(final == "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
        try c.verifyServerFinal("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
    }

    @Test("RFC 7677 section 3 (SCRAM-SHA-256)")
    func rfc7677() throws {
        var c = SCRAMClient(hash: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(c.clientFirstMessage() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try c.clientFinalMessage(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(final == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        try c.verifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    }

    @Test("A wrong server signature, a foreign nonce and a server error are rejected")
    func failures() throws {
        var c = SCRAMClient(hash: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        _ = c.clientFirstMessage()
        _ = try c.clientFinalMessage(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(throws: SCRAMClient.SCRAMError.serverSignatureMismatch) { try c.verifyServerFinal("v=AAAATRBi23WpRR/wt/+e0wNLHTKNvIMlF1ySyIRc4Hs=") }
        var d = SCRAMClient(hash: .sha512, username: "u,=x", password: "p", nonce: "abc")
        #expect(d.clientFirstMessage() == "n,,n=u=2C=3Dx,r=abc")
        #expect(throws: SCRAMClient.SCRAMError.nonceMismatch) { _ = try d.clientFinalMessage(serverFirst: "r=zzz,s=QSXCR+Q6sek8bf92,i=4096") }
        #expect(throws: SCRAMClient.SCRAMError.serverError("invalid-proof")) { _ = try d.clientFinalMessage(serverFirst: "e=invalid-proof") }
    }

    @Test("Base64 round trip")
    func base64() {
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(($0 * 37 + 11) & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("any carnal pleasure.".utf8)) == "YW55IGNhcm5hbCBwbGVhc3VyZS4=")
    }
}
