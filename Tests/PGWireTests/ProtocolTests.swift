import Foundation
import NIOCore
@testable import PGWire
import Testing
import WireCore

@Suite struct ProtocolTests {
    func frame(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        let len = UInt32(body.count + 4)
        return [type.asciiValue!, UInt8(len >> 24), UInt8(len >> 16 & 0xFF), UInt8(len >> 8 & 0xFF), UInt8(len & 0xFF)] + body
    }

    @Test func encodesStartupAndQuery() throws {
        var b = ByteBuffer()
        try FrontendMessage.startup(parameters: ["user": "u", "database": "d"]).encode(into: &b)
        #expect(b.readInteger(as: Int32.self) == Int32(b.readableBytes + 4))
        #expect(b.readInteger(as: Int32.self) == 196_608)
        #expect(try b.readCString() == "database")
        #expect(try b.readCString() == "d")
        #expect(try b.readCString() == "user")
        #expect(try b.readCString() == "u")
        #expect(b.readInteger(as: UInt8.self) == 0)
        #expect(b.readableBytes == 0)

        var q = ByteBuffer()
        try FrontendMessage.query("SELECT 1").encode(into: &q)
        #expect(Array(q.readableBytesView) == frame("Q", Array("SELECT 1".utf8) + [0]))
    }

    @Test func rejectsNulInStrings() {
        var b = ByteBuffer()
        #expect(throws: PostgresProtocolError.nulInString(field: "query")) {
            try FrontendMessage.query("SELECT \u{0}").encode(into: &b)
        }
    }

    @Test func encodesBindExecuteSync() throws {
        var binds = PostgresBindings()
        binds.append(Int32(7))
        binds.append(String?.none)
        var b = ByteBuffer()
        try FrontendMessage.bind(PostgresBindMessage(statement: "s1", parameterFormats: binds.formatsForBind,
                                                     parameterCount: binds.count, parameterData: binds.bytes,
                                                     resultFormats: [.binary])).encode(into: &b)
        let expected: [UInt8] = [0] + Array("s1".utf8) + [0] + [0, 1, 0, 1] + [0, 2] + [0, 0, 0, 4, 0, 0, 0, 7] + [0xFF, 0xFF, 0xFF, 0xFF] + [0, 1, 0, 1]
        #expect(Array(b.readableBytesView) == frame("B", expected))
    }

    @Test func bindFormatsAreOneCodeWhileAllBinaryAndPerParameterOtherwise() {
        var binary = PostgresBindings()
        binary.append(Int32(1))
        binary.appendNull()
        #expect(binary.formats == [.binary, .binary])
        var b = ByteBuffer()
        binary.writeBindParameters(into: &b)
        #expect(Array(b.readableBytesView.prefix(6)) == [0, 1, 0, 1, 0, 2])

        var mixed = PostgresBindings()
        mixed.append(Int32(1))
        mixed.append(PostgresUntypedText("x"))
        mixed.appendNull()
        #expect(mixed.formats == [.binary, .text, .binary])
        #expect(mixed.types == [.int4, .unspecified, .unspecified])
        var m = ByteBuffer()
        mixed.writeBindParameters(into: &m)
        #expect(Array(m.readableBytesView.prefix(10)) == [0, 3, 0, 1, 0, 0, 0, 1, 0, 3])
        #expect(mixed != binary)

        var none = ByteBuffer()
        PostgresBindings().writeBindParameters(into: &none)
        #expect(Array(none.readableBytesView) == [0, 0, 0, 0])
    }

    @Test func interpolationNumbersPlaceholdersPastNine() {
        let v = Int64(5)
        let q: PostgresQuery = "SELECT \(v), \(v), \(v), \(v), \(v), \(v), \(v), \(v), \(v), \(v), \(v) + \(v)"
        #expect(q.sql == "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 + $12")
        #expect(q.binds.count == 12)
    }

    @Test func decodesEveryBackendMessageRoundTrip() throws {
        var row = ByteBuffer()
        row.writeInteger(Int32(2)); row.writeString("hi"); row.writeInteger(Int32(-1))
        let messages: [BackendMessage] = [
            .authentication(.ok), .authentication(.md5Password(salt: [1, 2, 3, 4])),
            .authentication(.sasl(mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"])),
            .authentication(.saslContinue(Array("r=abc".utf8))), .authentication(.saslFinal(Array("v=x".utf8))),
            .backendKeyData(processID: 42, secretKey: -7), .bindComplete, .closeComplete, .parseComplete, .noData,
            .emptyQueryResponse, .portalSuspended, .copyDone, .commandComplete("SELECT 1"),
            .copyData(ByteBuffer(string: "a\tb\n")), .copyInResponse(CopyResponse(format: .text, columnFormats: [.text, .text])),
            .copyOutResponse(CopyResponse(format: .binary, columnFormats: [.binary])),
            .dataRow(DataRow(columnCount: 2, bytes: row)),
            .errorResponse(PostgresMessageFields([UInt8(ascii: "S"): "ERROR", UInt8(ascii: "C"): "42P01", UInt8(ascii: "M"): "nope"])),
            .noticeResponse(PostgresMessageFields([UInt8(ascii: "S"): "NOTICE", UInt8(ascii: "M"): "hi"])),
            .notification(processID: 9, channel: "ch", payload: "p"), .parameterDescription([.int4, .text]),
            .parameterStatus(name: "TimeZone", value: "UTC"), .readyForQuery(.inTransaction),
            .rowDescription([PostgresColumn(name: "a", tableOID: 1, columnAttributeNumber: 2, dataType: .int8, dataTypeSize: 8, typeModifier: -1, format: .binary)]),
            .negotiateProtocolVersion(newestMinor: 0, unrecognizedOptions: ["_pq_.x"]),
        ]
        var stream = ByteBuffer()
        for m in messages { m.encode(into: &stream) }
        // Feed byte by byte: partial frames return nil and consume nothing.
        var decoded: [BackendMessage] = []
        var partial = ByteBuffer()
        var view = stream
        while let byte = view.readInteger(as: UInt8.self) {
            partial.writeInteger(byte)
            while let m = try BackendMessage.decode(from: &partial) { decoded.append(m) }
        }
        #expect(decoded == messages)
        #expect(partial.readableBytes == 0)
    }

    @Test func rejectsHostileLengths() throws {
        // Length smaller than 4.
        var b = ByteBuffer(bytes: [UInt8(ascii: "Z"), 0, 0, 0, 3, 0])
        #expect(throws: PostgresProtocolError.invalidLength(messageType: UInt8(ascii: "Z"), length: 3)) { try BackendMessage.decode(from: &b) }
        #expect(b.readerIndex == 0)
        // Over the limit.
        var big = ByteBuffer(bytes: [UInt8(ascii: "D"), 0x7F, 0, 0, 0])
        #expect(throws: PostgresProtocolError.self) { try BackendMessage.decode(from: &big, maximumMessageSize: 1024) }
        // DataRow whose cell length runs past the message.
        var row = ByteBuffer(bytes: frame("D", [0, 1, 0, 0, 0, 9, 1, 2]))
        #expect(throws: PostgresProtocolError.self) { try BackendMessage.decode(from: &row) }
        #expect(row.readerIndex == 0)
        // RowDescription claiming more fields than bytes.
        var rd = ByteBuffer(bytes: frame("T", [0x7F, 0xFF]))
        #expect(throws: PostgresProtocolError.self) { try BackendMessage.decode(from: &rd) }
        // Trailing bytes after ReadyForQuery's status.
        var z = ByteBuffer(bytes: frame("Z", [UInt8(ascii: "I"), 0]))
        #expect(throws: PostgresProtocolError.trailingBytes(message: "ReadyForQuery", count: 1)) { try BackendMessage.decode(from: &z) }
        // Unknown type.
        var u = ByteBuffer(bytes: frame("?", []))
        #expect(throws: PostgresProtocolError.unknownMessageType(UInt8(ascii: "?"))) { try BackendMessage.decode(from: &u) }
        // Bad transaction status.
        var s = ByteBuffer(bytes: frame("Z", [UInt8(ascii: "X")]))
        #expect(throws: PostgresProtocolError.self) { try BackendMessage.decode(from: &s) }
    }

    @Test func scramUsesWireCoreWithPostgresConventions() throws {
        // PostgreSQL sends an empty SCRAM user name (the startup user counts) and SASLprep'd
        // passwords; the exchange itself is WireCore's SCRAMClient (RFC vectors in WireCoreTests).
        var sm = ConnectionStateMachine<StateMachineTests.Req>(parameters: StartupParameters(
            user: "u", database: "d", password: "pen\u{00AD}cil", options: [:], tlsMode: .disable, requireChannelBinding: false))
        _ = sm.connected()
        guard case .write(let first) = sm.received(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"]))),
              case .saslInitialResponse(let mechanism, let data) = first[0] else { Issue.record("no SASLInitialResponse"); return }
        #expect(mechanism == "SCRAM-SHA-256")
        let clientFirst = String(decoding: data, as: UTF8.self)
        #expect(clientFirst.hasPrefix("n,,n=,r="))
        let nonce = String(clientFirst.dropFirst("n,,n=,r=".count))
        let serverFirst = "r=\(nonce)srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        guard case .write(let final) = sm.received(.authentication(.saslContinue(Array(serverFirst.utf8)))),
              case .saslResponse(let proof) = final[0] else { Issue.record("no SASLResponse"); return }
        // The soft hyphen is mapped to nothing: the proof is the one for "pencil".
        var reference = try SCRAMClient(hash: .sha256, username: "", password: "pencil", nonce: nonce)
        #expect(proof == Array(try reference.clientFinalMessage(serverFirst: serverFirst).utf8))
        // A forged server signature fails startup with a SCRAM error.
        guard case .startupFailed(.scram(.serverSignatureMismatch)) = sm.received(.authentication(.saslFinal(Array("v=AAAA".utf8)))) else {
            Issue.record("forged server signature accepted"); return
        }
    }

    @Test func md5KnownAnswer() {
        // md5(md5("secret" + "user") + salt) computed with PostgreSQL's algorithm.
        let h = PostgresMD5.hash(user: "user", password: "secret", salt: [1, 2, 3, 4])
        #expect(h == "md5fccef98e4f1cf6cbe96b743fad4e8bd0")
        #expect(h != PostgresMD5.hash(user: "user", password: "secret", salt: [1, 2, 3, 5]))
    }
}
