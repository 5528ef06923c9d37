import Foundation
import Testing
@testable import CQLClient

/// scripts/cql-node/scenario.json through the DataStax driver (scenario.py) and through CQLClient
/// against the same CQL test node must give identical results.
@Suite("Same scenario through the DataStax driver and CQLClient", .serialized)
struct ScenarioTests {
    static var steps: [[String: Any]] {
        let url = PeerEnvironment.repositoryRoot.appendingPathComponent("scripts/cql-node/scenario.json")
        let json = try! JSONSerialization.jsonObject(with: try! Data(contentsOf: url)) as! [String: Any]
        return json["steps"] as! [[String: Any]]
    }

    static func value(_ pair: [String]) -> CQLValue {
        switch pair[0] {
        case "bigint": .bigint(Int64(pair[1])!)
        case "int": .int(Int32(pair[1])!)
        case "timestamp": .timestamp(CQLTimestamp(millisecondsSinceEpoch: Int64(pair[1])!))
        case "uuid": .uuid(UUID(uuidString: pair[1])!)
        case "boolean": .boolean(pair[1] == "true")
        default: .text(pair[1])
        }
    }

    static func summary(_ result: CQLQueryResult, pages: Int = 1, extraRows: [CQLRow] = []) throws -> Any {
        guard let rows = result.rows else { return ["rows": NSNull()] }
        let all = Array(rows) + extraRows
        let columns = rows.metadata.columns?.map(\.name) ?? []
        let values = try all.map { row in try (0..<row.count).map { ValueJSON.json(try row.value(at: $0)) } }
        return ["columns": columns, "rows": values, "pages": pages] as [String: Any]
    }

    static func runSwift(session: CassandraSession, keyspace: String) async throws -> [Any] {
        var out: [Any] = []
        for step in steps {
            do {
                if let batch = step["batch"] as? [[String: Any]] {
                    let statements = batch.map { item in
                        CQLBatchStatement((item["cql"] as! String).replacingOccurrences(of: "KS", with: keyspace),
                                          ((item["values"] as? [[String]]) ?? []).map(value))
                    }
                    try await session.batch(statements)
                    out.append(["rows": NSNull()])
                    continue
                }
                let cql = (step["cql"] as! String).replacingOccurrences(of: "KS", with: keyspace)
                let values = ((step["values"] as? [[String]]) ?? []).map(value)
                let prepared = step["prepared"] as? Bool ?? false
                if let pageSize = step["page_size"] as? Int {
                    // manual paging: follow the paging state page by page
                    var options = CQLStatementOptions(pageSize: Int32(pageSize))
                    var first = try await session.execute(CQLQuery(cql, values), options: options)
                    var pages = 1
                    var more: [CQLRow] = []
                    var state = first.pagingState
                    while let s = state {
                        options.pagingState = s
                        let next = try await session.execute(CQLQuery(cql, values), options: options)
                        more += next.pageRows
                        pages += 1
                        state = next.pagingState
                    }
                    first.pagingState = nil
                    out.append(try summary(first, pages: pages, extraRows: more))
                    continue
                }
                let result = prepared ? try await session.execute(CQLQuery(cql, values)) : try await session.query(cql, values)
                out.append(try summary(result))
            } catch let error as CQLServerError where step["expect_error"] as? Bool == true {
                out.append(["error": Int(error.code)])
            }
        }
        return out
    }

    @Test("v5 (lz4 when available) and v4: identical results", arguments: [CQLProtocolVersion.v5, .v4])
    func identicalResults(version: CQLProtocolVersion) async throws {
        _ = try await withTestNode { node, python in
            let driverKeyspace = "scn_driver_\(version.rawValue)"
            let data = try await Process.run(python, [PeerEnvironment.repositoryRoot.appendingPathComponent("scripts/cql-node/scenario.py").path,
                                                node.host, String(node.port), driverKeyspace, String(version.rawValue)])
            let driver = try JSONSerialization.jsonObject(with: data) as! [Any]
            let ours = try await CassandraSession.withSession(configuration: sessionConfiguration(node, version: version), logger: testLogger()) { session in
                #expect(session.protocolVersion == version)
                return try await Self.runSwift(session: session, keyspace: "scn_swift_\(version.rawValue)").map { canonical($0) }
            }
            #expect(ours.count == driver.count)
            for (i, (a, b)) in zip(ours, driver).enumerated() {
                #expect(a == canonical(b), "step \(i): \(Self.steps[i]["cql"] ?? "batch")")
            }
        }
    }
}

extension Process {
    /// Runs a program to completion off the cooperative pool and returns its standard output
    /// (throws on a non-zero exit).
    static func run(_ executable: String, _ arguments: [String]) async throws -> Data {
        try await runOffPool { try runBlocking(executable, arguments) }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let errors = ErrorCollector(err)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Oracle.OracleError(message: "\(executable) \(arguments) failed: " + errors.text())
        }
        return data
    }
}
