import Foundation
import Logging
import PGWire
import Testing
import WireCore

/// Addresses of the real PostgreSQL peer, from the environment written by `scripts/peers.sh`.
enum PeerEnvironment {
    static let env = ProcessInfo.processInfo.environment
    static var isCI: Bool { env["CI"] == "true" }

    static var pgHost: String? { env["WIRESTACK_PG_HOST"] }
    static var pgPort: Int { Int(env["WIRESTACK_PG_PORT"] ?? "") ?? 5432 }
    static var pgCA: String? { env["WIRESTACK_PG_CA"] }
    static var pgDatabase: String { env["WIRESTACK_PG_DATABASE"] ?? "test" }
    static var pgSocketDir: String? { env["WIRESTACK_PG_SOCKET_DIR"] }

    /// True when the peer is configured. Locally prints why a test is skipped; in CI a missing peer fails.
    static var hasPostgres: Bool {
        if pgHost != nil { return true }
        if isCI {
            Issue.record("WIRESTACK_PG_HOST is not set but CI=true: the PostgreSQL peer must be started by scripts/peers.sh")
        } else {
            print("skipping PostgreSQL interop test: WIRESTACK_PG_HOST is not set (source .peers/peers.env)")
        }
        return false
    }

    static func config(user: String = "postgres", password: String? = nil, tlsMode: PostgresTLSMode = .disable) -> PostgresConfiguration {
        var tls = TLSSettings()
        if let ca = pgCA { tls.trustRoots = .file(ca) }
        var c = PostgresConfiguration(host: pgHost ?? "127.0.0.1", port: pgPort, user: user, password: password,
                                      database: pgDatabase, tlsMode: tlsMode, tls: tls)
        c.applicationName = "pgwire-tests"
        return c
    }

    static let logger: Logger = {
        var l = Logger(label: "pgwire-tests")
        l.logLevel = .warning
        return l
    }()

    static func connect(_ config: PostgresConfiguration = config()) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: config, logger: logger)
    }

    /// A unique table/channel name for one test.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UInt32.random(in: 0...UInt32.max))_\(ProcessInfo.processInfo.processIdentifier)"
    }
}
