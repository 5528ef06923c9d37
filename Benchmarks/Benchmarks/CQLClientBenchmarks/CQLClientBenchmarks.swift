// CQLClient vs the DataStax Python driver (cassandra-driver with its Cython extensions) and gocql,
// against the same CQL test node (scripts/cql-node/node.py), in the same run.
//
//   swift run -c release --package-path Benchmarks CQLClientBenchmarks [--seconds 5] [--node host:port]
//       [--python PATH] [--gocql PATH]
//
// Without --node it starts a private node (scripts/cql-node/node.py) with the Python from --python
// or WIRESTACK_PY, so shared peers are not disturbed; without --gocql it builds the gocql anchor
// with Benchmarks/Anchors/cql_gocql/build.sh.
//
// Measures, for each client on protocol v4 with one connection to the node:
//   - prepared EXECUTE ops/s with 1 request in flight and with 64 in flight (one connection),
//   - rows/s reading a 5000-row partition of a 20-column table in pages of 1000 (typed decode),
// and, without the network, rows/s decoding one 1000-row RESULT frame (built by the Python
// driver's serializers) from bytes in memory: CQLClient's frame decoder + every cell decoded
// (generic CQLValue and Decodable struct) vs the driver's Cython ProtocolHandler.decode_message.
// Prints every number and the ratio ours / anchor. The node is a single-threaded Python process:
// network numbers at 64 in flight are bounded by it for every client alike.
import Foundation
import Logging
import NIOCore
import CQLClient

struct Options {
    var seconds = 5.0
    var node: (host: String, port: Int)?
    var python = ProcessInfo.processInfo.environment["WIRESTACK_PY"] ?? "python3"
    var gocql: String?
    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--seconds": seconds = Double(args.popFirst() ?? "") ?? seconds
            case "--python": python = args.popFirst() ?? python
            case "--gocql": gocql = args.popFirst()
            case "--node":
                if let v = args.popFirst(), let colon = v.lastIndex(of: ":"), let port = Int(v[v.index(after: colon)...]) {
                    node = (String(v[..<colon]), port)
                }
            default: break
            }
        }
    }
}

/// The repository root: from the source path, else the working directory (or its parent when run
/// inside Benchmarks/), whichever holds scripts/cql-node.
let root: URL = {
    let candidates = [
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent(),
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath).deletingLastPathComponent(),
    ]
    return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("scripts/cql-node/node.py").path) }
        ?? candidates[1]
}()
let anchorScript = root.appendingPathComponent("Benchmarks/Anchors/cql_driver.py").path

struct ProcessFailure: Error, CustomStringConvertible { let description: String }

/// Runs a program to completion (on a dispatch thread, not the cooperative pool) and returns stdout.
func run(_ executable: String, _ arguments: [String]) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
            let out = Pipe()
            p.standardOutput = out
            do { try p.run() } catch {
                continuation.resume(throwing: error)
                return
            }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            if p.terminationStatus == 0 {
                continuation.resume(returning: text)
            } else {
                continuation.resume(throwing: ProcessFailure(description: "\(executable) \(arguments) exited \(p.terminationStatus): \(text)"))
            }
        }
    }
}

func jsonNumbers(_ text: String) throws -> [String: Double] {
    let line = text.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
    return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double]) ?? [:]
}

/// A private node on a free port (when no --node / WIRESTACK_CQL_NODE is given).
final class PrivateNode: @unchecked Sendable {
    let process = Process()
    var port = 0
    init(python: String) throws {
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("scripts/cql-node/node.py").path, "--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var text = ""
        while !text.contains("PORT ") || !text.hasSuffix("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }), let p = Int(line.dropFirst(5)) else {
            throw ProcessFailure(description: "CQL node did not start: \(text)")
        }
        port = p
    }
    func stop() { process.terminate(); process.waitUntilExit() }
}

/// The 20-column row, decoded by column name.
struct WideRow: Decodable {
    var pk: Int32, ck: Int32, c_text1: String, c_text2: String, c_big1: Int64, c_big2: Int64, c_int: Int32
    var c_double: Double, c_float: Float, c_bool: Bool, c_uuid: UUID, c_timeuuid: UUID, c_ts: Date, c_date: CQLDate
    var c_blob: CQLBlob, c_small: Int16, c_tiny: Int8, c_dec: CQLDecimal, c_inet: CQLInet, c_varint: CQLVarint
}

func wideValues(_ ck: Int32) -> [CQLValue] {
    [.int(0), .int(ck), .text("message body \(ck)"), .text("sender-\(ck % 97)"), .bigint(1_700_000_000_000 + Int64(ck)),
     .bigint(-Int64(ck)), .int(ck * 3), .double(Double(ck) / 7), .float(Float(ck) / 3), .boolean(ck % 2 == 0),
     .uuid(UUID(uuidString: String(format: "00000000-0000-4000-8000-%012x", ck + 1))!),
     .timeuuid(UUID(uuidString: String(format: "00000000-0000-1000-8000-%012x", ck + 1))!),
     .timestamp(CQLTimestamp(millisecondsSinceEpoch: 1_767_225_600_000 + Int64(ck) * 1000)),
     .date(CQLDate(daysSinceEpoch: 20_000 + ck % 365)), .blob([UInt8](repeating: UInt8(ck % 256), count: 16)),
     .smallint(Int16(ck % 30000)), .tinyint(Int8(ck % 120)), .decimal(CQLDecimal("\(ck).\(ck % 100)")!),
     .inet(CQLInet("10.0.\(ck / 256 % 256).\(ck % 256)")!), .varint(CQLVarint(Int64(ck) * 1_000_003))]
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// Runs `body` from `concurrency` tasks until `duration` passes; returns completed calls per second.
func throughput(concurrency: Int, duration: Double, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    let end = start.advanced(by: .milliseconds(Int(duration * 1000)))
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for w in 0..<concurrency {
            group.addTask {
                var i = w, done = 0
                while ContinuousClock.now < end {
                    try await body(i)
                    i += concurrency
                    done += 1
                }
                return done
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(total) / seconds(start.duration(to: .now))
}

/// Rows per second decoding the frame in memory for `duration`.
func decodeRate(_ bytes: [UInt8], duration: Double, typed: Bool) throws -> Double {
    let start = ContinuousClock.now
    let end = start.advanced(by: .milliseconds(Int(duration * 1000)))
    var rows = 0
    var checksum = 0
    while ContinuousClock.now < end {
        var buffer = ByteBuffer(bytes: bytes)
        guard let frame = try CQLFrame.decode(from: &buffer),
              case .result(.rows(let page)) = try CQLResponseFrame.decode(frame, version: .v4).message else {
            throw ProcessFailure(description: "the page is not a RESULT Rows frame")
        }
        for row in page {
            if typed {
                checksum &+= Int(try row.decode(as: WideRow.self).ck)
            } else {
                for c in 0..<row.count { if case .null = try row.value(at: c) { checksum &+= 1 } }
            }
        }
        rows += page.count
    }
    precondition(checksum >= 0)
    return Double(rows) / seconds(start.duration(to: .now))
}

func line(_ label: String, _ ours: Double, _ anchors: [(String, Double?)]) {
    var text = String(format: "%-44@ %12.0f", label as NSString, ours)
    for (name, value) in anchors {
        if let value, value > 0 {
            text += String(format: "   %@ %10.0f (%.2fx)", name as NSString, value, ours / value)
        } else {
            text += "   \(name) n/a"
        }
    }
    print(text)
}

@main
struct CQLClientBenchmarks {
    static func main() async throws {
        var options = Options()
        var logger = Logger(label: "CQLClientBenchmarks")
        logger.logLevel = .warning
        var privateNode: PrivateNode?
        if options.node == nil {
            let node = try PrivateNode(python: options.python)
            privateNode = node
            options.node = ("127.0.0.1", node.port)
        }
        defer { privateNode?.stop() }
        let (host, port) = options.node!
        var gocql = options.gocql
        if gocql == nil {
            gocql = try? await run("/bin/bash", [root.appendingPathComponent("Benchmarks/Anchors/cql_gocql/build.sh").path])
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let keyspace = "cqlbench_\(ProcessInfo.processInfo.processIdentifier)"
        let duration = options.seconds

        // the codec micro-benchmark: one 1000-row RESULT frame built by the driver's serializers
        let pagePath = FileManager.default.temporaryDirectory.appendingPathComponent("\(keyspace)-page.bin").path
        _ = try await run(options.python, [anchorScript, "page", pagePath])
        let page = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pagePath)))
        let pythonDecode = try jsonNumbers(try await run(options.python, [anchorScript, "decode", pagePath, "\(duration)"]))
        let generic = try decodeRate(page, duration: duration, typed: false)
        let typed = try decodeRate(page, duration: duration, typed: true)
        try? FileManager.default.removeItem(atPath: pagePath)

        var configuration = CassandraSessionConfiguration(contactPoints: [(host, port)], protocolVersion: .v4, defaultConsistency: .one,
                                                          requestTimeout: .seconds(60), connectionsPerHost: 1, discoverPeers: false)
        configuration.maxRequestsPerConnection = 4096
        let session = CassandraSession(configuration: configuration, logger: logger)
        let runTask = Task { try await session.run() }
        defer { runTask.cancel() }
        try await session.query("CREATE KEYSPACE \(unescaped: keyspace) WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        try await session.query("USE \(unescaped: keyspace)")
        try await session.query("CREATE TABLE kv (k int PRIMARY KEY, v text)")
        try await session.query("""
            CREATE TABLE wide (pk int, ck int, c_text1 text, c_text2 text, c_big1 bigint, c_big2 bigint, c_int int, c_double double,
            c_float float, c_bool boolean, c_uuid uuid, c_timeuuid timeuuid, c_ts timestamp, c_date date, c_blob blob, c_small smallint,
            c_tiny tinyint, c_dec decimal, c_inet inet, c_varint varint, PRIMARY KEY ((pk), ck))
            """)
        let putKV = try await session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        for k in 0..<100 { try await session.execute(putKV, [.int(Int32(k)), .text("value \(k)")]) }
        let putWide = try await session.prepare("""
            INSERT INTO wide (pk, ck, c_text1, c_text2, c_big1, c_big2, c_int, c_double, c_float, c_bool, c_uuid, c_timeuuid, c_ts,
            c_date, c_blob, c_small, c_tiny, c_dec, c_inet, c_varint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<16 {
                group.addTask { for ck in stride(from: w, to: 5000, by: 16) { try await session.execute(putWide, wideValues(Int32(ck))) } }
            }
            try await group.waitForAll()
        }

        let select = try await session.prepare("SELECT k, v FROM kv WHERE k = ?")
        let x1 = try await throughput(concurrency: 1, duration: duration) { i in
            _ = try await session.execute(select, [.int(Int32(i % 100))])
        }
        let x64 = try await throughput(concurrency: 64, duration: duration) { i in
            _ = try await session.execute(select, [.int(Int32(i % 100))])
        }
        let start = ContinuousClock.now
        var rows = 0
        while seconds(start.duration(to: .now)) < duration {
            for try await row in session.rows("SELECT pk, ck, c_text1, c_text2, c_big1, c_big2, c_int, c_double, c_float, c_bool, c_uuid, c_timeuuid, c_ts, c_date, c_blob, c_small, c_tiny, c_dec, c_inet, c_varint FROM wide WHERE pk = \(Int32(0))", options: .init(pageSize: 1000)) {
                _ = try row.decode(as: WideRow.self)
                rows += 1
            }
        }
        let pageRows = Double(rows) / seconds(start.duration(to: .now))

        let python = try jsonNumbers(try await run(options.python, [anchorScript, "client", host, "\(port)", keyspace, "\(duration)"]))
        var go: [String: Double] = [:]
        if let gocql {
            go = try jsonNumbers(try await run(gocql, [host, "\(port)", keyspace, "\(duration)"]))
        }
        try await session.query("DROP KEYSPACE \(unescaped: keyspace)")
        await session.shutdown()

        print("CQLClient vs DataStax Python driver \(pythonDriverNote) and gocql, protocol v4, one connection, node \(host):\(port), \(duration) s per measurement")
        print(String(format: "%-44@ %12@", "measurement" as NSString, "CQLClient" as NSString))
        line("prepared EXECUTE ops/s, 1 in flight", x1, [("python", python["python execute x1"]), ("gocql", go["gocql execute x1"])])
        line("prepared EXECUTE ops/s, 64 in flight", x64, [("python", python["python execute x64"]), ("gocql", go["gocql execute x64"])])
        line("rows/s, 20 columns, pages of 1000 (typed)", pageRows, [("python", python["python page rows/s"]), ("gocql", go["gocql page rows/s"])])
        line("codec: rows/s decoded from memory (CQLValue)", generic, [("python", pythonDecode["python decode rows/s"])])
        line("codec: rows/s decoded from memory (Decodable)", typed, [("python", pythonDecode["python decode rows/s"])])
        if gocql == nil { print("gocql: not built (Benchmarks/Anchors/cql_gocql/build.sh needs golang-go and golang-github-gocql-gocql-dev)") }
    }

    static let pythonDriverNote = "(cassandra-driver, Cython)"
}
