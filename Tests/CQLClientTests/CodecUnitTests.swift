import NIOCore
import Testing
import WireCore
@testable import CQLClient

/// Byte-level unit tests: no network, no peers.
@Suite("CQL codec and state machine units")
struct CodecUnitTests {
    @Test("frame decoder: incomplete input waits, hostile headers throw, reader index untouched")
    func frameDecoderRejectsHostileInput() throws {
        var partial = ByteBuffer(bytes: [0x84, 0, 0, 1, 0x08, 0, 0, 0, 4, 0, 0])
        #expect(try CQLFrame.decode(from: &partial) == nil)
        #expect(partial.readerIndex == 0)
        var negative = ByteBuffer(bytes: [0x84, 0, 0, 1, 0x08, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(throws: WireDecodingError.self) { _ = try CQLFrame.decode(from: &negative) }
        #expect(negative.readerIndex == 0)
        var huge = ByteBuffer(bytes: [0x84, 0, 0, 1, 0x08, 0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: WireDecodingError.self) { _ = try CQLFrame.decode(from: &huge) }
        var opcode = ByteBuffer(bytes: [0x84, 0, 0, 1, 0x42, 0, 0, 0, 0])
        #expect(throws: WireDecodingError.self) { _ = try CQLFrame.decode(from: &opcode) }
    }

    @Test("rows with a cell length beyond the body are rejected before any cell is read")
    func rowsNeverTrustLengths() throws {
        var body = ByteBuffer()
        body.writeInteger(Int32(2))                 // Rows
        body.writeInteger(Int32(1))                 // global spec
        body.writeInteger(Int32(1))                 // one column
        body.writeCQLString("ks"); body.writeCQLString("t"); body.writeCQLString("k")
        CQLDataType.int.encode(into: &body)
        body.writeInteger(Int32(1_000_000))         // claims a million rows
        body.writeInteger(Int32(4)); body.writeInteger(Int32(7))
        #expect(throws: WireDecodingError.self) { _ = try CQLResult.decode(from: &body, version: .v4) }
    }

    @Test("segment checksums: a flipped bit in the header or payload is detected")
    func segmentChecksums() throws {
        var frame = ByteBuffer()
        CQLOptionsRequest().encodeFrame(stream: 1, version: .v5, into: &frame)
        var segment = ByteBuffer()
        try CQLSegmentCodec(compressed: false).encode(frame, into: &segment)
        for position in [0, 4, segment.readableBytes - 6] {
            var corrupt = segment
            corrupt.setInteger(corrupt.getInteger(at: position, as: UInt8.self)! ^ 0x10, at: position)
            #expect(throws: CQLFramingError.self) { _ = try CQLSegmentCodec(compressed: false).decodeSegment(from: &corrupt) }
        }
        var ok = segment
        #expect(try CQLSegmentCodec(compressed: false).decodeSegment(from: &ok)?.isSelfContained == true)
    }

    @Test("stream ids: 32768 in flight, reuse after release, unknown ids refused")
    func streamIDs() {
        var pool = CQLStreamIDPool()
        var ids = Set<Int16>()
        while let id = pool.acquire() { ids.insert(id) }
        #expect(ids.count == 32768 && pool.inFlight == 32768)
        let released = pool.release(100)
        let releasedTwice = pool.release(100)
        let reacquired = pool.acquire()
        let negative = pool.release(-1)
        #expect(released && !releasedTwice && reacquired == 100 && !negative)
    }

    @Test("handshake: v5 rejected -> retry v4; compression chosen from SUPPORTED; auth; USE and REGISTER")
    func handshake() {
        var machine = CQLHandshakeStateMachine(version: .v5, preferredCompression: .lz4, keyspace: nil, events: [], hasAuthenticator: false)
        _ = machine.start()
        let rejected = CQLServerError(code: 0x0A, message: "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)", kind: .protocolError)
        guard case .retryWithVersion(.v4) = machine.received(.error(rejected)).first else { Issue.record("expected a v4 retry"); return }

        var v4 = CQLHandshakeStateMachine(version: .v4, preferredCompression: .snappy, keyspace: "chat", events: [.schemaChange], hasAuthenticator: true)
        _ = v4.start()
        guard case .sendStartup(let options) = v4.received(.supported(["COMPRESSION": ["lz4", "snappy"]])).first else { Issue.record("startup"); return }
        #expect(options.compression == .snappy)
        let afterStartup = v4.received(.authenticate(authenticator: "org.apache.cassandra.auth.PasswordAuthenticator"))
        #expect(afterStartup.count == 2)
        guard case .answerChallenge = v4.received(.authChallenge(token: [1])).first else { Issue.record("challenge"); return }
        guard case .sendUse(let ks) = v4.received(.authSuccess(token: nil)).first, ks == "chat" else { Issue.record("use"); return }
        guard case .sendRegister = v4.received(.result(.setKeyspace("chat"))).first else { Issue.record("register"); return }
        guard case .ready(let compression) = v4.received(.ready).first, compression == .snappy else { Issue.record("ready"); return }

        // snappy does not exist on v5
        var v5 = CQLHandshakeStateMachine(version: .v5, preferredCompression: .snappy, keyspace: nil, events: [], hasAuthenticator: false)
        _ = v5.start()
        guard case .sendStartup(let v5Options) = v5.received(.supported(["COMPRESSION": ["snappy"]])).first else { Issue.record("v5 startup"); return }
        #expect(v5Options.compression == nil)
    }

    @Test("varint, decimal, inet, date text forms")
    func valueTextForms() {
        #expect(CQLVarint("-123456789012345678901234567890")!.description == "-123456789012345678901234567890")
        #expect(CQLVarint(-129).bytes == [0xFF, 0x7F])
        #expect(CQLVarint(128).bytes == [0x00, 0x80])
        #expect(CQLDecimal("-0.001")!.description == "-0.001")
        #expect(CQLDecimal(unscaled: CQLVarint(5), scale: -3).description == "5000")
        #expect(CQLInet("2001:db8::ff00:42:8329")!.description == "2001:db8::ff00:42:8329")
        #expect(CQLInet("::")!.bytes == [UInt8](repeating: 0, count: 16))
        #expect(CQLInet("1.2.3") == nil)
        #expect(CQLDate(year: 2024, month: 2, day: 29).description == "2024-02-29")
        #expect(CQLDate(year: 1969, month: 12, day: 31).daysSinceEpoch == -1)
    }

    @Test("interpolated values become bind markers, never text")
    func interpolation() {
        let id = "x'); DROP TABLE t; --"
        let query: CQLQuery = "SELECT * FROM t WHERE k = \(id) AND n > \(Int32(3))"
        #expect(query.text == "SELECT * FROM t WHERE k = ? AND n > ?")
        #expect(query.values == [.text(id), .int(3)])
    }
}
