import NIOCore
import Testing
@testable import WireCore

@Suite struct VarintTests {
    @Test(arguments: [UInt64(0), 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max])
    func unsignedRoundTrip(value: UInt64) throws {
        var buffer = ByteBuffer()
        let n = buffer.writeUnsignedVarint(value)
        #expect(n == ByteBuffer.unsignedVarintSize(value))
        #expect(try buffer.readUnsignedVarint64() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func knownEncodings() throws {
        var buffer = ByteBuffer()
        buffer.writeUnsignedVarint(UInt64(300))
        #expect(Array(buffer.readableBytesView) == [0xAC, 0x02])
        buffer.clear()
        buffer.writeVarint(Int32(-1))
        #expect(Array(buffer.readableBytesView) == [0x01])
        buffer.clear()
        buffer.writeVarint(Int32(1))
        #expect(Array(buffer.readableBytesView) == [0x02])
        buffer.clear()
        buffer.writeVarlong(Int64.min)
        #expect(Array(buffer.readableBytesView) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    }

    @Test(arguments: [Int32.min, -64, -1, 0, 1, 63, 64, Int32.max])
    func zigzag32(value: Int32) throws {
        var buffer = ByteBuffer()
        buffer.writeVarint(value)
        #expect(try buffer.readVarint() == value)
    }

    @Test(arguments: [Int64.min, -1, 0, 1, Int64.max])
    func zigzag64(value: Int64) throws {
        var buffer = ByteBuffer()
        buffer.writeVarlong(value)
        #expect(try buffer.readVarlong() == value)
    }

    @Test func truncatedVarintLeavesReaderIndex() {
        var buffer = ByteBuffer(bytes: [0x80, 0x80])
        #expect(throws: WireDecodingError.self) { try buffer.readUnsignedVarint64() }
        #expect(buffer.readerIndex == 0)
    }

    @Test func overlongVarintsFail() {
        var eleven = ByteBuffer(bytes: Array(repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: WireDecodingError.varintTooLong(field: "varint")) { try eleven.readUnsignedVarint64() }
        var overflow64 = ByteBuffer(bytes: Array(repeating: 0xFF, count: 9) + [0x02])
        #expect(throws: WireDecodingError.varintOverflow(field: "varint")) { try overflow64.readUnsignedVarint64() }
        var overflow32 = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(throws: WireDecodingError.varintOverflow(field: "varint")) { try overflow32.readUnsignedVarint32() }
        var six = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: WireDecodingError.varintTooLong(field: "varint")) { try six.readUnsignedVarint32() }
    }
}

@Suite struct LengthPrefixedTests {
    @Test(arguments: [LengthPrefix.int16, .int32, .compact, .varint, .unsignedVarint])
    func stringRoundTrip(prefix: LengthPrefix) throws {
        var buffer = ByteBuffer()
        buffer.writeString("héllo ✓", prefix: prefix)
        buffer.writeString("", prefix: prefix)
        #expect(try buffer.readString(prefix: prefix) == "héllo ✓")
        #expect(try buffer.readString(prefix: prefix) == "")
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [LengthPrefix.int16, .int32, .compact, .varint])
    func nullRoundTrip(prefix: LengthPrefix) throws {
        var buffer = ByteBuffer()
        buffer.writeString(nil, prefix: prefix)
        buffer.writeBytes(nil as ByteBuffer?, prefix: prefix)
        #expect(try buffer.readNullableString(prefix: prefix) == nil)
        #expect(try buffer.readNullableBytes(prefix: prefix) == nil)
        buffer.writeString(nil, prefix: prefix)
        #expect(throws: WireDecodingError.unexpectedNull(field: "string")) { try buffer.readString(prefix: prefix) }
    }

    @Test func compactEncodingIsLengthPlusOne() {
        var buffer = ByteBuffer()
        buffer.writeString("abc", prefix: .compact)
        #expect(Array(buffer.readableBytesView) == [4, 0x61, 0x62, 0x63])
    }

    @Test func bytesRoundTrip() throws {
        var buffer = ByteBuffer()
        buffer.writeBytes([1, 2, 3] as [UInt8], prefix: .int32)
        let slice = try buffer.readBytes(prefix: .int32)
        #expect(Array(slice.readableBytesView) == [1, 2, 3])
    }

    @Test func truncatedBodyLeavesReaderIndex() {
        var buffer = ByteBuffer(bytes: [0, 0, 0, 10, 1, 2])
        #expect(throws: WireDecodingError.truncated(field: "bytes", needed: 10, available: 2)) {
            try buffer.readBytes(prefix: .int32)
        }
        #expect(buffer.readerIndex == 0)
    }

    @Test func oversizedAndNegativeLengths() {
        var big = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: WireDecodingError.lengthTooLarge(field: "bytes", length: Int(Int32.max), limit: 1024)) {
            try big.readBytes(prefix: .int32, maxLength: 1024)
        }
        var negative = ByteBuffer(bytes: [0xFF, 0xFE])
        #expect(throws: WireDecodingError.negativeLength(field: "string", length: -2)) {
            try negative.readString(prefix: .int16)
        }
        #expect(negative.readerIndex == 0)
    }

    @Test func invalidUTF8() {
        var buffer = ByteBuffer(bytes: [0, 2, 0xC3, 0x28])
        #expect(throws: WireDecodingError.invalidUTF8(field: "string")) { try buffer.readString(prefix: .int16) }
        #expect(buffer.readerIndex == 0)
    }

    /// ASCII takes a fast path; anything else goes through full validation: multi-byte text is
    /// kept exactly, and invalid bytes after an ASCII prefix (or a lone continuation byte, an
    /// overlong form, a surrogate) are rejected without moving the reader.
    @Test func checkedStringsAsciiAndMultiByte() throws {
        for text in ["", "SELECT 1", "héllo wörld", "chat 💬 ok", String(repeating: "a", count: 300) + "é"] {
            var buffer = ByteBuffer(bytes: Array(text.utf8))
            #expect(try buffer.readCheckedString(length: text.utf8.count) == text)
            #expect(buffer.readableBytes == 0)
        }
        for bad: [UInt8] in [Array("abc".utf8) + [0xFF], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], Array("ok".utf8) + [0xE2, 0x82]] {
            var buffer = ByteBuffer(bytes: bad)
            #expect(throws: WireDecodingError.invalidUTF8(field: "string")) { try buffer.readCheckedString(length: bad.count) }
            #expect(buffer.readerIndex == 0)
        }
    }

    @Test func cStrings() throws {
        var buffer = ByteBuffer()
        buffer.writeCString("user")
        buffer.writeCString("")
        #expect(try buffer.readCString() == "user")
        #expect(try buffer.readCString() == "")
        var unterminated = ByteBuffer(bytes: [0x61, 0x62])
        #expect(throws: WireDecodingError.missingTerminator(field: "cstring")) { try unterminated.readCString() }
        var long = ByteBuffer(bytes: [0x61, 0x62, 0x63, 0x64, 0])
        #expect(throws: WireDecodingError.self) { try long.readCString(maxLength: 2) }
        #expect(long.readerIndex == 0)
    }
}

@Suite struct BackoffTests {
    @Test func ceilingGrowsAndCaps() {
        let backoff = Backoff(base: .milliseconds(10), cap: .milliseconds(100), jitter: false)
        #expect(backoff.delay(forAttempt: 0) == .milliseconds(10))
        #expect(backoff.delay(forAttempt: 1) == .milliseconds(20))
        #expect(backoff.delay(forAttempt: 3) == .milliseconds(80))
        #expect(backoff.delay(forAttempt: 4) == .milliseconds(100))
        #expect(backoff.delay(forAttempt: 1000) == .milliseconds(100))
    }

    @Test func jitterStaysWithinCeiling() {
        let backoff = Backoff(base: .milliseconds(10), cap: .seconds(1))
        var seen = Set<Duration>()
        for attempt in 0..<200 {
            let d = backoff.delay(forAttempt: attempt % 8)
            #expect(d >= .zero && d <= backoff.ceiling(forAttempt: attempt % 8))
            seen.insert(d)
        }
        #expect(seen.count > 50, "full jitter must spread delays")
    }

    @Test func deadlineCancelsSlowOperation() async throws {
        await #expect(throws: DeadlineExceededError.self) {
            try await withDeadline(.after(.milliseconds(20))) {
                try await Task.sleep(for: .seconds(10))
                return 1
            }
        }
        let value = try await withDeadline(.after(.seconds(10))) { 42 }
        #expect(value == 42)
    }
}
