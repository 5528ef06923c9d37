import Foundation
import NIOCore
import PGWire
import Testing

@Suite struct CopyListenTests {
    @Test func copyTextBothWays() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let table = PeerEnvironment.uniqueName("copyt")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (id int8, name text)")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        let n = 50_000
        let copied = try await conn.copyFrom("COPY \(table) (id, name) FROM STDIN") { w in
            for i in 0..<n { try await w.write("\(i)\tname \(i)\n") }
        }
        #expect(copied == n)
        var lines = 0
        var bytes = 0
        for try await chunk in try await conn.copyTo("COPY (SELECT * FROM \(table) ORDER BY id) TO STDOUT") {
            if lines == 0 { #expect(String(buffer: chunk) == "0\tname 0\n") }
            lines += 1
            bytes += chunk.readableBytes
        }
        #expect(lines == n)
        // Connection still usable, and the data is there.
        #expect(try await conn.execute("SELECT count(*)::int8, sum(id)::int8 FROM \(unescaped: table)").rows[0].decode((Int64, Int64).self) == (Int64(n), Int64(n * (n - 1) / 2)))
    }

    @Test func copyBinaryBothWays() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let table = PeerEnvironment.uniqueName("copyb")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (id int8, name text, score float8, at timestamptz)")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        let copied = try await conn.copyFrom("COPY \(table) FROM STDIN (FORMAT binary)") { w in
            for i in 0..<1000 {
                try await w.writeBinaryRow { row in
                    try row.append(Int64(i))
                    try row.append(i % 10 == 0 ? nil : "n\(i)")
                    try row.append(Double(i) / 2)
                    try row.append(Date(timeIntervalSince1970: 1_700_000_000 + Double(i)))
                }
            }
        }
        #expect(copied == 1000)
        var out = ByteBuffer()
        for try await chunk in try await conn.copyTo("COPY (SELECT * FROM \(table) ORDER BY id) TO STDOUT (FORMAT binary)") {
            var c = chunk
            out.writeBuffer(&c)
        }
        // Parse the binary COPY stream: header, rows, trailer.
        #expect(out.readBytes(length: 19) == PostgresBinaryCopy.header)
        var rows = 0
        while let fields = out.readInteger(as: Int16.self), fields != -1 {
            #expect(fields == 4)
            var cells: [ByteBuffer?] = []
            for _ in 0..<fields {
                let len = out.readInteger(as: Int32.self)!
                cells.append(len < 0 ? nil : out.readSlice(length: Int(len)))
            }
            var id = cells[0]!
            let v = try Int64(from: &id, type: .int8, format: .binary, context: .default)
            #expect(v == Int64(rows))
            #expect((cells[1] == nil) == (rows % 10 == 0))
            rows += 1
        }
        #expect(rows == 1000)
    }

    @Test func copyErrorsLeaveConnectionUsable() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let table = PeerEnvironment.uniqueName("copye")
        _ = try await conn.simpleQuery("CREATE TABLE \(table) (id int8)")
        defer { Task { _ = try? await conn.simpleQuery("DROP TABLE \(table)") } }
        // Bad data: the server rejects it.
        do {
            try await conn.copyFrom("COPY \(table) FROM STDIN") { w in try await w.write("not a number\n") }
            Issue.record("bad COPY data accepted")
        } catch let e as PostgresError {
            #expect(e.sqlState == .invalidTextRepresentation, "\(e)")
        }
        // The writer throws: CopyFail aborts it.
        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            try await conn.copyFrom("COPY \(table) FROM STDIN") { w in
                try await w.write("1\n")
                throw Stop()
            }
        }
        // A missing table fails before any data.
        await #expect(throws: PostgresError.self) {
            try await conn.copyFrom("COPY no_such_table_\(table) FROM STDIN") { _ in }
        }
        // Stopping a COPY OUT early.
        _ = try await conn.execute("INSERT INTO \(unescaped: table) SELECT generate_series(1, 100000)")
        for try await _ in try await conn.copyTo("COPY \(table) TO STDOUT") { break }
        #expect(try await conn.execute("SELECT count(*)::int8 FROM \(unescaped: table)").rows[0].decode(column: 0, as: Int64.self) == 100_000)
    }

    @Test func listenNotify() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let listener = try await PeerEnvironment.connect()
        let sender = try await PeerEnvironment.connect()
        defer { Task { await listener.close(); await sender.close() } }
        let channel = PeerEnvironment.uniqueName("Chan")
        let notifications = try await listener.listen(channel)
        for i in 0..<3 { try await sender.notify(channel, payload: "msg \(i)") }
        var received: [String] = []
        for try await n in notifications {
            #expect(n.channel == channel)
            #expect(n.processID == sender.processID)
            received.append(n.payload)
            if received.count == 3 { break }
        }
        #expect(received == ["msg 0", "msg 1", "msg 2"])
    }
}
