import NIOCore
import Testing
import WireCore
@testable import RedisWire

@Suite("RESP codec on bytes")
struct RESPCodecTests {
    func decodeAll(_ text: String, limits: RESPDecoderLimits = RESPDecoderLimits()) throws -> [RESPValue] {
        var buffer = ByteBuffer(string: text)
        let decoder = RESPDecoder(limits: limits)
        var values: [RESPValue] = []
        while let v = try decoder.decode(from: &buffer) { values.append(v) }
        #expect(buffer.readableBytes == 0, "left over: \(buffer.readableBytes) bytes")
        return values
    }

    @Test func resp2Types() throws {
        let values = try decodeAll("+OK\r\n-ERR bad\r\n:-42\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*2\r\n:1\r\n$1\r\nx\r\n")
        #expect(values == [
            .simpleString("OK"), .simpleError("ERR bad"), .integer(-42), .bulk("hello"), .bulk(""),
            .null, .null, .array([.integer(1), .bulk("x")]),
        ])
    }

    @Test func resp3Types() throws {
        let text = "_\r\n#t\r\n#f\r\n,3.25\r\n,inf\r\n,-inf\r\n(3492890328409238509324850943850943825024385\r\n"
            + "!21\r\nSYNTAX invalid syntax\r\n=15\r\ntxt:Some string\r\n%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"
            + "~2\r\n+a\r\n+b\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nmsg\r\n"
            + "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n"
        let values = try decodeAll(text)
        #expect(values.count == 13)
        #expect(values[0] == .null)
        #expect(values[1] == .boolean(true))
        #expect(values[2] == .boolean(false))
        #expect(values[3] == .double(3.25))
        #expect(values[4] == .double(.infinity))
        #expect(values[5] == .double(-.infinity))
        #expect(values[6] == .bigNumber("3492890328409238509324850943850943825024385"))
        #expect(values[7] == .bulkError("SYNTAX invalid syntax"))
        #expect(values[8] == .verbatimString(format: "txt", text: "Some string"))
        #expect(values[9] == .map([RESPMapEntry(key: .simpleString("first"), value: .integer(1)),
                                   RESPMapEntry(key: .simpleString("second"), value: .integer(2))]))
        #expect(values[10] == .set([.simpleString("a"), .simpleString("b")]))
        #expect(values[11] == .push([.bulk("message"), .bulk("ch"), .bulk("msg")]))
        #expect(values[12] == .attributed(
            attributes: [RESPMapEntry(key: .simpleString("key-popularity"),
                                      value: .map([RESPMapEntry(key: .bulk("a"), value: .double(0.19))]))],
            value: .array([.integer(2)])))
        #expect(values[12].withoutAttributes == .array([.integer(2)]))
        // NaN does not compare equal; check separately.
        let nan = try decodeAll(",nan\r\n")
        if case .double(let d) = nan[0] { #expect(d.isNaN) } else { Issue.record("expected a double") }
    }

    @Test func streamedStringsAndAggregates() throws {
        let values = try decodeAll("$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n*?\r\n:1\r\n:2\r\n.\r\n%?\r\n+a\r\n:1\r\n.\r\n")
        #expect(values == [.bulk("Hello word"), .array([.integer(1), .integer(2)]),
                           .map([RESPMapEntry(key: .simpleString("a"), value: .integer(1))])])
    }

    @Test func incompleteInputWaitsAtEveryByte() throws {
        let full = "*3\r\n$3\r\nfoo\r\n%1\r\n+k\r\n~1\r\n,1.5\r\n=7\r\ntxt:abc\r\n"
        let bytes = Array(full.utf8)
        let decoder = RESPDecoder()
        for cut in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[0..<cut])
            #expect(try decoder.decode(from: &buffer) == nil, "cut at \(cut)")
            #expect(buffer.readerIndex == 0)
        }
        var buffer = ByteBuffer(bytes: bytes)
        let v = try decoder.decode(from: &buffer)
        #expect(v == .array([.bulk("foo"),
                             .map([RESPMapEntry(key: .simpleString("k"), value: .set([.double(1.5)]))]),
                             .verbatimString(format: "txt", text: "abc")]))
    }

    @Test func decodeValuesMatchesOneAtATimeAtEveryCut() throws {
        // A pipeline's replies: several values back to back, cut at every byte.
        let full = "+OK\r\n$3\r\nxxx\r\n$-1\r\n:42\r\n-ERR boom\r\n*2\r\n$1\r\na\r\n%1\r\n+k\r\n:1\r\n_\r\n>2\r\n+p\r\n+q\r\n"
        let bytes = Array(full.utf8)
        let expected = try decodeAll(full)
        #expect(expected.count == 8)
        let decoder = RESPDecoder()
        for cut in 0...bytes.count {
            var oneByOne = ByteBuffer(bytes: bytes[0..<cut])
            var reference: [RESPValue] = []
            while let v = try decoder.decode(from: &oneByOne) { reference.append(v) }
            var batch = ByteBuffer(bytes: bytes[0..<cut])
            var values: [RESPValue] = []
            try decoder.decodeValues(from: &batch) { values.append($0); return true }
            #expect(values == reference, "cut at \(cut)")
            #expect(batch.readerIndex == oneByOne.readerIndex, "cut at \(cut)")
            // The rest decodes once the remaining bytes arrive.
            batch.writeBytes(bytes[cut...])
            try decoder.decodeValues(from: &batch) { values.append($0); return true }
            #expect(values == expected, "cut at \(cut)")
            #expect(batch.readableBytes == 0)
        }
        // Stopping early leaves the rest in the buffer.
        var buffer = ByteBuffer(bytes: bytes)
        var first: [RESPValue] = []
        try decoder.decodeValues(from: &buffer) { first.append($0); return first.count < 2 }
        #expect(first == Array(expected.prefix(2)))
        #expect(try decoder.decode(from: &buffer) == expected[2])
        // Malformed input: the values before it are handed over, then it throws.
        var bad = ByteBuffer(string: ":1\r\n:2\r\n?\r\n:3\r\n")
        var before: [RESPValue] = []
        #expect(throws: WireDecodingError.self) { try decoder.decodeValues(from: &bad) { before.append($0); return true } }
        #expect(before == [.integer(1), .integer(2)])
    }

    @Test func limitsAreEnforced() throws {
        let limits = RESPDecoderLimits(maxBulkLength: 10, maxAggregateLength: 4, maxDepth: 3, maxLineLength: 16)
        let decoder = RESPDecoder(limits: limits)
        func fails(_ text: String) -> WireDecodingError? {
            var b = ByteBuffer(string: text)
            do { _ = try decoder.decode(from: &b); return nil } catch { return error }
        }
        #expect(fails("$11\r\n") == .lengthTooLarge(field: "bulk string length", length: 11, limit: 10))
        #expect(fails("*5\r\n") == .lengthTooLarge(field: "array length", length: 5, limit: 4))
        #expect(fails("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n") == .invalidValue(field: "array", reason: "nesting deeper than 3"))
        #expect(fails("+" + String(repeating: "a", count: 40)) == .lengthTooLarge(field: "simple string", length: 40, limit: 16))
        #expect(fails("$-2\r\n") == .negativeLength(field: "bulk string length", length: -2))
        var overflow = ByteBuffer(string: ":99999999999999999999\r\n")
        #expect(throws: WireDecodingError.varintOverflow(field: "integer")) { _ = try RESPDecoder().decode(from: &overflow) }
        #expect(fails(":12a\r\n") != nil)
        #expect(fails("$3\r\nabcd\r\n") != nil)
        #expect(fails("?\r\n") != nil)
        #expect(fails("#x\r\n") != nil)
        #expect(fails(",abc\r\n") != nil)
        #expect(fails("+a\rb\r\n") != nil)
        #expect(fails("=2\r\nab\r\n") != nil)
        #expect(fails("(12x\r\n") != nil)
        #expect(fails("_x\r\n") != nil)
        // A huge declared count with little data never pre-allocates and reports incomplete.
        var big = ByteBuffer(string: "*4\r\n:1\r\n")
        #expect(try decoder.decode(from: &big) == nil)
    }

    @Test func encoderRoundTripsEveryType() throws {
        let values: [RESPValue] = [
            .simpleString("OK"), .simpleError("ERR x"), .integer(Int64.min), .integer(Int64.max), .integer(0),
            .bulk("bin\r\nary"), .null, .double(-1.5e300), .double(.infinity), .boolean(true), .boolean(false),
            .bigNumber("-123456789012345678901234567890"), .bulkError("SYNTAX x"), .verbatimString(format: "mkd", text: "# hi"),
            .array([.integer(1), .array([])]), .map([RESPMapEntry(key: .bulk("k"), value: .set([.null]))]),
            .push([.bulk("invalidate"), .array([.bulk("k")])]),
            .attributed(attributes: [RESPMapEntry(key: .simpleString("ttl"), value: .integer(3))], value: .integer(7)),
        ]
        var buffer = ByteBuffer()
        for v in values { RESPEncoder.encode(v, into: &buffer) }
        let decoder = RESPDecoder()
        for v in values {
            #expect(try decoder.decode(from: &buffer) == v)
        }
        #expect(buffer.readableBytes == 0)
    }

    @Test func commandEncoding() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(RedisCommand("SET", "key", .integer(-12), .double(2.5), .bytes(ByteBuffer(string: "é"))), into: &buffer)
        #expect(String(buffer: buffer) == "*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n-12\r\n$3\r\n2.5\r\n$2\r\né\r\n")
    }

    /// The single-pass command writer against a field-by-field reference built from each
    /// argument's wire bytes: every argument kind, 0 to 18 arguments (one- and two-digit
    /// counts), multi-byte UTF-8, a sliced ByteBuffer, integer extremes, doubles.
    @Test func commandWriterMatchesFieldByFieldReference() {
        var sliced = ByteBuffer(string: "--payload")
        sliced.moveReaderIndex(forwardBy: 2)
        let arguments: [RedisArgument] = [
            .string(""), .string("k"), .string("key:__rand_int__"), .string("é漢字\r\n"), .string(String(repeating: "x", count: 10_000)),
            .bytes(sliced), .bytes(ByteBuffer()), .integer(0), .integer(9), .integer(10), .integer(-1), .integer(-10),
            .integer(Int64.min), .integer(Int64.max), .double(0.1), .double(-.infinity), .double(.infinity), .double(-1e300),
        ]
        func reference(_ command: RedisCommand) -> ByteBuffer {
            var b = ByteBuffer()
            b.writeString("*\(command.arguments.count)\r\n")
            for argument in command.arguments {
                let payload = argument.bytes
                b.writeString("$\(payload.count)\r\n")
                b.writeBytes(payload)
                b.writeString("\r\n")
            }
            return b
        }
        let commands = (0...arguments.count).map { RedisCommand("CMD\($0)", Array(arguments.prefix($0))) }
        var expectedAll = ByteBuffer()
        for command in commands {
            var ours = ByteBuffer(string: "prefix")   // appends after what is already there
            RESPEncoder.encode(command, into: &ours)
            var expected = ByteBuffer(string: "prefix")
            var ref = reference(command)
            #expect(RESPEncoder.encodedLength(command) == ref.readableBytes)
            expectedAll.writeImmutableBuffer(ref)
            expected.writeBuffer(&ref)
            #expect(ours == expected, "\(command.arguments.count) arguments")
        }
        var all = ByteBuffer()
        RESPEncoder.encode(commands, into: &all)
        #expect(all == expectedAll)
        #expect(RESPEncoder.encodedLength(commands) == expectedAll.readableBytes)
        // What the server reads back: an array of bulk strings holding each argument's bytes.
        let decoder = RESPDecoder()
        for command in commands {
            let value = try? decoder.decode(from: &all)
            #expect(value == .array(command.arguments.map { .bulkString(ByteBuffer(bytes: $0.bytes)) }))
        }
        #expect(all.readableBytes == 0)
    }

    @Test func okFastPathAndOtherSimpleStrings() throws {
        var buffer = ByteBuffer(string: "+OK\r\n+OKAY\r\n+O\r\n+\r\n+ok\r\n")
        let decoder = RESPDecoder()
        for expected in ["OK", "OKAY", "O", "", "ok"] {
            #expect(try decoder.decode(from: &buffer) == .simpleString(expected))
        }
        var split = ByteBuffer(string: "+OK\r")
        #expect(try decoder.decode(from: &split) == nil)
        #expect(split.readerIndex == 0)
    }
}
