import Foundation
import PGWire
import Testing
import WireCore

@Suite(.serialized) struct AuthTLSTests {
    func check(_ config: PostgresConfiguration, expectTLS: Bool? = nil) async throws {
        let conn = try await PeerEnvironment.connect(config)
        let r = try await conn.execute("SELECT current_user::text")
        #expect(try r.rows[0].decode(column: 0, as: String.self) == config.user)
        if let expectTLS { #expect(conn.isTLS == expectTLS) }
        await conn.close()
    }

    @Test func trust() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        try await check(PeerEnvironment.config(user: "trust_user"), expectTLS: false)
    }

    @Test func cleartextPassword() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        try await check(PeerEnvironment.config(user: "password_user", password: "plainpass"))
    }

    @Test func md5() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        try await check(PeerEnvironment.config(user: "md5_user", password: "md5pass"))
    }

    @Test func scram() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        try await check(PeerEnvironment.config(user: "scram_user", password: "scrampass"))
    }

    /// The server SASLprep's a password when it stores the SCRAM verifier; the client must do the
    /// same when it logs in (RFC 5802), or any password with non-ASCII spaces, soft hyphens or
    /// compatibility characters fails.
    @Test func scramPasswordNeedingSASLprep() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let admin = try await PeerEnvironment.connect()
        let role = PeerEnvironment.uniqueName("saslprep")
        // NO-BREAK SPACE -> space, SOFT HYPHEN -> nothing, ROMAN NUMERAL NINE -> "IX", o + combining diaeresis -> ö.
        let stored = "pass\u{00A0}wo\u{0308}rd\u{00AD}\u{2168}"
        // SASLprep rejects BEL: server and client both fall back to the raw password.
        let unpreparable = "bell\u{07}pass"
        let other = role + "_raw"
        _ = try await admin.simpleQuery("CREATE ROLE \(role) LOGIN PASSWORD '\(stored)'; CREATE ROLE \(other) LOGIN PASSWORD '\(unpreparable)'")
        do {
            // The password as typed, its SASLprep'd form, and other spellings of it all log in.
            for password in [stored, "pass w\u{00F6}rdIX", "pass\u{2003}w\u{00F6}rd\u{200D}I\u{00AD}X"] {
                try await check(PeerEnvironment.config(user: role, password: password))
            }
            try await check(PeerEnvironment.config(user: other, password: unpreparable))
            // A different password still fails.
            do {
                try await check(PeerEnvironment.config(user: role, password: "pass w\u{00F6}rdX"))
                Issue.record("a wrong password logged in")
            } catch let e as PostgresError {
                #expect(e.sqlState == .invalidPassword, "\(e)")
            }
        } catch {
            Issue.record("SASLprep login failed: \(error)")
        }
        _ = try await admin.simpleQuery("DROP ROLE \(role); DROP ROLE \(other)")
        await admin.close()
    }

    @Test func wrongPasswordsFailClearly() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        for (user, password) in [("scram_user", "nope"), ("md5_user", "nope"), ("password_user", "nope")] {
            do {
                _ = try await PeerEnvironment.connect(PeerEnvironment.config(user: user, password: password))
                Issue.record("\(user) with a wrong password connected")
            } catch let e as PostgresError {
                #expect(e.sqlState == .invalidPassword, "\(user): \(e)")
                #expect("\(e)".contains("password authentication failed"))
            }
        }
        // No password at all for a password user.
        do {
            _ = try await PeerEnvironment.connect(PeerEnvironment.config(user: "scram_user"))
            Issue.record("connected without a password")
        } catch let e as PostgresError {
            guard case .authentication = e else { Issue.record("unexpected \(e)"); return }
        }
    }

    @Test func tlsModes() async throws {
        guard PeerEnvironment.hasPostgres, PeerEnvironment.pgCA != nil else { return }
        for mode in [PostgresTLSMode.prefer, .require, .verifyCA, .verifyFull] {
            try await check(PeerEnvironment.config(user: "ssl_user", password: "sslpass", tlsMode: mode), expectTLS: true)
        }
        // hostssl-only user over plaintext is rejected by pg_hba.
        do {
            try await check(PeerEnvironment.config(user: "ssl_user", password: "sslpass", tlsMode: .disable))
            Issue.record("ssl_user connected without TLS")
        } catch let e as PostgresError {
            #expect(e.sqlState == .invalidAuthorizationSpecification, "\(e)")
        }
    }

    @Test func scramChannelBindingPlus() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        var c = PeerEnvironment.config(user: "ssl_user", password: "sslpass", tlsMode: .verifyFull)
        c.channelBinding = .require
        try await check(c, expectTLS: true)
        // Channel binding cannot be satisfied without TLS.
        var plain = PeerEnvironment.config(user: "scram_user", password: "scrampass", tlsMode: .disable)
        plain.channelBinding = .require
        do {
            try await check(plain)
            Issue.record("channel_binding=require succeeded without TLS")
        } catch let e as PostgresError {
            guard case .authentication(let why) = e else { Issue.record("unexpected \(e)"); return }
            #expect(why.contains("channel binding"))
        }
    }

    @Test func wrongCAFailsClearly() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        // A freshly generated, unrelated CA.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgwire-ca-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Other CA",
                       "-keyout", dir.appendingPathComponent("k.pem").path, "-out", dir.appendingPathComponent("ca.pem").path]
        p.standardError = FileHandle.nullDevice
        try p.run()
        while p.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        var c = PeerEnvironment.config(user: "ssl_user", password: "sslpass", tlsMode: .verifyCA)
        c.tls.trustRoots = .file(dir.appendingPathComponent("ca.pem").path)
        do {
            try await check(c)
            Issue.record("connected with the wrong CA")
        } catch let e as PostgresError {
            guard case .tls(let why) = e else { Issue.record("expected a TLS error, got \(e)"); return }
            #expect(why.lowercased().contains("certificate") || why.contains("handshake"), "\(why)")
        }
        // (A host-name mismatch under verify-full cannot be provoked on loopback: the server's
        // certificate lists IP 127.0.0.1, and NIOSSL also accepts a SAN matching the peer address.)
    }

    @Test func unixSocket() async throws {
        guard PeerEnvironment.hasPostgres, let dir = PeerEnvironment.pgSocketDir else { return }
        var c = PeerEnvironment.config(user: "postgres")
        c.endpoint = .unixSocket(path: "\(dir)/.s.PGSQL.\(PeerEnvironment.pgPort)")
        c.tlsMode = .disable
        try await check(c, expectTLS: false)
    }
}
