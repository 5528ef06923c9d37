import Crypto
import Testing
@testable import WireCore

@Suite("SCRAM client against published and independently computed vectors")
struct SCRAMTests {
    @Test("RFC 5802 section 5 (SCRAM-SHA-1)")
    func rfc5802() throws {
        var c = try SCRAMClient(hash: .sha1, username: "user", password: "pencil", nonce: "fyko+d2lbbFgONRv9qkxdawL")
        #expect(c.mechanism == "SCRAM-SHA-1")
        #expect(c.clientFirstMessage() == "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL")
        let final = try c.clientFinalMessage(serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
        #expect(final == "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
        try c.verifyServerFinal("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
    }

    @Test("RFC 7677 section 3 (SCRAM-SHA-256)")
    func rfc7677() throws {
        var c = try SCRAMClient(hash: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(c.mechanism == "SCRAM-SHA-256")
        #expect(c.clientFirstMessage() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try c.clientFinalMessage(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(final == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
        try c.verifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        // Hi("pencil") of RFC 7677.
        let salted = SCRAMClient.saltedPassword(SHA256.self, password: Array("pencil".utf8),
                                                salt: Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")!, iterations: 4096)
        #expect(hex(salted) == "c4a49510323ab4f952cac1fa99441939e78ea74d6be81ddf7096e87513dc615d")
    }

    @Test("SCRAM-SHA-512 (Kafka) against Python's hashlib/hmac")
    func sha512() throws {
        // PBKDF2-HMAC-SHA512("password", "salt", 1): the widely published vector.
        #expect(hex(SCRAMClient.saltedPassword(SHA512.self, password: Array("password".utf8), salt: Array("salt".utf8), iterations: 1))
            == "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce")
        // A whole exchange computed with Python's hashlib.pbkdf2_hmac and hmac.
        var c = try SCRAMClient(hash: .sha512, username: "alice", password: "pencil", nonce: "clientnonce123")
        #expect(c.mechanism == "SCRAM-SHA-512")
        #expect(c.clientFirstMessage() == "n,,n=alice,r=clientnonce123")
        let final = try c.clientFinalMessage(serverFirst: "r=clientnonce123SERVERnonce,s=c2FsdHlzYWx0,i=4096")
        #expect(final == "c=biws,r=clientnonce123SERVERnonce,p=vCjEQ+L4wvgQIhaiDNu3ud9eB6NfsxJHbpe0I3M8wHNBWzcYta6/lpB5BBeDYuvaJxEgnQ/uc8uxz6oqRx9NEw==")
        try c.verifyServerFinal("v=Gh22PoFlRcSih4Brpcw7yRus9LySzISFxZ3uEF8XYJmsWabWkZ7N4jsSPYlHFZvgtY+rngtlKLe6fVptcCyFIA==")
    }

    @Test("SCRAM-SHA-256-PLUS binds the tls-server-end-point hash (against Python)")
    func channelBinding() throws {
        var c = try SCRAMClient(hash: .sha256, username: "", password: "pencil",
                                channelBinding: .tlsServerEndPoint(Array(0..<32)), nonce: "abc")
        #expect(c.mechanism == "SCRAM-SHA-256-PLUS")
        #expect(c.clientFirstMessage() == "p=tls-server-end-point,,n=,r=abc")
        let final = try c.clientFinalMessage(serverFirst: "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(final == "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,r=abcdef,p=WMd5gf1CaGYXT+vjLBxKgv9q4wPLXG8BrUTys6o20ac=")
        try c.verifyServerFinal("v=hTKsZuR54H7J4NDXf2SKP7cXI0xnFm1IqOoguF1esFc=")
        let y = try SCRAMClient(hash: .sha256, username: "", password: "p", channelBinding: .supportedButNotUsed, nonce: "n")
        #expect(y.clientFirstMessage() == "y,,n=,r=n" && y.mechanism == "SCRAM-SHA-256")
    }

    @Test("Wrong signatures, foreign nonces, server errors and malformed messages are rejected")
    func failures() throws {
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        var c = try SCRAMClient(hash: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        _ = try c.clientFinalMessage(serverFirst: serverFirst)
        #expect(throws: SCRAMClient.SCRAMError.serverSignatureMismatch) { try c.verifyServerFinal("v=AAAATRBi23WpRR/wt/+e0wNLHTKNvIMlF1ySyIRc4Hs=") }
        #expect(throws: SCRAMClient.SCRAMError.serverError("invalid-proof")) { try c.verifyServerFinal("e=invalid-proof") }
        #expect(throws: SCRAMClient.SCRAMError.self) { try c.verifyServerFinal("v=***") }
        #expect(throws: SCRAMClient.SCRAMError.self) { try c.verifyServerFinal([0xFF, 0xFE]) }
        // Verifying before the exchange reached server-first.
        let fresh = try SCRAMClient(hash: .sha256, username: "user", password: "pencil", nonce: "n")
        #expect(throws: SCRAMClient.SCRAMError.serverSignatureMismatch) { try fresh.verifyServerFinal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") }

        var d = try SCRAMClient(hash: .sha512, username: "u,=x", password: "p", nonce: "abc")
        #expect(d.clientFirstMessage() == "n,,n=u=2C=3Dx,r=abc")
        #expect(throws: SCRAMClient.SCRAMError.nonceMismatch) { _ = try d.clientFinalMessage(serverFirst: "r=zzz,s=QSXCR+Q6sek8bf92,i=4096") }
        // The server must add its own part to the nonce.
        #expect(throws: SCRAMClient.SCRAMError.nonceMismatch) { _ = try d.clientFinalMessage(serverFirst: "r=abc,s=QSXCR+Q6sek8bf92,i=4096") }
        #expect(throws: SCRAMClient.SCRAMError.serverError("other-error")) { _ = try d.clientFinalMessage(serverFirst: "e=other-error") }
        for bad in ["r=abcd,s=QSXCR+Q6sek8bf92", "r=abcd,i=4096", "s=QSXCR+Q6sek8bf92,i=4096", "r=abcd,s=!!,i=4096",
                    "r=abcd,s=QSXCR+Q6sek8bf92,i=0", "r=abcd,s=QSXCR+Q6sek8bf92,i=-5", "r=abcd,s=QSXCR+Q6sek8bf92,i=x",
                    "r=abcd,s=QSXCR+Q6sek8bf92,i=10000001", "m=ext,r=abcd,s=QSXCR+Q6sek8bf92,i=4096", ""] {
            #expect(throws: SCRAMClient.SCRAMError.self, "\(bad)") { _ = try d.clientFinalMessage(serverFirst: bad) }
        }
        #expect(throws: SCRAMClient.SCRAMError.self) { _ = try d.clientFinalMessage(serverFirst: [0xC3, 0x28]) }
    }

    @Test("Passwords are SASLprep'd unless the mechanism's peers do not")
    func passwordPreparation() throws {
        let serverFirst = "r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        func proof(_ password: String, _ preparation: SCRAMClient.PasswordPreparation) throws -> String {
            var c = try SCRAMClient(hash: .sha256, username: "", password: password, preparation: preparation, nonce: "abc")
            return try c.clientFinalMessage(serverFirst: serverFirst)
        }
        let plain = try proof("IX", .saslPrep)
        #expect(try proof("I\u{00AD}X", .saslPrep) == plain)
        #expect(try proof("\u{2168}", .saslPrep) == plain)
        #expect(try proof("I\u{00AD}X", .unchanged) != plain)
        // SASLprep rejects control characters: an error, or (as PostgreSQL does) the raw password.
        #expect(throws: SCRAMClient.SCRAMError.passwordRejected(.prohibited("\u{07}"))) {
            _ = try SCRAMClient(hash: .sha256, username: "", password: "a\u{07}", preparation: .saslPrep)
        }
        #expect(try proof("a\u{07}", .saslPrepOrUnchanged) == (try proof("a\u{07}", .unchanged)))
    }

    @Test("Base64 round trips and rejects malformed input")
    func base64() {
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(($0 * 37 + 11) & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("any carnal pleasure.".utf8)) == "YW55IGNhcm5hbCBwbGVhc3VyZS4=")
        #expect(Base64.decode("YW55IGNhcm5hbCBwbGVhc3VyZQ==") == Array("any carnal pleasure".utf8))
        for bad in ["abc", "ab=c", "a===", "=abc", "ab*d", "YQ==YQ=="] { #expect(Base64.decode(bad) == nil, "\(bad)") }
        // Unpadded (gRPC `-bin` metadata): encoded without `=`, decoded with or without it.
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(($0 * 53 + 7) & 0xFF) }
            let text = Base64.encode(bytes, padding: false)
            #expect(!text.contains("=") && text.utf8.count == (n * 4 + 2) / 3)
            #expect(Base64.decode(text, requirePadding: false) == bytes)
            #expect(Base64.decode(Base64.encode(bytes), requirePadding: false) == bytes)
        }
        for bad in ["Z", "Zm8==", "Zm9vY", "Zm=8", "Zm8*"] { #expect(Base64.decode(bad, requirePadding: false) == nil, "\(bad)") }
    }

    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

@Suite("SASLprep (RFC 4013)")
struct SASLprepTests {
    @Test("RFC 4013 section 3 examples")
    func rfcExamples() throws {
        #expect(try SASLprep.prepare("I\u{00AD}X") == "IX")          // soft hyphen mapped to nothing
        #expect(try SASLprep.prepare("user") == "user")
        #expect(try SASLprep.prepare("USER") == "USER")              // no case folding
        #expect(try SASLprep.prepare("\u{00AA}") == "a")             // NFKC
        #expect(try SASLprep.prepare("\u{2168}") == "IX")            // NFKC
        #expect(throws: SASLprep.Failure.prohibited("\u{07}")) { try SASLprep.prepare("\u{0007}") }
        #expect(throws: SASLprep.Failure.bidi) { try SASLprep.prepare("\u{0627}\u{0031}") }
    }

    @Test("Mapping: non-ASCII spaces become spaces; B.1 characters vanish")
    func mapping() throws {
        #expect(try SASLprep.prepare("a\u{00A0}b\u{3000}c\u{2003}d") == "a b c d")
        #expect(try SASLprep.prepare("pass\u{200D}word\u{FE0F}\u{FEFF}\u{034F}") == "password")
        // NFKC composes: e + combining acute -> é; the ligature fi -> "fi".
        #expect(try SASLprep.prepare("e\u{0301}") == "\u{00E9}")
        #expect(try SASLprep.prepare("\u{FB01}x") == "fix")
        #expect(try SASLprep.prepare("") == "")
        #expect(try SASLprep.prepare("pa ss-w0rd!~") == "pa ss-w0rd!~")
    }

    @Test("Prohibited output", arguments: [
        0x0000, 0x001F, 0x007F, 0x0085, 0x06DD, 0x2028, 0x206A, 0xFFF9, 0x1D173, 0xE000, 0xF0000, 0x10FFFD,
        0xFDD0, 0xFFFF, 0x1FFFE, 0xFFFD, 0x2FF0, 0x206F, 0x200E, 0x202A, 0xE0001, 0xE0041,
    ] as [UInt32])
    func prohibited(_ codePoint: UInt32) {
        let scalar = Unicode.Scalar(codePoint)!
        var input = "a"
        input.unicodeScalars.append(scalar)
        #expect(throws: SASLprep.Failure.prohibited(scalar)) { try SASLprep.prepare(input) }
    }

    @Test("Bidi rule")
    func bidi() throws {
        // All right-to-left, or right-to-left around neutral digits: fine.
        #expect(try SASLprep.prepare("\u{05D0}\u{05D1}") == "\u{05D0}\u{05D1}")
        #expect(try SASLprep.prepare("\u{0627}1\u{0628}") == "\u{0627}1\u{0628}")
        // Mixed with left-to-right letters, or not starting/ending right-to-left: refused.
        #expect(throws: SASLprep.Failure.bidi) { try SASLprep.prepare("\u{0627}a\u{0628}") }
        #expect(throws: SASLprep.Failure.bidi) { try SASLprep.prepare("1\u{0627}") }
        #expect(throws: SASLprep.Failure.bidi) { try SASLprep.prepare("\u{05D0}x") }
        // Left-to-right text with neutral characters: no bidi constraint.
        #expect(try SASLprep.prepare("abc 123") == "abc 123")
    }

    @Test("Unassigned code points are allowed in queries, refused in stored strings")
    func unassigned() throws {
        #expect(try SASLprep.prepare("a\u{0378}") == "a\u{0378}")
        #expect(throws: SASLprep.Failure.unassigned("\u{0378}")) { try SASLprep.prepare("a\u{0378}", storedString: true) }
    }
}
