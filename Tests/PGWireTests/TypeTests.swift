import Foundation
import NIOCore
import PGWire
import Testing

/// Each value is checked three ways against the real server: the server's cast of a literal
/// decodes to the Swift value; the Swift value bound as a parameter equals the server's literal
/// (compared server-side); and the bound value echoes back unchanged.
@Suite struct TypeTests {
    func roundTrip<T: PostgresCodable & Equatable>(_ conn: PostgresConnection, _ value: T, _ literal: String, _ type: String,
                                                   sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let fromServer = try await conn.execute("SELECT \(unescaped: literal)::\(unescaped: type)").rows[0].decode(column: 0, as: T.self)
        #expect(fromServer == value, "server \(literal)::\(type)", sourceLocation: sourceLocation)
        let equal = try await conn.execute(("SELECT $1::\(unescaped: type) IS NOT DISTINCT FROM \(unescaped: literal)::\(unescaped: type)" as PostgresQuery).bindingFirst(value))
        #expect(try equal.rows[0].decode(column: 0, as: Bool.self), "bound \(value) vs \(literal)::\(type)", sourceLocation: sourceLocation)
        let echoed = try await conn.execute("SELECT \(value)::\(unescaped: type)").rows[0].decode(column: 0, as: T.self)
        #expect(echoed == value, "echo \(value)", sourceLocation: sourceLocation)
        // NULL of the same type decodes as nil.
        let null = try await conn.execute("SELECT NULL::\(unescaped: type)").rows[0].decode(column: 0, as: T?.self)
        #expect(null == nil, sourceLocation: sourceLocation)
    }

    @Test func scalars() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        try await roundTrip(conn, true, "'t'", "bool")
        try await roundTrip(conn, false, "'f'", "bool")
        try await roundTrip(conn, Int16.min, "'-32768'", "int2")
        try await roundTrip(conn, Int16.max, "'32767'", "int2")
        try await roundTrip(conn, Int32.min, "'-2147483648'", "int4")
        try await roundTrip(conn, Int32.max, "'2147483647'", "int4")
        try await roundTrip(conn, Int64.min, "'-9223372036854775808'", "int8")
        try await roundTrip(conn, Int64.max, "'9223372036854775807'", "int8")
        try await roundTrip(conn, Float(3.5), "'3.5'", "float4")
        try await roundTrip(conn, Float.greatestFiniteMagnitude, "'3.4028235e+38'", "float4")
        try await roundTrip(conn, Double(-1.25e300), "'-1.25e300'", "float8")
        try await roundTrip(conn, Double.infinity, "'Infinity'", "float8")
        try await roundTrip(conn, -Double.infinity, "'-Infinity'", "float8")
        try await roundTrip(conn, Double.leastNonzeroMagnitude, "'4.9406564584124654e-324'", "float8")
        let nan = try await conn.execute("SELECT 'NaN'::float8").rows[0].decode(column: 0, as: Double.self)
        #expect(nan.isNaN)
        try await roundTrip(conn, "héllo, wörld ✓", "'héllo, wörld ✓'", "text")
        try await roundTrip(conn, "", "''", "text")
        try await roundTrip(conn, "abc", "'abc'", "varchar")
        try await roundTrip(conn, "pg_class", "'pg_class'", "name")
        try await roundTrip(conn, "ab  ", "'ab'", "char(4)")
        try await roundTrip(conn, Data([0, 1, 2, 0xFF]), "'\\x000102ff'", "bytea")
        try await roundTrip(conn, Data(), "''", "bytea")
        let uuid = UUID(uuidString: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")!
        try await roundTrip(conn, uuid, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "uuid")
    }

    @Test func numeric() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        for literal in ["0", "1", "-1", "12.3400", "0.0001", "-0.000012345", "10000", "99999999999999999999999999999999999999.123456789",
                        "123456789012345678901234567890.000000000000000000001", "NaN", "Infinity", "-Infinity", "1e-20", "5.5e30"] {
            let server = try await conn.execute("SELECT \(unescaped: "'\(literal)'")::numeric, \(unescaped: "'\(literal)'")::numeric::text").rows[0]
            let n = try server.decode(column: 0, as: PostgresNumeric.self)
            #expect(n.description == (try server.decode(column: 1, as: String.self)), "\(literal)")
            let same = try await conn.execute("SELECT \(n) = \(unescaped: "'\(literal)'")::numeric").rows[0].decode(column: 0, as: Bool.self)
            #expect(same, "\(literal)")
        }
        try await roundTrip(conn, Decimal(string: "12345.6789")!, "'12345.6789'", "numeric")
        try await roundTrip(conn, Decimal(string: "-0.5")!, "'-0.5'", "numeric")
        try await roundTrip(conn, Decimal(0), "'0'", "numeric")
        let tooBig = try await conn.execute("SELECT '1e100'::numeric").rows[0]
        #expect(throws: PostgresError.self) { try tooBig.decode(column: 0, as: Decimal.self) }
    }

    @Test func dateTime() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        _ = try await conn.simpleQuery("SET TimeZone = 'UTC'")
        try await roundTrip(conn, PostgresDate(year: 2024, month: 2, day: 29), "'2024-02-29'", "date")
        try await roundTrip(conn, PostgresDate(year: 1, month: 1, day: 1), "'0001-01-01'", "date")
        try await roundTrip(conn, PostgresDate(year: 1999, month: 12, day: 31), "'1999-12-31'", "date")
        try await roundTrip(conn, PostgresDate(daysSince2000: .max), "'infinity'", "date")
        #expect(PostgresDate(year: 2024, month: 2, day: 29).components == (2024, 2, 29))
        try await roundTrip(conn, PostgresTime(hour: 23, minute: 59, second: 59, microsecond: 999_999), "'23:59:59.999999'", "time")
        try await roundTrip(conn, PostgresTime(microseconds: 0), "'00:00'", "time")
        try await roundTrip(conn, PostgresTimeTZ(microseconds: 3_600_000_000, utcOffsetSeconds: 5 * 3600 + 1800), "'01:00:00+05:30'", "timetz")
        try await roundTrip(conn, PostgresTimestamp(microsecondsSince2000: 0), "'2000-01-01 00:00:00'", "timestamp")
        try await roundTrip(conn, PostgresTimestamp(microsecondsSince2000: -1), "'1999-12-31 23:59:59.999999'", "timestamp")
        try await roundTrip(conn, PostgresTimestamp(microsecondsSince2000: .max), "'infinity'", "timestamp")
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let fromServer = try await conn.execute("SELECT '2023-11-14 22:13:20.123456+00'::timestamptz").rows[0].decode(column: 0, as: Date.self)
        #expect(abs(fromServer.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000001)
        let eq = try await conn.execute("SELECT \(date) = '2023-11-14 22:13:20.123456+00'::timestamptz").rows[0].decode(column: 0, as: Bool.self)
        #expect(eq)
        try await roundTrip(conn, Date.distantFuture, "'infinity'", "timestamptz")
        try await roundTrip(conn, PostgresInterval(months: 14, days: 3, microseconds: 4_000_005), "'1 year 2 months 3 days 4.000005 seconds'", "interval")
        try await roundTrip(conn, PostgresInterval(months: -1, days: 0, microseconds: -1), "'-1 month -0.000001 seconds'", "interval")
    }

    struct Doc: Codable, Equatable, Sendable { var a: Int; var b: [String] }

    @Test func jsonNetworkAndArrays() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let doc = Doc(a: 1, b: ["x", "y"])
        let fromJSONB = try await conn.execute(#"SELECT '{"a":1,"b":["x","y"]}'::jsonb, '{"a":1,"b":["x","y"]}'::json"#).rows[0]
        #expect(try fromJSONB.decode(column: 0, as: PostgresJSON<Doc>.self).value == doc)
        #expect(try fromJSONB.decode(column: 1, as: PostgresJSON<Doc>.self).value == doc)
        let same = try await conn.execute(#"SELECT \#(PostgresJSON(doc)) = '{"a":1,"b":["x","y"]}'::jsonb"#).rows[0].decode(column: 0, as: Bool.self)
        #expect(same)
        #expect(try await conn.execute(#"SELECT '{"k": 1}'::jsonb"#).rows[0].decode(column: 0, as: String.self) == #"{"k": 1}"#)

        try await roundTrip(conn, PostgresInet("192.168.0.1")!, "'192.168.0.1'", "inet")
        try await roundTrip(conn, PostgresInet("10.0.0.0/8", isCIDR: true)!, "'10.0.0.0/8'", "cidr")
        try await roundTrip(conn, PostgresInet("2001:db8::1")!, "'2001:db8::1'", "inet")
        try await roundTrip(conn, PostgresInet("2001:db8::/32", isCIDR: true)!, "'2001:db8::/32'", "cidr")
        try await roundTrip(conn, PostgresMacAddress([0x08, 0x00, 0x2B, 0x01, 0x02, 0x03]), "'08:00:2b:01:02:03'", "macaddr")

        try await roundTrip(conn, [Int32(1), 2, 3], "'{1,2,3}'", "int4[]")
        try await roundTrip(conn, [Int64.min, Int64.max], "'{-9223372036854775808,9223372036854775807}'", "int8[]")
        try await roundTrip(conn, [String](), "'{}'", "text[]")
        try await roundTrip(conn, ["a", "b,c", "\"q\""], #"'{a,"b,c","\"q\""}'"#, "text[]")
        try await roundTrip(conn, [Int32?.some(1), nil, 3], "'{1,NULL,3}'", "int4[]")
        try await roundTrip(conn, [true, false], "'{t,f}'", "bool[]")
        try await roundTrip(conn, [1.5, -2.25], "'{1.5,-2.25}'", "float8[]")
        try await roundTrip(conn, [UUID(uuidString: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")!], "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", "uuid[]")
        try await roundTrip(conn, [PostgresNumeric("1.5"), PostgresNumeric("NaN")], "'{1.5,NaN}'", "numeric[]")
        try await roundTrip(conn, [PostgresDate(year: 2020, month: 1, day: 1)], "'{2020-01-01}'", "date[]")
        try await roundTrip(conn, [PostgresInet("::1")!], "'{::1}'", "inet[]")
        // Multi-dimensional.
        let md = try await conn.execute("SELECT '{{1,2,3},{4,NULL,6}}'::int4[]").rows[0].decode(column: 0, as: PostgresArray<Int32?>.self)
        #expect(md.dimensions == [2, 3])
        #expect(md.elements == [1, 2, 3, 4, nil, 6])
        let param = PostgresArrayParameter(dimensions: [2, 2], elements: [Int64(1), 2, 3, 4])
        let mdEq = try await conn.execute("SELECT \(param) = '{{1,2},{3,4}}'::int8[]").rows[0].decode(column: 0, as: Bool.self)
        #expect(mdEq)
    }

    @Test func rangesEnumsCompositesHstore() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        try await roundTrip(conn, PostgresRange<Int32>(lower: 1, upper: 10), "'[1,10)'", "int4range")
        try await roundTrip(conn, PostgresRange<Int64>(lower: nil, upper: 5), "'(,5)'", "int8range")
        try await roundTrip(conn, PostgresRange<Int64>.empty, "'empty'", "int8range")
        try await roundTrip(conn, PostgresRange<PostgresNumeric>(lower: "1.5", upper: "2.5", lowerInclusive: false, upperInclusive: true), "'(1.5,2.5]'", "numrange")
        try await roundTrip(conn, PostgresRange<PostgresDate>(lower: PostgresDate(year: 2020, month: 1, day: 1), upper: nil), "'[2020-01-01,)'", "daterange")

        // Enum and composite types resolved by OID lookup.
        let suffix = PeerEnvironment.uniqueName("t")
        _ = try await conn.simpleQuery("CREATE TYPE mood_\(suffix) AS ENUM ('sad', 'ok', 'happy'); CREATE TYPE pt_\(suffix) AS (x int4, label text, tags text[])")
        defer { Task { _ = try? await conn.simpleQuery("DROP TYPE mood_\(suffix); DROP TYPE pt_\(suffix)") } }
        let mood = try await conn.lookupType("mood_\(suffix)")
        #expect(mood.kind == .enumeration(labels: ["sad", "ok", "happy"]))
        let happy = PostgresEnumValue("happy", type: mood)
        let r = try await conn.execute("SELECT \(happy), \(happy) = 'happy'::mood_\(unescaped: suffix), 'ok'::mood_\(unescaped: suffix)").rows[0]
        #expect(try r.decode(column: 0, as: String.self) == "happy")
        #expect(try r.decode(column: 1, as: Bool.self))
        #expect(try r.decode(column: 2, as: String.self) == "ok")

        let pt = try await conn.lookupType("pt_\(suffix)")
        guard case .composite(let fields) = pt.kind else { Issue.record("not composite: \(pt.kind)"); return }
        #expect(fields.map(\.name) == ["x", "label", "tags"])
        #expect(fields.map(\.type) == [.int4, .text, .textArray])
        let rec = try await conn.execute("SELECT ROW(7, 'seven', ARRAY['a'])::pt_\(unescaped: suffix)").rows[0].decode(column: 0, as: PostgresRecord.self)
        #expect(rec.fields.count == 3)
        #expect(try rec.decode(field: 0, as: Int32.self) == 7)
        #expect(try rec.decode(field: 1, as: String.self) == "seven")
        #expect(try rec.decode(field: 2, as: [String].self) == ["a"])
        var comp = PostgresRecordValue(type: pt)
        comp.append(Int32(8)); comp.append("eight"); comp.append([String]?.none)
        let compEq = try await conn.execute("SELECT \(comp) = ROW(8, 'eight', NULL)::pt_\(unescaped: suffix)").rows[0].decode(column: 0, as: Bool.self)
        #expect(compEq)

        // hstore as text.
        let hs = try await conn.execute("SELECT 'a=>1, b=>NULL'::hstore::text, \(PostgresUntypedText("k=>v"))::hstore -> 'k'").rows[0]
        #expect(try hs.decode(column: 0, as: String.self) == #""a"=>"1", "b"=>NULL"#)
        #expect(try hs.decode(column: 1, as: String.self) == "v")
    }

    @Test func wrongTypesFailWithClearErrors() async throws {
        guard PeerEnvironment.hasPostgres else { return }
        let conn = try await PeerEnvironment.connect()
        defer { Task { await conn.close() } }
        let row = try await conn.execute("SELECT 1::int4 AS one, NULL::text AS nothing, 70000::int4 AS big").rows[0]
        do {
            _ = try row.decode(column: 0, as: String.self)
            Issue.record("int4 decoded as String")
        } catch let PostgresError.decoding(e) {
            #expect(e.kind == .typeMismatch && e.column == "one")
        }
        do {
            _ = try row.decode(column: 1, as: String.self)
        } catch let PostgresError.decoding(e) {
            #expect(e.kind == .unexpectedNull && e.column == "nothing")
        }
        #expect(throws: PostgresError.self) { try row.decode(column: 2, as: Int16.self) }
        #expect(throws: PostgresError.self) { try row.decode((Int32, String?).self) }
    }
}

extension PostgresQuery {
    /// Binds `value` as `$1` of an SQL text that already uses `$1`.
    func bindingFirst<T: PostgresEncodable>(_ value: T) -> PostgresQuery {
        var b = PostgresBindings()
        b.append(value)
        return PostgresQuery(unsafeSQL: sql, binds: b)
    }
}
