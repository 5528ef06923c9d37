import NIOCore
import Testing
import WireCore
@testable import KafkaWire

/// The decoder's lazy record view (an index over the batch's one buffer) against an eager reference
/// decoder written here with WireCore's ByteBuffer readers, on many generated batches.
@Suite("Record batch view")
struct RecordBatchViewTests {
    /// A deterministic generator (SplitMix64), so every run checks the same batches.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func bytes(maxCount: Int) -> [UInt8]? {
            switch int(0...5) {
            case 0: return nil
            case 1: return []
            default: return (0..<int(1...maxCount)).map { _ in UInt8(truncatingIfNeeded: next()) }
            }
        }
    }

    /// One record as the reference decoder sees it.
    struct Expected: Equatable {
        var offset: Int64
        var timestamp: Int64
        var key: [UInt8]?
        var value: [UInt8]?
        var headers: [Header]
        struct Header: Equatable { var key: String; var value: [UInt8]? }
    }

    /// Eager reference: reads one uncompressed v2 batch field by field with ByteBuffer readers.
    static func referenceDecode(_ batch: ByteBuffer) throws -> [Expected] {
        var b = batch
        let baseOffset: Int64 = b.readInteger()!
        b.moveReaderIndex(forwardBy: 4 + 4 + 1 + 4)
        let attributes: Int16 = b.readInteger()!
        b.moveReaderIndex(forwardBy: 4)
        let baseTimestamp: Int64 = b.readInteger()!
        let maxTimestamp: Int64 = b.readInteger()!
        b.moveReaderIndex(forwardBy: 8 + 2 + 4)
        let count: Int32 = b.readInteger()!
        #expect(attributes & 0x7 == 0, "reference decodes uncompressed batches only")
        func bytes(_ b: inout ByteBuffer) throws -> [UInt8]? {
            let n = try b.readVarint()
            return n < 0 ? nil : b.readBytes(length: Int(n))!
        }
        var out: [Expected] = []
        for _ in 0..<count {
            _ = try b.readVarint()
            _ = b.readInteger(as: Int8.self)
            let tsDelta = try b.readVarlong()
            let offsetDelta = try b.readVarint()
            let key = try bytes(&b)
            let value = try bytes(&b)
            var headers: [Expected.Header] = []
            for _ in 0..<(try b.readVarint()) {
                let name = String(decoding: try bytes(&b)!, as: UTF8.self)
                headers.append(Expected.Header(key: name, value: try bytes(&b)))
            }
            let ts = attributes & 0x8 != 0 ? maxTimestamp : baseTimestamp + tsDelta
            out.append(Expected(offset: baseOffset + Int64(offsetDelta), timestamp: ts, key: key, value: value, headers: headers))
        }
        return out
    }

    static func expected(_ r: KafkaRecord) -> Expected {
        Expected(offset: r.offset, timestamp: r.timestamp, key: r.key.map { Array($0.readableBytesView) }, value: r.value.map { Array($0.readableBytesView) },
                 headers: r.headers.map { Expected.Header(key: $0.key, value: $0.value.map { Array($0.readableBytesView) }) })
    }

    /// A writer filled with `count` random records (null, empty and non-empty keys/values/header values).
    static func randomWriter(_ g: inout Generator, count: Int) -> (KafkaRecordBatchWriter, [KafkaOutgoingRecord]) {
        var w = KafkaRecordBatchWriter(capacity: 256)
        var records: [KafkaOutgoingRecord] = []
        let base: Int64 = 1_700_000_000_000
        for _ in 0..<count {
            let headers = (0..<g.int(0...3)).map { i in
                KafkaHeader(key: i == 2 ? "" : "h\(g.int(0...999))-é", value: g.bytes(maxCount: 40))
            }
            let r = KafkaOutgoingRecord(key: g.bytes(maxCount: 30).map { ByteBuffer(bytes: $0) }, value: g.bytes(maxCount: 300).map { ByteBuffer(bytes: $0) },
                                        headers: headers, timestamp: base + Int64(g.int(-5000...5000)))
            w.append(r)
            records.append(r)
        }
        return (w, records)
    }

    @Test("The view equals the eager reference on 300 random batches, every codec, several batches per buffer")
    func viewEqualsReference() throws {
        var g = Generator(state: 0x5EED)
        for round in 0..<300 {
            let compression = KafkaCompression.allCases[round % KafkaCompression.allCases.count]
            var fetch = ByteBuffer()
            var expected: [Expected] = []
            var nextOffset: Int64 = Int64(g.int(0...1_000_000))
            for _ in 0..<g.int(1...3) {
                let (w, sent) = Self.randomWriter(&g, count: g.int(0...40))
                var plain = ByteBuffer()
                try w.finish(into: &plain, baseOffset: nextOffset)
                let reference = try Self.referenceDecode(plain)
                #expect(reference.count == sent.count)
                for (r, s) in zip(reference, sent) {
                    #expect(r.key == s.key.map { Array($0.readableBytesView) } && r.value == s.value.map { Array($0.readableBytesView) })
                    #expect(r.headers.map(\.key) == s.headers.map(\.key) && r.timestamp == s.timestamp)
                }
                expected += reference
                try w.finish(into: &fetch, compression: compression, baseOffset: nextOffset)
                nextOffset += Int64(max(sent.count, 1))
            }
            let batches = try KafkaRecordBatchDecoder.decode(fetch)
            let records = batches.flatMap(\.records)
            #expect(records.map(Self.expected) == expected, "round \(round) \(compression)")
            #expect(batches.flatMap { b in b.records.indices.map { b.records.offset(at: $0) } } == expected.map(\.offset))
            #expect(records.map(\.valueCount) == expected.map { $0.value?.count } && records.map(\.keyCount) == expected.map { $0.key?.count })
            // A view compares and hashes like the same records built from parts.
            for batch in batches {
                let parts = KafkaRecords(batch.records.map {
                    KafkaRecord(offset: $0.offset, timestamp: $0.timestamp, timestampType: $0.timestampType, key: $0.key, value: $0.value, headers: $0.headers)
                })
                #expect(batch.records == parts && batch.records.hashValue == parts.hashValue)
            }
        }
    }

    @Test("Log-append-time batches take the max timestamp; transactional and producer fields survive")
    func logAppendTime() throws {
        var g = Generator(state: 42)
        let (w, _) = Self.randomWriter(&g, count: 25)
        var b = try w.finished(producerID: 77, producerEpoch: 2, baseSequence: 10, isTransactional: true)
        b.setInteger(b.getInteger(at: 21, as: Int16.self)! | 0x8, at: 21)
        b.setInteger(b.getSlice(at: 21, length: b.readableBytes - 21)!.withUnsafeReadableBytes { CRC32C.checksum($0) }, at: 17)
        let batch = try #require(KafkaRecordBatchDecoder.decode(b).first)
        #expect(batch.timestampType == .logAppendTime && batch.isTransactional && batch.producerID == 77 && batch.baseSequence == 10)
        #expect(batch.records.map(Self.expected) == (try Self.referenceDecode(b)))
        #expect(batch.records.allSatisfy { $0.timestamp == w.maxTimestamp && $0.timestampType == .logAppendTime })
    }

    @Test("Control batches (commit and abort) have no data records and give their marker type")
    func controlBatches() throws {
        for type in [KafkaControlType.abort, .commit] {
            var w = KafkaRecordBatchWriter()
            var key = ByteBuffer(); key.writeInteger(Int16(0)); key.writeInteger(type.rawValue)
            var value = ByteBuffer(); value.writeInteger(Int16(0)); value.writeInteger(Int32(3))
            w.append(key: key, value: value, headers: [], timestamp: 5)
            for compression in KafkaCompression.allCases {
                var out = ByteBuffer()
                try w.finish(into: &out, compression: compression, producerID: 4, producerEpoch: 0, isTransactional: true, isControl: true, baseOffset: 9)
                let batch = try #require(KafkaRecordBatchDecoder.decode(out).first)
                #expect(batch.isControl && batch.controlType == type && batch.records.isEmpty && batch.lastOffset == 9)
            }
        }
    }

    @Test("Setting a field of a decoded record gives it bytes of its own; the batch is unchanged")
    func settingFields() throws {
        var w = KafkaRecordBatchWriter()
        w.append(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"), headers: [KafkaHeader(key: "a", value: [1])], timestamp: 1)
        w.append(key: nil, value: ByteBuffer(string: "w"), headers: [], timestamp: 2)
        let batch = try #require(KafkaRecordBatchDecoder.decode(w.finished()).first)
        var r = batch.records[0]
        r.value = ByteBuffer(string: "changed")
        #expect(r.key == ByteBuffer(string: "k") && r.value == ByteBuffer(string: "changed") && r.headers == [KafkaHeader(key: "a", value: [1])])
        r.headers.append(KafkaHeader(key: "b", value: nil as [UInt8]?))
        r.key = nil
        #expect(r.key == nil && r.value == ByteBuffer(string: "changed") && r.headers.map(\.key) == ["a", "b"] && r.headers[1].value == nil)
        #expect(batch.records[0].value == ByteBuffer(string: "v") && batch.records[0].headers.count == 1)
        #expect(r != batch.records[0])
        var same = batch.records[1]
        same.value = ByteBuffer(string: "w")  // same bytes, own storage: still equal
        #expect(same == batch.records[1] && same.hashValue == batch.records[1].hashValue)
    }

    @Test("Consumer records share the view: positions filter, fields match, read_committed drops aborted batches")
    func consumerChunk() throws {
        var g = Generator(state: 7)
        var fetch = ByteBuffer()
        let (w1, _) = Self.randomWriter(&g, count: 10)
        try w1.finish(into: &fetch, baseOffset: 0)
        let (w2, _) = Self.randomWriter(&g, count: 10)
        try w2.finish(into: &fetch, producerID: 3, producerEpoch: 0, isTransactional: true, baseOffset: 10)
        var marker = KafkaRecordBatchWriter()
        var key = ByteBuffer(); key.writeInteger(Int16(0)); key.writeInteger(KafkaControlType.abort.rawValue)
        marker.append(key: key, value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]), headers: [], timestamp: 1)
        try marker.finish(into: &fetch, producerID: 3, producerEpoch: 0, isTransactional: true, isControl: true, baseOffset: 20)
        let batches = try KafkaRecordBatchDecoder.decode(fetch)
        let all = batches.flatMap(\.records)
        let tp = KafkaTopicPartition("view-topic-with-a-long-name", 2)
        let chunk = try #require(KafkaConsumer.makeChunk(tp: tp, epoch: 1, position: 4, batches: batches, aborted: [], readCommitted: false, size: fetch.readableBytes))
        #expect(chunk.records.map(\.offset) == Array(4..<20) && chunk.nextOffset == 21)
        for (c, r) in zip(chunk.records, all.dropFirst(4)) {
            #expect(c.topic == tp.topic && c.partition == 2 && c.timestamp == r.timestamp && c.key == r.key && c.value == r.value && c.headers == r.headers)
            #expect(c.valueCount == r.value?.readableBytes && c.keyString == r.key.map { String(buffer: $0) })
        }
        let aborted: [KafkaStruct] = [["ProducerId": .int(3), "FirstOffset": .int(10)]]
        let committed = try #require(KafkaConsumer.makeChunk(tp: tp, epoch: 1, position: 0, batches: batches, aborted: aborted, readCommitted: true, size: 1))
        #expect(committed.records.map(\.offset) == Array(0..<10))
        var edited = chunk.records[0]
        edited.headers = [KafkaHeader(key: "x", value: [9])]
        #expect(edited.headers == [KafkaHeader(key: "x", value: [9])] && edited.value == chunk.records[0].value && edited != chunk.records[0])
    }

    @Test("Malformed records are rejected when the batch is decoded, not when a record is read")
    func malformedRejectedUpFront() throws {
        func batch(records: [UInt8], count: Int32) -> ByteBuffer {
            var w = KafkaRecordBatchWriter()
            w.append(key: nil, value: ByteBuffer(string: "abc"), headers: [], timestamp: 1)
            var b = w.finishInPlace()
            b.moveWriterIndex(to: 61)
            b.writeBytes(records)
            b.setInteger(Int32(b.readableBytes - 12), at: 8)
            b.setInteger(count, at: 57)
            b.setInteger(b.getSlice(at: 21, length: b.readableBytes - 21)!.withUnsafeReadableBytes { CRC32C.checksum($0) }, at: 17)
            return b
        }
        // length 10: attributes, ts 0, offset 0, key null, value "a", 2 headers but only one present
        let twoHeadersOneThere: [UInt8] = [20, 0, 0, 0, 1, 2, 0x61, 4, 2, 0x68, 0]
        #expect(throws: KafkaRecordError.self) { _ = try KafkaRecordBatchDecoder.decode(batch(records: twoHeadersOneThere, count: 1)) }
        // length 11: one header whose value length 5 runs past the record
        let headerValuePastEnd: [UInt8] = [22, 0, 0, 0, 1, 2, 0x61, 2, 2, 0x68, 10, 0x61]
        #expect(throws: KafkaRecordError.self) { _ = try KafkaRecordBatchDecoder.decode(batch(records: headerValuePastEnd, count: 1)) }
        // one record of length 7; two claimed, which 8 bytes of 7-byte-minimum records cannot hold
        let one: [UInt8] = [14, 0, 0, 0, 1, 2, 0x61, 0]
        #expect(throws: KafkaRecordError.self) { _ = try KafkaRecordBatchDecoder.decode(batch(records: one, count: 2)) }
        #expect(try KafkaRecordBatchDecoder.decode(batch(records: one, count: 1)).first?.records.first?.value == ByteBuffer(string: "a"))
    }

    @Test("WireCore's short-varint fast paths read exactly what readZigZag32/64 read, truncated input included")
    func shortVarintFastPaths() {
        var values: [Int64] = [Int64(Int32.max), Int64(Int32.min), Int64(Int32.max) + 1, Int64.max, Int64.min, 1_700_000_000_000]
        values += (-9000...9000).map(Int64.init)
        var mismatches: [String] = []
        for v in values {
            var encoded = ByteBuffer()
            encoded.writeVarlong(v)
            let bytes = Array(encoded.readableBytesView) + [0x80, 0x01]  // trailing bytes that must not be read
            for end in 0...bytes.count {
                bytes.withUnsafeBytes { raw in
                    var a = 0, b = 0
                    let short64 = RawVarint.readShortZigZag64(raw, at: &a, end: end)
                    let long64 = RawVarint.readZigZag64(raw, at: &b, end: end)
                    if short64 != long64 || (long64 != nil && a != b) { mismatches.append("64-bit \(v) end \(end)") }
                    var c = 0, d = 0
                    let short32 = RawVarint.readShortZigZag32(raw, at: &c, end: end)
                    let long32 = RawVarint.readZigZag32(raw, at: &d, end: end)
                    if short32 != long32 || (long32 != nil && c != d) { mismatches.append("32-bit \(v) end \(end)") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
