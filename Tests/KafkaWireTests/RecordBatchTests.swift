import NIOCore
import Testing
import WireCore
@testable import KafkaWire

@Suite("Record batches")
struct RecordBatchTests {
    func makeWriter() -> KafkaRecordBatchWriter {
        var w = KafkaRecordBatchWriter()
        w.append(KafkaOutgoingRecord(key: ByteBuffer(string: "k1"), value: ByteBuffer(string: "hello"), headers: [KafkaHeader(key: "h", value: [1, 2])], timestamp: 1_700_000_000_000))
        w.append(KafkaOutgoingRecord(key: nil, value: nil, headers: [KafkaHeader(key: "n", value: nil as [UInt8]?)], timestamp: 1_700_000_000_005))
        w.append(KafkaOutgoingRecord(key: ByteBuffer(string: "k3"), value: ByteBuffer(repeating: 0x61, count: 1000), timestamp: 1_699_999_999_999))
        return w
    }

    @Test("Header layout: magic 2, batch length, CRC32C over attributes..end, counts, producer fields")
    func headerLayout() throws {
        let w = makeWriter()
        let b = try w.finished(producerID: 42, producerEpoch: 3, baseSequence: 7, isTransactional: true)
        #expect(b.getInteger(at: 0, as: Int64.self) == 0)
        #expect(Int(b.getInteger(at: 8, as: Int32.self)!) == b.readableBytes - 12)
        #expect(b.getInteger(at: 16, as: Int8.self) == 2)
        let crc = b.getInteger(at: 17, as: UInt32.self)!
        let computed = b.getSlice(at: 21, length: b.readableBytes - 21)!.withUnsafeReadableBytes { CRC32C.checksum($0) }
        #expect(crc == computed)
        #expect(b.getInteger(at: 21, as: Int16.self) == 0x10)  // transactional, uncompressed
        #expect(b.getInteger(at: 23, as: Int32.self) == 2)     // last offset delta
        #expect(b.getInteger(at: 27, as: Int64.self) == 1_700_000_000_000)
        #expect(b.getInteger(at: 35, as: Int64.self) == 1_700_000_000_005)
        #expect(b.getInteger(at: 43, as: Int64.self) == 42)
        #expect(b.getInteger(at: 51, as: Int16.self) == 3)
        #expect(b.getInteger(at: 53, as: Int32.self) == 7)
        #expect(b.getInteger(at: 57, as: Int32.self) == 3)
        // First record: length varint, attributes 0, ts delta 0, offset delta 0, key len 2 (zigzag 4)
        #expect(Array(b.getBytes(at: 61, length: 6)!) == [UInt8(w.records.getInteger(at: 0, as: UInt8.self)!), 0, 0, 0, 4, UInt8(ascii: "k")])
    }

    @Test("Round trip with every codec", arguments: KafkaCompression.allCases)
    func roundTrip(_ compression: KafkaCompression) throws {
        let w = makeWriter()
        var out = ByteBuffer()
        try w.finish(into: &out, compression: compression, baseOffset: 100)
        #expect(out.getInteger(at: 21, as: Int16.self)! & 7 == Int16(compression.rawValue))
        let batches = try KafkaRecordBatchDecoder.decode(out)
        #expect(batches.count == 1)
        let r = batches[0].records
        #expect(r.map(\.offset) == [100, 101, 102])
        #expect(r.map(\.timestamp) == [1_700_000_000_000, 1_700_000_000_005, 1_699_999_999_999])
        #expect(r[0].key == ByteBuffer(string: "k1") && r[0].value == ByteBuffer(string: "hello"))
        #expect(r[0].headers == [KafkaHeader(key: "h", value: [1, 2])])
        #expect(r[1].key == nil && r[1].value == nil && r[1].headers == [KafkaHeader(key: "n", value: nil as [UInt8]?)])
        #expect(r[2].value == ByteBuffer(repeating: 0x61, count: 1000))
    }

    @Test("finishInPlace (no copy) writes the same bytes as finish(into:)")
    func finishInPlace() throws {
        var w = makeWriter()
        let copied = try w.finished(producerID: 5, producerEpoch: 1, baseSequence: 9)
        let inPlace = w.finishInPlace(producerID: 5, producerEpoch: 1, baseSequence: 9)
        #expect(inPlace == copied)
        // Appending after finishing keeps working (the shared storage is copied on write).
        w.append(KafkaOutgoingRecord(key: nil, value: ByteBuffer(string: "x"), timestamp: 1_700_000_000_010))
        #expect(try KafkaRecordBatchDecoder.decode(w.finishInPlace()).flatMap(\.records).count == 4)
        #expect(try KafkaRecordBatchDecoder.decode(inPlace).flatMap(\.records).count == 3)
    }

    @Test("Raw-memory varints match ByteBuffer's, both ways")
    func rawVarints() throws {
        let values: [Int64] = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, Int64(Int32.max), Int64(Int32.min), Int64.max, Int64.min, 1_700_000_000_000]
        for v in values {
            var expected = ByteBuffer()
            expected.writeVarlong(v)
            var raw = [UInt8](repeating: 0, count: 10)
            var n = 0
            raw.withUnsafeMutableBytes { RawVarint.writeZigZag(v, to: $0.baseAddress!, at: &n) }
            #expect(Array(raw[0..<n]) == Array(expected.readableBytesView))
            #expect(RawVarint.zigZagSize(v) == n)
            var i = 0
            let back = raw.withUnsafeBytes { RawVarint.readZigZag64($0, at: &i, end: n) }
            #expect(back == v && i == n)
            if let v32 = Int32(exactly: v) {
                i = 0
                #expect(raw.withUnsafeBytes { RawVarint.readZigZag32($0, at: &i, end: n) } == v32)
            }
            i = 0
            #expect(raw.withUnsafeBytes { RawVarint.readZigZag64($0, at: &i, end: n - 1) } == nil, "truncated")
        }
        // Eleven continuation bytes: too long.
        let tooLong = [UInt8](repeating: 0xFF, count: 11)
        var i = 0
        #expect(tooLong.withUnsafeBytes { RawVarint.readUnsigned($0, at: &i, end: 11) } == nil)
    }

    @Test("A record whose length runs past the batch is rejected as malformed")
    func recordLengthPastEnd() throws {
        var w = KafkaRecordBatchWriter()
        w.append(KafkaOutgoingRecord(key: nil, value: ByteBuffer(string: "abc"), timestamp: 1))
        var b = w.finishInPlace()
        b.setInteger(UInt8(0x7E), at: 61)  // record length 63 > what is left
        let crc = b.getSlice(at: 21, length: b.readableBytes - 21)!.withUnsafeReadableBytes { CRC32C.checksum($0) }
        b.setInteger(crc, at: 17)
        #expect(throws: KafkaRecordError.self) { _ = try KafkaRecordBatchDecoder.decode(b) }
    }

    @Test("Several batches, a truncated trailing batch is ignored, a corrupted CRC is rejected")
    func multipleAndCorrupt() throws {
        var all = ByteBuffer()
        try makeWriter().finish(into: &all, baseOffset: 0)
        try makeWriter().finish(into: &all, baseOffset: 3)
        var partial = all
        try makeWriter().finish(into: &partial, baseOffset: 6)
        partial.moveWriterIndex(to: partial.writerIndex - 10)
        #expect(try KafkaRecordBatchDecoder.decode(partial).flatMap(\.records).map(\.offset) == [0, 1, 2, 3, 4, 5])
        var corrupt = all
        corrupt.setInteger(UInt8(0x62), at: corrupt.writerIndex - 1)
        #expect(throws: KafkaRecordError.self) { _ = try KafkaRecordBatchDecoder.decode(corrupt) }
    }

    @Test("Control batch: commit marker is recognised and produces no data records")
    func controlBatch() throws {
        var w = KafkaRecordBatchWriter()
        var key = ByteBuffer(); key.writeInteger(Int16(0)); key.writeInteger(Int16(1))
        var value = ByteBuffer(); value.writeInteger(Int16(0)); value.writeInteger(Int32(0))
        w.append(key: key, value: value, headers: [], timestamp: 1)
        var out = ByteBuffer()
        try w.finish(into: &out, producerID: 9, producerEpoch: 0, isTransactional: true, isControl: true)
        let batch = try #require(KafkaRecordBatchDecoder.decode(out).first)
        #expect(batch.isControl && batch.isTransactional && batch.controlType == .commit && batch.records.isEmpty && batch.producerID == 9)
    }

    @Test("Legacy message sets v0 and v1 (uncompressed and gzip-wrapped) decode")
    func legacy() throws {
        func message(offset: Int64, magic: Int8, attributes: Int8 = 0, timestamp: Int64 = 0, key: [UInt8]?, value: [UInt8]?) -> ByteBuffer {
            var body = ByteBuffer()
            body.writeInteger(magic); body.writeInteger(attributes)
            if magic == 1 { body.writeInteger(timestamp) }
            if let key { body.writeInteger(Int32(key.count)); body.writeBytes(key) } else { body.writeInteger(Int32(-1)) }
            if let value { body.writeInteger(Int32(value.count)); body.writeBytes(value) } else { body.writeInteger(Int32(-1)) }
            let crc = CRC32.checksum(Array(body.readableBytesView))
            var m = ByteBuffer()
            m.writeInteger(offset); m.writeInteger(Int32(body.readableBytes + 4)); m.writeInteger(crc); m.writeBuffer(&body)
            return m
        }
        var set = message(offset: 0, magic: 0, key: nil, value: Array("v0".utf8))
        var m1 = message(offset: 1, magic: 1, timestamp: 1234, key: Array("k".utf8), value: Array("v1".utf8))
        set.writeBuffer(&m1)
        // magic 1 gzip wrapper with relative inner offsets 0,1; wrapper offset = last absolute offset (3)
        var inner = message(offset: 0, magic: 1, timestamp: 5, key: nil, value: Array("a".utf8))
        var inner2 = message(offset: 1, magic: 1, timestamp: 6, key: nil, value: Array("b".utf8))
        inner.writeBuffer(&inner2)
        var compressed = ByteBuffer()
        try GzipCodec().compress(inner, into: &compressed)
        var wrapper = message(offset: 3, magic: 1, attributes: 1, timestamp: 6, key: nil, value: Array(compressed.readableBytesView))
        set.writeBuffer(&wrapper)
        let records = try KafkaRecordBatchDecoder.decode(set).flatMap(\.records)
        #expect(records.map(\.offset) == [0, 1, 2, 3])
        #expect(records.map { $0.value.map { String(buffer: $0) } } == ["v0", "v1", "a", "b"])
        #expect(records[1].timestamp == 1234 && records[1].key == ByteBuffer(string: "k"))
    }
}
