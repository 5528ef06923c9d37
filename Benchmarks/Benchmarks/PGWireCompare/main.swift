// PGWire vs pgbench (C, libpq) and postgres-nio, same server, same run, interleaved.
//
//   swift run -c release --package-path Benchmarks PGWireCompare [--rounds 5] [--seconds 3] [--only p1,p16,decode,copy,pipeline]
//
// Each round measures every contestant of a row one after the other (the order rotates per
// round), so load from other processes hits anchor and ours alike; the table shows, per row, the
// median of each contestant, and the ratio ours/anchor as the median of the per-round ratios with
// its min..max. A second column gives CPU microseconds per operation (user+system; pgbench as a
// child process, the Swift clients as this process): what each client costs, independent of how
// much of the machine it got.
//
// Needs WIRESTACK_PG_HOST/PORT (scripts/peers.sh) and the `pgwire_bench` database
// (`Benchmarks/Anchors/pgbench.sh --init`).
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import PGWire
import PostgresNIO

struct Options {
    var rounds = 5
    var seconds = 3.0
    var only: Set<String> = ["p1", "p16", "decode", "copy", "pipeline"]
    init() {
        var args = CommandLine.arguments.dropFirst()
        while let a = args.popFirst() {
            switch a {
            case "--rounds": rounds = max(1, Int(args.popFirst() ?? "") ?? rounds)
            case "--seconds": seconds = Double(args.popFirst() ?? "") ?? seconds
            case "--only": only = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
            default: break
            }
        }
    }
}

let env = ProcessInfo.processInfo.environment
let host = env["WIRESTACK_PG_HOST"] ?? "127.0.0.1"
let port = Int(env["WIRESTACK_PG_PORT"] ?? "") ?? 55432
let database = env["PGWIRE_BENCH_DB"] ?? "pgwire_bench"
let logger = Logger(label: "bench")
let pointSQL = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
let mixedSQL = "SELECT g::int8, 'name ' || g, (g * 1.5)::float8, g % 2 = 0, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 100000) g"

/// CPU seconds (user + system) used so far by this process or by its waited-for children.
func cpuSeconds(children: Bool) -> Double {
    var usage = rusage()
    getrusage(children ? RUSAGE_CHILDREN.rawValue : RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// One measurement: operations per second and CPU microseconds per operation.
struct Sample { var opsPerSecond: Double; var cpuMicros: Double }

/// Runs pgbench `-S -M prepared` and returns its transactions/s.
func pgbench(clients: Int, threads: Int, seconds: Double) throws -> Sample {
    let p = Process()
    // Through python3 to clear the signal mask this process's threads block (pgbench -T needs
    // SIGALRM), and without TLS, as the Swift clients connect.
    p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    p.environment = ProcessInfo.processInfo.environment.merging(["PGSSLMODE": "disable"]) { $1 }
    p.arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])",
                   "pgbench", "-h", host, "-p", "\(port)", "-U", "postgres", "-S", "-M", "prepared", "-n",
                   "-c", "\(clients)", "-j", "\(threads)", "-T", "\(Int(seconds.rounded(.up)))", database]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    let before = cpuSeconds(children: true)
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    var tps = 0.0, count = 0.0
    for line in text.split(separator: "\n") {
        if line.hasPrefix("tps = "), let v = Double(line.dropFirst(6).prefix { $0 != " " }) { tps = v }
        if line.hasPrefix("number of transactions actually processed: "),
           let v = Double(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces).prefix { $0 != "/" }) { count = v }
    }
    guard tps > 0 else { throw NSError(domain: "pgbench", code: 1, userInfo: [NSLocalizedDescriptionKey: "no tps in: \(text)"]) }
    return Sample(opsPerSecond: tps, cpuMicros: count > 0 ? (cpuSeconds(children: true) - before) * 1e6 / count : .nan)
}

/// Runs `body` (which returns the number of operations done) and measures it.
func measure(isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Int) async rethrows -> Sample {
    let cpu = cpuSeconds(children: false)
    let start = now()
    let n = try await body()
    let elapsed = now() - start
    return Sample(opsPerSecond: Double(n) / elapsed, cpuMicros: (cpuSeconds(children: false) - cpu) * 1e6 / Double(n))
}

func pgwire() async throws -> PGWire.PostgresConnection {
    try await PGWire.PostgresConnection.connect(
        configuration: PGWire.PostgresConfiguration(host: host, port: port, user: "postgres", database: database, tlsMode: .disable),
        logger: logger)
}

func nio(_ id: Int = 1) async throws -> PostgresNIO.PostgresConnection {
    try await PostgresNIO.PostgresConnection.connect(
        configuration: .init(host: host, port: port, username: "postgres", password: nil, database: database, tls: .disable),
        id: id, logger: logger)
}

/// postgres-nio's typed prepared statement for the point select.
struct PointSelect: PostgresNIO.PostgresPreparedStatement {
    static let sql = pointSQL
    typealias Row = Int32
    var aid: Int32
    func makeBindings() throws -> PostgresNIO.PostgresBindings {
        var b = PostgresNIO.PostgresBindings()
        b.append(aid)
        return b
    }
    func decodeRow(_ row: PostgresNIO.PostgresRow) throws -> Row { try row.decode(Int32.self) }
}

// MARK: contestants (each runs in a detached task: the caller is on Swift's global pool, as in an application)

/// PGWire point selects on one connection for `seconds`, through the prepared-statement cache
/// (`execute("... \(aid)")`, the default API) or an explicit prepared statement.
func pgwirePoint(_ conn: PGWire.PostgresConnection, seconds: Double, affinity: Bool) async throws -> Int {
    @Sendable func loop() async throws -> Int {
        let deadline = now() + seconds
        var n = 0
        var aid: Int32 = 1
        while n % 64 != 0 || now() < deadline {
            let v = try await conn.execute("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)").rows[0].decode(column: 0, as: Int32.self)
            precondition(v == 0)
            aid = aid % 100_000 + 1
            n += 1
        }
        return n
    }
    if affinity { return try await conn.withEventLoopAffinity { try await loop() } }
    return try await loop()
}

func nioPoint(_ conn: PostgresNIO.PostgresConnection, seconds: Double) async throws -> Int {
    let deadline = now() + seconds
    var n = 0
    var aid: Int32 = 1
    while n % 64 != 0 || now() < deadline {
        let rows = try await conn.execute(PointSelect(aid: aid), logger: logger)
        for try await v in rows { precondition(v == 0) }
        aid = aid % 100_000 + 1
        n += 1
    }
    return n
}

func concurrently<C: Sendable>(_ conns: [C], seconds: Double, _ one: @escaping @Sendable (C, Int, Double) async throws -> Int) async throws -> Int {
    try await withThrowingTaskGroup(of: Int.self) { group in
        for (i, c) in conns.enumerated() { group.addTask { try await one(c, i, seconds) } }
        return try await group.reduce(0, +)
    }
}

let copyChunk: [String] = (0..<1000).map { "\($0)\tname \($0)\t\(Double($0) * 0.5)\n" }

/// The COPY data as a file, for `psql \copy` (the libpq anchor of the COPY row).
func copyFile() throws -> String {
    let path = NSTemporaryDirectory() + "pgwire-copy-\(getpid()).txt"
    if !FileManager.default.fileExists(atPath: path) {
        let chunk = copyChunk.joined()
        var text = ""
        text.reserveCapacity(chunk.utf8.count * 1000)
        for _ in 0..<1000 { text += chunk }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    return path
}

/// `psql -c "\copy table FROM file"`: 1M rows through libpq (text format), measured like pgbench.
func psqlCopy(table: String, file: String) throws -> Sample {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.environment = ProcessInfo.processInfo.environment.merging(["PGSSLMODE": "disable"]) { $1 }
    p.arguments = ["psql", "-h", host, "-p", "\(port)", "-U", "postgres", "-d", database, "-q", "-v", "ON_ERROR_STOP=1",
                   "-c", "\\copy \(table) FROM '\(file)'"]
    p.standardOutput = FileHandle.nullDevice
    let cpu = cpuSeconds(children: true)
    let start = now()
    try p.run()
    p.waitUntilExit()
    let elapsed = now() - start
    guard p.terminationStatus == 0 else { throw NSError(domain: "psql", code: Int(p.terminationStatus)) }
    return Sample(opsPerSecond: 1_000_000 / elapsed, cpuMicros: (cpuSeconds(children: true) - cpu) * 1e6 / 1_000_000)
}

// MARK: the table

/// Prints a line now (stdout is a pipe in scripts: no buffering until exit).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func rotated<T>(_ a: [T], _ by: Int) -> [T] {
    let k = by % a.count
    return Array(a[k...] + a[..<k])
}

struct Row {
    var label: String
    var ours: String
    var anchor: String
    var target: Double
}

@main
struct PGWireCompare {
    static func main() async throws {
        let o = Options()
        var samples: [String: [Sample]] = [:]
        func add(_ name: String, _ s: Sample) {
            samples[name, default: []].append(s)
            say(String(format: "  %-44@ %12.1f ops/s  %8.1f us CPU/op", name as NSString, s.opsPerSecond, s.cpuMicros))
        }
        let S = o.seconds
        // Connections live across rounds (prepared statements stay cached, as in a long-running app).
        let pg1 = try await pgwire()
        let nio1 = try await nio()
        for try await _ in try await nio1.execute(PointSelect(aid: 1), logger: logger) {}
        for r in 0..<o.rounds {
            say("round \(r + 1)/\(o.rounds)")
            if o.only.contains("p1") {
                var steps: [(String, () async throws -> Sample)] = [
                    ("pgbench 1 conn", { try pgbench(clients: 1, threads: 1, seconds: S) }),
                    ("PGWire 1 conn", { try await measure { try await Task.detached { try await pgwirePoint(pg1, seconds: S, affinity: false) }.value } }),
                    ("PGWire 1 conn, event-loop affinity", { try await measure { try await Task.detached { try await pgwirePoint(pg1, seconds: S, affinity: true) }.value } }),
                    ("postgres-nio 1 conn", { try await measure { try await Task.detached { try await nioPoint(nio1, seconds: S) }.value } }),
                ]
                steps = rotated(steps, r)
                for (name, step) in steps { add(name, try await step()) }
            }
            // Single contestants, for profiling (perf, strace).
            if o.only.contains("p1pg") { add("PGWire 1 conn", try await measure { try await Task.detached { try await pgwirePoint(pg1, seconds: S, affinity: false) }.value }) }
            if o.only.contains("p1aff") { add("PGWire 1 conn, event-loop affinity", try await measure { try await Task.detached { try await pgwirePoint(pg1, seconds: S, affinity: true) }.value }) }
            if o.only.contains("p16pg") || o.only.contains("p16aff") {
                var pgs: [PGWire.PostgresConnection] = []
                for _ in 0..<16 { pgs.append(try await pgwire()) }
                let pgAll = pgs, aff = o.only.contains("p16aff")
                add(aff ? "PGWire 16 conns, event-loop affinity" : "PGWire 16 conns", try await measure { try await concurrently(pgAll, seconds: S) { c, _, s in try await pgwirePoint(c, seconds: s, affinity: aff) } })
                for c in pgAll { await c.close() }
            }
            if o.only.contains("p1nio") { add("postgres-nio 1 conn", try await measure { try await Task.detached { try await nioPoint(nio1, seconds: S) }.value }) }
            if o.only.contains("p16") {
                var pgs: [PGWire.PostgresConnection] = []
                var nios: [PostgresNIO.PostgresConnection] = []
                for i in 0..<16 { pgs.append(try await pgwire()); nios.append(try await nio(i + 10)) }
                let pgAll = pgs, nioAll = nios
                var steps: [(String, () async throws -> Sample)] = [
                    ("pgbench 16 conns", { try pgbench(clients: 16, threads: 2, seconds: S) }),
                    ("PGWire 16 conns", { try await measure { try await concurrently(pgAll, seconds: S) { c, _, s in try await pgwirePoint(c, seconds: s, affinity: false) } } }),
                    ("PGWire 16 conns, event-loop affinity", { try await measure { try await concurrently(pgAll, seconds: S) { c, _, s in try await pgwirePoint(c, seconds: s, affinity: true) } } }),
                    ("postgres-nio 16 conns", { try await measure { try await concurrently(nioAll, seconds: S) { c, _, s in try await nioPoint(c, seconds: s) } } }),
                ]
                steps = rotated(steps, r)
                for (name, step) in steps { add(name, try await step()) }
                for c in pgAll { await c.close() }
                for c in nioAll { try await c.close() }
            }
            if o.only.contains("decode") {
                var steps: [(String, () async throws -> Sample)] = [
                    ("PGWire decode 100k rows", { try await measure { try await Task.detached {
                        var n = 0
                        for try await row in try await pg1.query(PGWire.PostgresQuery(unsafeSQL: mixedSQL)).decode((Int64, String, Double, Bool, Date).self) {
                            precondition(row.0 > 0); n += 1
                        }
                        precondition(n == 100_000)
                        return n
                    }.value } }),
                    ("postgres-nio decode 100k rows", { try await measure { try await Task.detached {
                        var n = 0
                        for try await row in try await nio1.query(PostgresNIO.PostgresQuery(unsafeSQL: mixedSQL), logger: logger).decode((Int64, String, Double, Bool, Date).self) {
                            precondition(row.0 > 0); n += 1
                        }
                        precondition(n == 100_000)
                        return n
                    }.value } }),
                ]
                steps = rotated(steps, r)
                for (name, step) in steps { add(name, try await step()) }
            }
            // Before COPY: the server's work after dropping the COPY tables would land on whichever
            // pipeline contestant ran first.
            if o.only.contains("pipeline") {
                _ = try await pg1.simpleQuery("DROP TABLE IF EXISTS bench_ins_pgwire; CREATE UNLOGGED TABLE bench_ins_pgwire (id int8, name text)")
                _ = try await nio1.query("DROP TABLE IF EXISTS bench_ins_nio", logger: logger)
                _ = try await nio1.query("CREATE UNLOGGED TABLE bench_ins_nio (id int8, name text)", logger: logger)
                // One unmeasured batch each (server-side plan caches, the tables' first pages).
                for r in await pg1.pipeline((0..<100).map { i in "INSERT INTO bench_ins_pgwire VALUES (\(Int64(-i)), \("w"))" }) { _ = try r.get() }
                for i in 0..<100 { try await nio1.query("INSERT INTO bench_ins_nio VALUES (\(Int64(-i)), \("w"))", logger: logger) }
                var steps: [(String, () async throws -> Sample)] = [
                    // Batches of 1,000 inserts, repeated for `--seconds` (at least one batch), so
                    // one scheduling hiccup on the loaded machine does not decide a round.
                    ("PGWire 1000 inserts pipelined", { try await measure { try await Task.detached {
                        let deadline = now() + S
                        var n = 0
                        repeat {
                            let queries: [PGWire.PostgresQuery] = (0..<1000).map { i in "INSERT INTO bench_ins_pgwire VALUES (\(Int64(n + i)), \("n\(i)"))" }
                            for r in await pg1.pipeline(queries) { _ = try r.get() }
                            n += 1000
                        } while now() < deadline
                        return n
                    }.value } }),
                    ("postgres-nio 1000 inserts sequential", { try await measure { try await Task.detached {
                        let deadline = now() + S
                        var n = 0
                        repeat {
                            for i in 0..<1000 {
                                try await nio1.query("INSERT INTO bench_ins_nio VALUES (\(Int64(n + i)), \("n\(i)"))", logger: logger)
                            }
                            n += 1000
                        } while now() < deadline
                        return n
                    }.value } }),
                ]
                steps = rotated(steps, r)
                for (name, step) in steps { add(name, try await step()) }
                _ = try await pg1.simpleQuery("DROP TABLE bench_ins_pgwire")
                _ = try await nio1.query("DROP TABLE bench_ins_nio", logger: logger)
            }
            if o.only.contains("copy") {
                _ = try await pg1.simpleQuery("DROP TABLE IF EXISTS bench_copy_pgwire; CREATE UNLOGGED TABLE bench_copy_pgwire (id int8, name text, v float8)")
                _ = try await nio1.query("DROP TABLE IF EXISTS bench_copy_nio", logger: logger)
                _ = try await nio1.query("CREATE UNLOGGED TABLE bench_copy_nio (id int8, name text, v float8)", logger: logger)
                _ = try await pg1.simpleQuery("DROP TABLE IF EXISTS bench_copy_psql; CREATE UNLOGGED TABLE bench_copy_psql (id int8, name text, v float8)")
                let file = try copyFile()
                var steps: [(String, () async throws -> Sample)] = [
                    ("psql \\copy 1M rows in", { try psqlCopy(table: "bench_copy_psql", file: file) }),
                    ("PGWire COPY 1M rows in", { try await measure { try await Task.detached {
                        try await pg1.copyFrom("COPY bench_copy_pgwire FROM STDIN") { w in
                            var buf = ByteBuffer()
                            for _ in 0..<1000 {
                                for line in copyChunk { buf.writeString(line) }
                                try await w.write(buf)
                                buf.clear()
                            }
                        }
                    }.value } }),
                    ("postgres-nio COPY 1M rows in", { try await measure { try await Task.detached {
                        try await nio1.copyFrom(table: "bench_copy_nio", columns: ["id", "name", "v"], logger: logger) { w in
                            var buf = ByteBuffer()
                            for _ in 0..<1000 {
                                for line in copyChunk { buf.writeString(line) }
                                try await w.write(buf)
                                buf.clear()
                            }
                        }
                        return 1_000_000
                    }.value } }),
                ]
                steps = rotated(steps, r)
                for (name, step) in steps { add(name, try await step()) }
                _ = try await pg1.simpleQuery("DROP TABLE bench_copy_pgwire; DROP TABLE bench_copy_psql")
                _ = try await nio1.query("DROP TABLE bench_copy_nio", logger: logger)
            }
        }
        await pg1.close()
        try await nio1.close()

        let rows = [
            Row(label: "point select 1 conn vs pgbench", ours: "PGWire 1 conn", anchor: "pgbench 1 conn", target: 0.9),
            Row(label: "point select 1 conn (affinity) vs pgbench", ours: "PGWire 1 conn, event-loop affinity", anchor: "pgbench 1 conn", target: 0.9),
            Row(label: "point select 16 conns vs pgbench -j 2", ours: "PGWire 16 conns", anchor: "pgbench 16 conns", target: 0.9),
            Row(label: "point select 16 conns (affinity) vs pgbench -j 2", ours: "PGWire 16 conns, event-loop affinity", anchor: "pgbench 16 conns", target: 0.9),
            Row(label: "point select 1 conn vs postgres-nio", ours: "PGWire 1 conn", anchor: "postgres-nio 1 conn", target: 1.5),
            Row(label: "point select 16 conns vs postgres-nio", ours: "PGWire 16 conns", anchor: "postgres-nio 16 conns", target: 1.5),
            Row(label: "decode 100k mixed rows vs postgres-nio", ours: "PGWire decode 100k rows", anchor: "postgres-nio decode 100k rows", target: 1.5),
            Row(label: "COPY 1M rows in vs postgres-nio", ours: "PGWire COPY 1M rows in", anchor: "postgres-nio COPY 1M rows in", target: 1.5),
            Row(label: "COPY 1M rows in vs psql \\copy (libpq)", ours: "PGWire COPY 1M rows in", anchor: "psql \\copy 1M rows in", target: 0),
            Row(label: "1000 inserts pipelined vs nio sequential", ours: "PGWire 1000 inserts pipelined", anchor: "postgres-nio 1000 inserts sequential", target: 5),
        ]
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        say("\n| row | ours ops/s | anchor ops/s | ratio (median of rounds) | min..max | target | CPU us/op ours / anchor |")
        say("|---|---|---|---|---|---|---|")
        for row in rows {
            guard let a = samples[row.ours], let b = samples[row.anchor], a.count == b.count, !a.isEmpty else { continue }
            let ratios = zip(a, b).map { $0.opsPerSecond / $1.opsPerSecond }
            say(String(format: "| %@ | %.0f | %.0f | %.2fx | %.2f..%.2f | %@ | %.2f / %.2f |", row.label as NSString,
                         median(a.map(\.opsPerSecond)), median(b.map(\.opsPerSecond)), median(ratios),
                         ratios.min()!, ratios.max()!, (row.target > 0 ? String(format: "%.1fx", row.target) : "-") as NSString,
                         median(a.map(\.cpuMicros)), median(b.map(\.cpuMicros))))
        }
    }
}
