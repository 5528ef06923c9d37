import Foundation
import PGWire
import Testing

@Suite struct QueryTests {
    @Test func simpleQueryWithSeveralResultSets() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let results = try await conn.simpleQuery("SELECT 1 AS a, 'x' AS b; SELECT generate_series(1,3) AS n; ; SET application_name = 'q'")
        #expect(results.count == 3)
        #expect(results[0].rows.count == 1)
        #expect(try results[0].rows[0].decode((Int, String).self) == (1, "x"))
        #expect(try results[1].rows.map { try $0.decode(column: "n", as: Int.self) } == [1, 2, 3])
        #expect(results[1].commandTag == "SELECT 3")
        #expect(results.last?.commandTag == "SET")
        #expect(conn.serverParameters["application_name"] == "q")
        let empty = try await conn.simpleQuery("")
        #expect(empty.count == 1 && empty[0].commandTag == "")
    }

    @Test func extendedQueryStreamsAndDecodesTuples() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let limit = 1000
        let rows = try await conn.query("SELECT g::int8, 'row ' || g, g % 2 = 0 FROM generate_series(1, \(limit)) g")
        var n = 0
        for try await (id, name, even) in rows.decode((Int64, String, Bool).self) {
            n += 1
            #expect(id == Int64(n) && name == "row \(n)" && even == (n % 2 == 0))
        }
        #expect(n == limit)
        #expect(rows.commandTag == "SELECT 1000")
    }

    struct User: Decodable, Equatable {
        var id: Int
        var name: String
        var email: String?
        var tags: [String]
        var profile: Profile
        struct Profile: Codable, Equatable { var age: Int }
    }

    @Test func queriesOnTheConnectionsEventLoopExecutor() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let stmt = try await conn.prepare("SELECT $1::int8 * 2")
        let sum = try await conn.withEventLoopAffinity {
            var sum: Int64 = 0
            for i in 0..<200 {
                #expect(conn.taskExecutor.eventLoop.inEventLoop)
                var b = PostgresBindings()
                b.append(Int64(i))
                sum += try await conn.execute(stmt, b).rows[0].decode(column: 0, as: Int64.self)
                // The automatic statement cache (Parse once, then Bind/Execute/Sync only).
                #expect(try await conn.execute("SELECT \(Int64(i))::int8 + 1").rows[0].decode(column: 0, as: Int64.self) == Int64(i) + 1)
            }
            // A failing query resumes the task with the error; the connection stays usable.
            await #expect(throws: PostgresError.self) { try await conn.execute("SELECT 1 / \(Int64(0))") }
            #expect(try await conn.execute("SELECT \(Int64(5))::int8 + 1").rows[0].decode(column: 0, as: Int64.self) == 6)
            // Streams and pipelines work from the event loop too.
            for try await n in try await conn.query("SELECT generate_series(1, 5000)::int8").decode(Int64.self) { sum += n }
            for r in await conn.pipeline(["SELECT 1::int8", "SELECT 1/0", "SELECT 2::int8"]) {
                if case .success(let result) = r { sum += try result.rows[0].decode(column: 0, as: Int64.self) }
            }
            return sum
        }
        #expect(sum == 199 * 200 + 5000 * 5001 / 2 + 3)
    }

    /// `execute` hands the task its result set directly (no array of results): rows, a command
    /// without rows, a prepared statement returning nothing (its columns kept), an error, and
    /// interpolated bindings larger than the space reserved for them.
    @Test(.timeLimit(.minutes(2))) func executeReturnsItsResultSetDirectly() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let table = PeerEnvironment.uniqueName("exec")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (id int8, name text)")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        let inserted = try await conn.execute("INSERT INTO \(unescaped: table) SELECT g, 'n' || g FROM generate_series(1, \(Int64(3))) g")
        #expect(inserted.commandTag == "INSERT 0 3" && inserted.rowCount == 3 && inserted.rows.isEmpty && inserted.columns.count == 0)
        let rows = try await conn.execute("SELECT id, name FROM \(unescaped: table) WHERE id >= \(Int64(2)) ORDER BY id")
        #expect(rows.commandTag == "SELECT 2" && rows.columns.columns.map(\.name) == ["id", "name"])
        #expect(try rows.rows.map { try $0.decode((Int64, String).self) }.map { "\($0.0):\($0.1)" } == ["2:n2", "3:n3"])
        let none = try await conn.execute("SELECT id, name FROM \(unescaped: table) WHERE id > \(Int64(99))")
        #expect(none.rows.isEmpty && none.commandTag == "SELECT 0" && none.columns.count == 2)
        let stmt = try await conn.prepare("SELECT id, name FROM \(table) WHERE id = $1")
        var b = PostgresBindings()
        b.append(Int64(42))
        let empty = try await conn.execute(stmt, b)
        #expect(empty.rows.isEmpty && empty.columns.columns.map(\.name) == ["id", "name"] && empty.commandTag == "SELECT 0")
        await #expect(throws: PostgresError.self) { try await conn.execute("SELECT id FROM \(unescaped: table) WHERE id = 1 / \(Int64(0))") }
        // Twelve parameters, some far longer than the reserved 12 bytes each.
        let long = String(repeating: "x", count: 300)
        let (a, c, d, e, f, g, h, i, j, k, l) = (Int64(1), Int32(2), Int16(3), "short", long, true, 1.5, Int64(-7), "é€", long + "y", Int64.max)
        let wide = try await conn.execute("SELECT \(a)::int8 + \(c)::int4 + \(d)::int2, \(e)::text, length(\(f)::text), \(g)::bool, \(h)::float8, \(i)::int8, \(j)::text, length(\(k)::text), \(l)::int8, \(Int64(12))::int8")
        let row = try wide.rows[0].decode((Int64, String, Int32, Bool, Double, Int64, String, Int32, Int64, Int64).self)
        #expect(row.0 == 6 && row.1 == "short" && row.2 == 300 && row.3 && row.4 == 1.5 && row.5 == -7 && row.6 == "é€" && row.7 == 301 && row.8 == Int64.max && row.9 == 12)
        #expect(try await conn.execute("SELECT count(*) FROM \(unescaped: table)").rows[0].decode(column: 0, as: Int64.self) == 3)
    }

    /// An actor whose executor is the connection's event loop: the query methods run on the
    /// caller's executor (`nonisolated(nonsending)`), so each query is written from the loop and
    /// the actor resumes there; results, errors and streams work as anywhere else.
    actor OnConnectionLoop {
        let conn: PostgresConnection
        init(_ conn: PostgresConnection) { self.conn = conn }
        nonisolated var unownedExecutor: UnownedSerialExecutor { conn.taskExecutor.eventLoop.executor.asUnownedSerialExecutor() }

        func run(_ n: Int) async throws -> Int64 {
            var sum: Int64 = 0
            for i in 0..<n {
                sum += try await conn.execute("SELECT \(Int64(i))::int8 * 2").rows[0].decode(column: 0, as: Int64.self)
                #expect(conn.taskExecutor.eventLoop.inEventLoop)
            }
            await #expect(throws: PostgresError.self) { try await self.conn.execute("SELECT 1 / \(Int64(0))") }
            for try await v in try await conn.query("SELECT generate_series(1, 1000)::int8").decode(Int64.self) { sum += v }
            for r in await conn.pipeline(["SELECT 1::int8", "SELECT 2::int8"]) { sum += try r.get().rows[0].decode(column: 0, as: Int64.self) }
            return sum
        }
    }

    @Test(.timeLimit(.minutes(2))) func queriesFromAnActorOnTheConnectionsEventLoop() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let sum = try await OnConnectionLoop(conn).run(300)
        #expect(sum == 299 * 300 + 1000 * 1001 / 2 + 3)
    }

    @Test func decodesDecodableStructsByColumnName() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let rows = try await conn.query("""
            SELECT 'ann' AS name, 7 AS id, NULL::text AS email, ARRAY['a','b'] AS tags, '{"age": 30}'::jsonb AS profile
            """)
        let users = try await rows.decode(byName: User.self).reduce(into: [User]()) { $0.append($1) }
        #expect(users == [User(id: 7, name: "ann", email: nil, tags: ["a", "b"], profile: .init(age: 30))])
    }

    @Test func serverErrorsCarryEveryField() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let table = PeerEnvironment.uniqueName("err")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (id int PRIMARY KEY CHECK (id > 0))")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        _ = try await conn.execute("INSERT INTO \(unescaped: table) VALUES (\(Int32(1)))")
        do {
            _ = try await conn.execute("INSERT INTO \(unescaped: table) VALUES (\(Int32(1)))")
            Issue.record("duplicate insert succeeded")
        } catch let PostgresError.server(e) {
            #expect(e.code == .uniqueViolation)
            #expect(e.severity == "ERROR")
            #expect(e.tableName == table)
            #expect(e.constraintName == "\(table)_pkey")
            #expect(e.schemaName == "public")
            #expect(e.detail?.contains("already exists") == true)
            #expect(e.routine != nil && e.file != nil && e.line != nil)
        }
        do {
            _ = try await conn.execute("SELECT nosuchcolumn FROM \(unescaped: table)")
        } catch let PostgresError.server(e) {
            #expect(e.code == .undefinedColumn)
            #expect(e.position == 8)
        }
        // Connection still usable.
        #expect(try await conn.execute("SELECT 1::int4").rows[0].decode(column: 0, as: Int32.self) == 1)
    }

    @Test func pipeliningIsolatesErrors() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        var queries: [PostgresQuery] = []
        for i in 0..<200 {
            if i % 50 == 7 { queries.append("SELECT 1/\(Int32(0))") } else { queries.append("SELECT \(Int64(i)) * 2") }
        }
        let results = await conn.pipeline(queries)
        #expect(results.count == 200)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let res):
                #expect(i % 50 != 7)
                #expect(try res.rows[0].decode(column: 0, as: Int64.self) == Int64(i * 2))
            case .failure(let e):
                #expect(i % 50 == 7)
                #expect((e as? PostgresError)?.sqlState == .divisionByZero)
            }
        }
        // Concurrent tasks on one connection are pipelined too.
        try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
            for i in 0..<100 {
                group.addTask { (i, try await conn.execute("SELECT \(Int64(i))").rows[0].decode(column: 0, as: Int64.self)) }
            }
            for try await (i, v) in group { #expect(Int64(i) == v) }
        }
    }

    /// A pipeline goes out as one buffer with one flush and resumes the task once: an empty one,
    /// a large one with a query that cannot be encoded and one the server rejects (each fails
    /// alone), one overlapping a concurrent query, and one queued behind a cursor.
    @Test(.timeLimit(.minutes(2))) func pipelineBatchesShareOneWriteAndOneResume() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        #expect(await conn.pipeline([]).isEmpty)
        let table = PeerEnvironment.uniqueName("pipe")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (id int8)")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        var queries: [PostgresQuery] = (0..<1500).map { "INSERT INTO \(unescaped: table) VALUES (\(Int64($0)))" }
        queries[700] = PostgresQuery(unsafeSQL: "SELECT 1\u{0}")
        queries[900] = "INSERT INTO \(unescaped: table) VALUES (1 / \(Int64(0)))"
        async let concurrent = conn.execute("SELECT \(Int64(7))::int8 * 6")
        let results = await conn.pipeline(queries)
        #expect(try await concurrent.rows[0].decode(column: 0, as: Int64.self) == 42)
        #expect(results.count == 1500)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let res): #expect(i != 700 && i != 900 && res.commandTag == "INSERT 0 1")
            case .failure(let e):
                #expect(i == 700 || i == 900)
                if i == 900 { #expect((e as? PostgresError)?.sqlState == .divisionByZero) }
            }
        }
        let (count, sum) = try await conn.execute("SELECT count(*), sum(id)::int8 FROM \(unescaped: table)").rows[0].decode((Int64, Int64).self)
        let expectedSum: Int64 = 1499 * 1500 / 2 - 700 - 900
        #expect(count == 1498 && sum == expectedSum)
        // Behind a cursor (which holds the connection), the batch waits and then runs.
        let cursor = try await conn.query("SELECT generate_series(1, 300)::int8", batchSize: 50)
        let queued = Task { await conn.pipeline(["SELECT 1::int8", "SELECT 1 / \(Int64(0))", "SELECT 3::int8"]) }
        var total: Int64 = 0
        for try await v in cursor.decode(Int64.self) { total += v }
        #expect(total == 300 * 301 / 2)
        let after = await queued.value
        #expect(try after[0].get().rows[0].decode(column: 0, as: Int64.self) == 1)
        #expect((try? after[1].get()) == nil)
        #expect(try after[2].get().rows[0].decode(column: 0, as: Int64.self) == 3)
    }

    @Test func preparedStatementsExplicitCachedAndUnnamed() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let stmt = try await conn.prepare("SELECT $1::int8 + 1, $2::text")
        #expect(stmt.parameterTypes == [.int8, .text])
        var b = PostgresBindings()
        b.append(Int64(41)); b.append("x")
        let r = try await conn.execute(stmt, b)
        let (sum, text) = try r.rows[0].decode((Int64, String).self)
        #expect(sum == 42 && text == "x")
        let streamed = try await conn.query(stmt, b).collect()
        #expect(streamed.count == 1)
        try await conn.deallocate(stmt)
        do {
            _ = try await conn.execute(stmt, b)
            Issue.record("deallocated statement still executed")
        } catch let e as PostgresError {
            #expect(e.sqlState == .invalidSQLStatementName)
        }

        // Automatic cache: the same SQL reuses one server-side statement.
        for i in 0..<5 { _ = try await conn.execute("SELECT \(Int64(i)) AS cached_probe") }
        let count = try await conn.execute("SELECT count(*)::int8 FROM pg_prepared_statements WHERE statement = 'SELECT $1 AS cached_probe'")
        #expect(try count.rows[0].decode(column: 0, as: Int64.self) == 1)

        // Unnamed-only mode (pgbouncer): nothing is left prepared.
        var c = PeerEnvironment.config()
        c.statementCacheCapacity = 0
        let bouncer = try await PeerEnvironment.connect(c)
        defer { Task { await bouncer.close() } }
        for i in 0..<5 { _ = try await bouncer.execute("SELECT \(Int64(i)) AS unnamed_probe") }
        let n = try await bouncer.execute("SELECT count(*)::int8 FROM pg_prepared_statements")
        #expect(try n.rows[0].decode(column: 0, as: Int64.self) == 0)

        // LRU eviction closes statements on the server.
        var small = PeerEnvironment.config()
        small.statementCacheCapacity = 3
        let lru = try await PeerEnvironment.connect(small)
        defer { Task { await lru.close() } }
        for i in 0..<10 { _ = try await lru.execute("SELECT \(Int64(i)) AS lru_\(unescaped: String(i))") }
        let m = try await lru.execute("SELECT count(*)::int8 FROM pg_prepared_statements")
        #expect(try m.rows[0].decode(column: 0, as: Int64.self) <= 4)
    }

    @Test func cursorStyleBatches() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let rows = try await conn.query("SELECT g FROM generate_series(1, 1005) g", batchSize: 100)
        var sum = 0
        for try await g in rows.decode(Int32.self) { sum += Int(g) }
        #expect(sum == 1005 * 1006 / 2)
        // Breaking out early leaves the connection usable.
        let early = try await conn.query("SELECT g FROM generate_series(1, 100000) g", batchSize: 10)
        for try await _ in early { break }
        #expect(try await conn.execute("SELECT 5::int4").rows[0].decode(column: 0, as: Int32.self) == 5)
    }

    @Test func cancellationSendsCancelRequest() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let start = ContinuousClock.now
        let task = Task { try await conn.execute("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("pg_sleep was not cancelled")
        } catch let e as PostgresError {
            #expect(e.sqlState == .queryCanceled, "\(e)")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(try await conn.execute("SELECT 3::int4").rows[0].decode(column: 0, as: Int32.self) == 3)
        // Breaking out of a row stream cancels the rest.
        let rows = try await conn.query("SELECT g, pg_sleep(0.001) FROM generate_series(1, 100000) g")
        var seen = 0
        for try await _ in rows { seen += 1; if seen == 10 { break } }
        #expect(try await conn.execute("SELECT 4::int4").rows[0].decode(column: 0, as: Int32.self) == 4)
    }

    @Test func transactionsAndSavepoints() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let table = PeerEnvironment.uniqueName("tx")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (v int)")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        try await conn.withTransaction(.init(isolationLevel: .serializable)) { c in
            _ = try await c.execute("INSERT INTO \(unescaped: table) VALUES (1)")
            #expect(try await c.execute("SHOW transaction_isolation").rows[0].decode(column: 0, as: String.self) == "serializable")
            try? await c.withSavepoint { c in
                _ = try await c.execute("INSERT INTO \(unescaped: table) VALUES (2)")
                _ = try await c.execute("SELECT 1/0")
            }
        }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await conn.withTransaction { c in
                _ = try await c.execute("INSERT INTO \(unescaped: table) VALUES (3)")
                throw Boom()
            }
        }
        await #expect(throws: PostgresError.self) {
            try await conn.withTransaction(.init(readOnly: true)) { c in
                _ = try await c.execute("INSERT INTO \(unescaped: table) VALUES (4)")
            }
        }
        let values = try await conn.execute("SELECT v FROM \(unescaped: table) ORDER BY v").rows.map { try $0.decode(column: 0, as: Int32.self) }
        #expect(values == [1])
        #expect(conn.lastTransactionStatus == .idle)
    }
}
