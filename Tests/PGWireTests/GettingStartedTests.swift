import Logging
import PGWire
import Testing

/// The code of GettingStarted.md, compiled and run against the real server.
@Suite struct GettingStartedTests {
    @Test func gettingStarted() async throws {
        guard PeerEnvironment.hasPostgres, let host = PeerEnvironment.pgHost else { return }
        let port = PeerEnvironment.pgPort
        let logger = PeerEnvironment.logger
        let client = try PostgresClient(
            "postgresql://postgres@\(host):\(port)/\(PeerEnvironment.pgDatabase)?sslmode=disable&application_name=getting-started",
            logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }

            let minimum: Int64 = 2
            let result = try await client.query("SELECT g, 'item ' || g FROM generate_series(1, 5) g WHERE g >= \(minimum)")
            var seen: [Int32] = []
            for row in result.rows {
                let (id, name) = try row.decode((Int32, String).self)
                #expect(name == "item \(id)")
                seen.append(id)
            }
            #expect(seen == [2, 3, 4, 5])

            try await client.withTransaction(.init(isolationLevel: .repeatableRead)) { connection in
                _ = try await connection.execute("SELECT 1")
            }

            await client.shutdown()
            group.cancelAll()
        }

        let connection = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(host: host, port: port, user: "postgres",
                                                 database: PeerEnvironment.pgDatabase, tlsMode: .disable),
            logger: logger)

        let rows = try await connection.query("SELECT g::int8, g % 2 = 0 FROM generate_series(1, 1000) g")
        var count = 0
        for try await (id, even) in rows.decode((Int64, Bool).self) {
            #expect(even == (id % 2 == 0))
            count += 1
        }
        #expect(count == 1000)

        let results = await connection.pipeline(["SELECT 1", "SELECT 1/0", "SELECT 3"])
        #expect(results.map { if case .success = $0 { "ok" } else { "failed" } } == ["ok", "failed", "ok"])

        _ = try await connection.simpleQuery("CREATE TEMP TABLE items (id int8, name text)")
        try await connection.copyFrom("COPY items FROM STDIN") { writer in
            for i in 0..<100 { try await writer.write("\(i)\titem \(i)\n") }
        }
        var lines = 0
        for try await _ in try await connection.copyTo("COPY items TO STDOUT") { lines += 1 }
        #expect(lines == 100)

        let notifications = try await connection.listen("news")
        try await connection.notify("news", payload: "hello")
        for try await notification in notifications {
            #expect(notification.payload == "hello")
            break
        }
        await connection.close()
    }
}
