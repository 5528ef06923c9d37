import NIOCore
import Testing
import WireCore

/// Regressions found by the `BufferReaders` fuzz target (Fuzz/BufferReaders).
@Suite("Reader index regressions (fuzz findings)")
struct ReaderIndexRegressionTests {
    @Test("A null where a non-null string or bytes is required leaves the reader index alone",
          arguments: [LengthPrefix.int16, .int32, .compact, .varint])
    func nullDoesNotConsumePrefix(prefix: LengthPrefix) {
        var buffer = ByteBuffer()
        buffer.writeLengthPrefix(prefix, nil)
        buffer.writeBytes([1, 2, 3])
        let before = buffer.readerIndex
        #expect(throws: WireDecodingError.self) { _ = try buffer.readString(prefix: prefix) }
        #expect(buffer.readerIndex == before)
        #expect(throws: WireDecodingError.self) { _ = try buffer.readBytes(prefix: prefix) }
        #expect(buffer.readerIndex == before)
    }
}
