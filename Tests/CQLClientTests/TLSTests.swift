import Foundation
import Testing
import WireCore
@testable import CQLClient

/// TLS through WireCore's connector against a CQL test node serving TLS only (node.py --tls DIR,
/// with a CA and server certificate for 127.0.0.1 generated into DIR by the node).
@Suite("TLS against the CQL test node", .serialized, .timeLimit(.minutes(6)))
struct TLSTests {
    static func certificateDirectory() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cql-tls-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("connections and a session over TLS (v5 with lz4 segments, v4); untrusted certificates and plaintext fail",
          arguments: [CQLProtocolVersion.v5, .v4])
    func tls(version: CQLProtocolVersion) async throws {
        let dir = Self.certificateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await withTestNode(["--tls", dir]) { node, _ in
            let trusted = TLSSettings(trustRoots: .file(dir + "/ca.crt"))
            let connection = try await CQLConnection.connect(
                .init(host: node.host, port: node.port, protocolVersion: version, compression: .lz4, tls: trusted), logger: testLogger())
            #expect(connection.version == version && connection.compression == .lz4)
            let local = try await connection.send(CQLQueryRequest(query: "SELECT release_version FROM system.local WHERE key='local'",
                                                                  parameters: .init(consistency: .one)))
            guard case .result(.rows(let rows)) = local.message else {
                Issue.record("expected rows, got \(local.message)")
                return
            }
            #expect(try rows[0].decode(column: "release_version", as: String.self) == "4.1.3")
            await connection.close()

            var configuration = sessionConfiguration(node, version: version, compression: .lz4)
            configuration.tls = trusted
            try await CassandraSession.withSession(configuration: configuration, logger: testLogger()) { session in
                let ks = "tls\(version.rawValue)"
                try await session.query("CREATE KEYSPACE \(unescaped: ks) WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
                try await session.query("CREATE TABLE \(unescaped: ks).t (k int PRIMARY KEY, v text)")
                let body = String(repeating: "secret ", count: 20_000)
                try await session.execute("INSERT INTO \(unescaped: ks).t (k, v) VALUES (\(Int32(1)), \(body))")
                let result = try await session.execute("SELECT v FROM \(unescaped: ks).t WHERE k = \(Int32(1))")
                #expect(try result.pageRows.first?.decode(column: "v", as: String.self) == body)
            }

            // the system trust store does not know the test CA: the handshake fails with a TLS error
            do {
                _ = try await CQLConnection.connect(.init(host: node.host, port: node.port, protocolVersion: version, tls: TLSSettings()),
                                                    logger: testLogger())
                Issue.record("an untrusted certificate was accepted")
            } catch let error as ConnectError {
                guard case .tls = error else {
                    Issue.record("expected a TLS error, got \(error)")
                    return
                }
            }
            // plaintext to a TLS-only node never becomes a CQL connection
            await #expect(throws: (any Error).self) {
                _ = try await CQLConnection.connect(.init(host: node.host, port: node.port, protocolVersion: version,
                                                          connectTimeout: .seconds(5)), logger: testLogger())
            }
        }
    }
}
