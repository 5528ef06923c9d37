import Foundation
import Testing
@testable import CQLClient

/// gocql (a second client, protocol v4) writes a chat history into the CQL test node; CQLClient
/// reads the same rows back on v4 and v5 and must see exactly what gocql saw.
@Suite("gocql as a second client against the CQL test node")
struct GocqlInteropTests {
    /// Built by scripts/oracles/cql/gocql/build.sh (the test runner sets WIRESTACK_GOCQL_BIN).
    static var binary: String? { PeerEnvironment.environment["WIRESTACK_GOCQL_BIN"].flatMap { $0.isEmpty ? nil : $0 } }

    @Test("rows written and read by gocql read back identically through CQLClient (v4 and v5)")
    func gocqlWritesCQLClientReads() async throws {
        guard let gocql = PeerEnvironment.require(Self.binary, "WIRESTACK_GOCQL_BIN (scripts/oracles/cql/gocql/build.sh)") else { return }
        _ = try await withTestNode { node, _ in
            let output = try await Process.run(gocql, [node.host, String(node.port), "gk"])
            let gocqlRows = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(gocqlRows.count == 3)
            for version in [CQLProtocolVersion.v4, .v5] {
                let ours = try await CassandraSession.withSession(configuration: sessionConfiguration(node, version: version), logger: testLogger()) { session in
                    let result = try await session.execute(
                        "SELECT message_id, sender_id, body, reactions FROM gk.messages WHERE chat_id = \("g1") AND message_id >= \(Int64(1002)) AND message_id < \(Int64(1005))",
                        options: .init(pageSize: 2))
                    var rows = result.pageRows
                    var state = result.pagingState
                    while let s = state {
                        let next = try await session.execute(
                            "SELECT message_id, sender_id, body, reactions FROM gk.messages WHERE chat_id = \("g1") AND message_id >= \(Int64(1002)) AND message_id < \(Int64(1005))",
                            options: .init(pageSize: 2, pagingState: s))
                        rows += next.pageRows
                        state = next.pagingState
                    }
                    return try rows.map { row -> String in
                        let (id, sender, body, reactions) = try row.decode((Int64, Int64, String, [Int64: String]?).self)
                        let pairs = (reactions ?? [:]).sorted { $0.key < $1.key }.map { [String($0.key), $0.value] }
                        let data = try JSONSerialization.data(withJSONObject: [String(id), String(sender), body, pairs], options: [.withoutEscapingSlashes])
                        return String(decoding: data, as: UTF8.self)
                    }
                }
                #expect(ours == gocqlRows, "\(version)")
            }
        }
    }
}
