import Benchmark
import Foundation
import Logging
import NIOCore
import NIOPosix
import PGWire
import PostgresNIO
import WireCore


// PGWire against postgres-nio (the Swift anchor), same server, same run. Names are referenced by
// Benchmarks/Report/pgwire.json; pgbench numbers come from Benchmarks/Anchors/pgbench.sh.
// Needs WIRESTACK_PG_HOST/PORT (scripts/peers.sh) and the `pgwire_bench` database that
// Benchmarks/Anchors/pgbench.sh initialises (pgbench -i); without them every benchmark is skipped.

let env = ProcessInfo.processInfo.environment
let host = env["WIRESTACK_PG_HOST"] ?? "127.0.0.1"
let port = Int(env["WIRESTACK_PG_PORT"] ?? "") ?? 55432
let database = env["PGWIRE_BENCH_DB"] ?? "pgwire_bench"
let logger = Logger(label: "bench")
/// Queries per iteration of the 16-connection benchmark (pgbench's anchor is divided by the same).
let concurrentQueries = 16 * 64

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

let mixedSQL = "SELECT g::int8, 'name ' || g, (g * 1.5)::float8, g % 2 = 0, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 100000) g"

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock],
        timeUnits: .microseconds,
        warmupIterations: 3,
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    let slow = Benchmark.Configuration(metrics: [.throughput, .wallClock], timeUnits: .milliseconds,
                                       warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 20)
    // One COPY of 1M rows takes seconds on a loaded machine: allow several measured iterations.
    let copyConfiguration = Benchmark.Configuration(metrics: [.throughput, .wallClock], timeUnits: .milliseconds,
                                                    warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 5)

    // 1. Prepared point select, one connection.
    Benchmark("PGWire point select 1 conn", configuration: configuration) { benchmark in
        let conn = try await pgwire()
        let stmt = try await conn.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
        var aid: Int32 = 1
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var b = PGWire.PostgresBindings()
            b.append(aid)
            aid = aid % 100_000 + 1
            blackHole(try await conn.execute(stmt, b).rows[0].decode(column: 0, as: Int32.self))
        }
        benchmark.stopMeasurement()
        await conn.close()
    }
    Benchmark("postgres-nio point select 1 conn", configuration: configuration) { benchmark in
        let conn = try await nio()
        var aid: Int32 = 1
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let rows = try await conn.execute(PointSelect(aid: aid), logger: logger)
            aid = aid % 100_000 + 1
            for try await v in rows { blackHole(v) }
        }
        benchmark.stopMeasurement()
        try await conn.close()
    }

    // 1b. The same with the calling task on the connection's event loop (a task executor
    // preference): no thread hop per query, the way pgbench's single thread works. Both clients.
    Benchmark("PGWire point select 1 conn, event-loop executor", configuration: configuration) { benchmark in
        let conn = try await pgwire()
        let stmt = try await conn.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
        try await withTaskExecutorPreference(conn.taskExecutor) {
            var aid: Int32 = 1
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                var b = PGWire.PostgresBindings()
                b.append(aid)
                aid = aid % 100_000 + 1
                blackHole(try await conn.execute(stmt, b).rows[0].decode(column: 0, as: Int32.self))
            }
            benchmark.stopMeasurement()
        }
        await conn.close()
    }
    Benchmark("postgres-nio point select 1 conn, event-loop executor", configuration: configuration) { benchmark in
        let conn = try await nio()
        try await withTaskExecutorPreference(WireCore.EventLoopTaskExecutor(conn.eventLoop)) {
            var aid: Int32 = 1
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let rows = try await conn.execute(PointSelect(aid: aid), logger: logger)
                aid = aid % 100_000 + 1
                for try await v in rows { blackHole(v) }
            }
            benchmark.stopMeasurement()
        }
        try await conn.close()
    }

    // 2. Prepared point select, 16 connections (one iteration = 1,024 queries).
    Benchmark("PGWire point select 16 conns", configuration: slow) { benchmark in
        var conns: [PGWire.PostgresConnection] = []
        var stmts: [PGWire.PostgresPreparedStatement] = []
        for _ in 0..<16 {
            let c = try await pgwire()
            conns.append(c)
            stmts.append(try await c.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1"))
        }
        let pairs = Array(zip(conns, stmts))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, (c, s)) in pairs.enumerated() {
                    group.addTask {
                        for q in 0..<(concurrentQueries / 16) {
                            var b = PGWire.PostgresBindings()
                            b.append(Int32((i * 6151 + q * 97) % 100_000 + 1))
                            blackHole(try await c.execute(s, b).rows.count)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        benchmark.stopMeasurement()
        for c in conns { await c.close() }
    }
    Benchmark("postgres-nio point select 16 conns", configuration: slow) { benchmark in
        var conns: [PostgresNIO.PostgresConnection] = []
        for i in 0..<16 { conns.append(try await nio(i)) }
        let all = conns
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, c) in all.enumerated() {
                    group.addTask {
                        for q in 0..<(concurrentQueries / 16) {
                            let rows = try await c.execute(PointSelect(aid: Int32((i * 6151 + q * 97) % 100_000 + 1)), logger: logger)
                            for try await v in rows { blackHole(v) }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        benchmark.stopMeasurement()
        for c in all { try await c.close() }
    }

    // 3. Decoding a 100k-row result of mixed columns.
    Benchmark("PGWire decode 100k mixed rows", configuration: slow) { benchmark in
        let conn = try await pgwire()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var n = 0
            for try await row in try await conn.query(PGWire.PostgresQuery(unsafeSQL: mixedSQL)).decode((Int64, String, Double, Bool, Date).self) {
                blackHole(row)
                n += 1
            }
            precondition(n == 100_000)
        }
        benchmark.stopMeasurement()
        await conn.close()
    }
    Benchmark("postgres-nio decode 100k mixed rows", configuration: slow) { benchmark in
        let conn = try await nio()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var n = 0
            for try await row in try await conn.query(PostgresNIO.PostgresQuery(unsafeSQL: mixedSQL), logger: logger).decode((Int64, String, Double, Bool, Date).self) {
                blackHole(row)
                n += 1
            }
            precondition(n == 100_000)
        }
        benchmark.stopMeasurement()
        try await conn.close()
    }

    // 4. COPY of 1M rows in (text format, the format postgres-nio supports).
    let copyChunk: [String] = (0..<1000).map { "\($0)\tname \($0)\t\(Double($0) * 0.5)\n" }
    Benchmark("PGWire COPY 1M rows in", configuration: copyConfiguration) { benchmark in
        let conn = try await pgwire()
        _ = try await conn.simpleQuery("DROP TABLE IF EXISTS bench_copy_pgwire; CREATE UNLOGGED TABLE bench_copy_pgwire (id int8, name text, v float8)")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let n = try await conn.copyFrom("COPY bench_copy_pgwire FROM STDIN") { w in
                var buf = ByteBuffer()
                for _ in 0..<1000 {
                    for line in copyChunk { buf.writeString(line) }
                    try await w.write(buf)
                    buf.clear()
                }
            }
            precondition(n == 1_000_000)
        }
        benchmark.stopMeasurement()
        _ = try await conn.simpleQuery("DROP TABLE bench_copy_pgwire")
        await conn.close()
    }
    Benchmark("postgres-nio COPY 1M rows in", configuration: copyConfiguration) { benchmark in
        let conn = try await nio()
        _ = try await conn.query("DROP TABLE IF EXISTS bench_copy_nio", logger: logger)
        _ = try await conn.query("CREATE UNLOGGED TABLE bench_copy_nio (id int8, name text, v float8)", logger: logger)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await conn.copyFrom(table: "bench_copy_nio", columns: ["id", "name", "v"], logger: logger) { w in
                var buf = ByteBuffer()
                for _ in 0..<1000 {
                    for line in copyChunk { buf.writeString(line) }
                    try await w.write(buf)
                    buf.clear()
                }
            }
        }
        benchmark.stopMeasurement()
        _ = try await conn.query("DROP TABLE bench_copy_nio", logger: logger)
        try await conn.close()
    }

    // 5. 1,000 inserts: PGWire pipelined vs postgres-nio one at a time (it cannot pipeline).
    Benchmark("PGWire 1000 inserts pipelined", configuration: slow) { benchmark in
        let conn = try await pgwire()
        _ = try await conn.simpleQuery("DROP TABLE IF EXISTS bench_ins_pgwire; CREATE UNLOGGED TABLE bench_ins_pgwire (id int8, name text)")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let queries: [PGWire.PostgresQuery] = (0..<1000).map { i in "INSERT INTO bench_ins_pgwire VALUES (\(Int64(i)), \("n\(i)"))" }
            for r in await conn.pipeline(queries) { _ = try r.get() }
        }
        benchmark.stopMeasurement()
        _ = try await conn.simpleQuery("DROP TABLE bench_ins_pgwire")
        await conn.close()
    }
    Benchmark("postgres-nio 1000 inserts sequential", configuration: slow) { benchmark in
        let conn = try await nio()
        _ = try await conn.query("DROP TABLE IF EXISTS bench_ins_nio", logger: logger)
        _ = try await conn.query("CREATE UNLOGGED TABLE bench_ins_nio (id int8, name text)", logger: logger)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for i in 0..<1000 {
                try await conn.query("INSERT INTO bench_ins_nio VALUES (\(Int64(i)), \("n\(i)"))", logger: logger)
            }
        }
        benchmark.stopMeasurement()
        _ = try await conn.query("DROP TABLE bench_ins_nio", logger: logger)
        try await conn.close()
    }
}

/// postgres-nio's typed prepared statement for the point select.
struct PointSelect: PostgresNIO.PostgresPreparedStatement {
    static let sql = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
    typealias Row = Int32
    var aid: Int32
    func makeBindings() throws -> PostgresNIO.PostgresBindings {
        var b = PostgresNIO.PostgresBindings()
        b.append(aid)
        return b
    }
    func decodeRow(_ row: PostgresNIO.PostgresRow) throws -> Row { try row.decode(Int32.self) }
}
