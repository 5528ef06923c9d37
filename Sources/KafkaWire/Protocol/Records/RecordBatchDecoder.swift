import NIOCore
import WireCore

/// Type of a transaction control record.
public enum KafkaControlType: Int16, Sendable, Hashable {
    /// The transaction was aborted.
    case abort = 0
    /// The transaction was committed.
    case commit = 1
}

/// One decoded record batch (or, for legacy message sets, one top-level message).
public struct KafkaRecordBatch: Sendable, Hashable {
    /// Offset of the first record.
    public var baseOffset: Int64
    /// Offset of the last record (from the header, valid even when compaction removed records).
    public var lastOffset: Int64
    /// Leader epoch stamped by the broker.
    public var partitionLeaderEpoch: Int32
    /// Magic byte: 2 for record batches, 0/1 for legacy message sets.
    public var magic: Int8
    /// Compression used on the wire.
    public var compression: KafkaCompression
    /// Whether the batch belongs to a transaction.
    public var isTransactional: Bool
    /// Whether the batch holds a control record (commit/abort marker).
    public var isControl: Bool
    /// For control batches: the marker type.
    public var controlType: KafkaControlType?
    /// Producer id (-1 for non-idempotent producers).
    public var producerID: Int64
    /// Producer epoch.
    public var producerEpoch: Int16
    /// Sequence number of the first record.
    public var baseSequence: Int32
    /// The timestamp type of the records.
    public var timestampType: KafkaTimestampType
    /// The data records (empty for control batches). For v2 batches a view over the batch's buffer:
    /// every record was validated when the batch was decoded; fields are sliced when read.
    public var records: KafkaRecords
}

/// Decodes the `Records` field of a Fetch response: v2 record batches and legacy v0/v1 message sets.
public enum KafkaRecordBatchDecoder {
    /// Decodes every complete batch in `buffer`. A truncated trailing batch (Kafka may cut the last one
    /// at the fetch size limit) is ignored.
    ///
    /// - Parameters:
    ///   - verifyCRC: check CRC32C of v2 batches.
    ///   - maxDecompressedSize: upper bound on one batch's decompressed records.
    public static func decode(_ buffer: ByteBuffer, verifyCRC: Bool = true, maxDecompressedSize: Int = 64 * 1024 * 1024) throws(KafkaRecordError) -> [KafkaRecordBatch] {
        var input = buffer
        var batches: [KafkaRecordBatch] = []
        while input.readableBytes >= 17 {
            let start = input.readerIndex
            guard let size = input.getInteger(at: start + 8, as: Int32.self), size >= 0 else { throw .malformed("negative batch length") }
            guard input.readableBytes >= 12 + Int(size) else { break }  // partial trailing batch
            let magic = input.getInteger(at: start + 16, as: Int8.self)!
            var slice = input.getSlice(at: start, length: 12 + Int(size))!
            input.moveReaderIndex(forwardBy: 12 + Int(size))
            switch magic {
            case 2:
                batches.append(try decodeV2(&slice, verifyCRC: verifyCRC, maxDecompressedSize: maxDecompressedSize))
            case 0, 1:
                try decodeLegacy(&slice, into: &batches, maxDecompressedSize: maxDecompressedSize, depth: 0)
            default:
                throw .unsupportedMagic(magic)
            }
        }
        return batches
    }

    static func wrap<T>(_ body: () throws(WireDecodingError) -> T) throws(KafkaRecordError) -> T {
        do { return try body() } catch { throw .malformed(String(describing: error)) }
    }

    static func decodeV2(_ b: inout ByteBuffer, verifyCRC: Bool, maxDecompressedSize: Int) throws(KafkaRecordError) -> KafkaRecordBatch {
        guard b.readableBytes >= KafkaRecordBatchWriter.headerSize else { throw .malformed("batch shorter than its header") }
        let baseOffset = b.readInteger(as: Int64.self)!
        _ = b.readInteger(as: Int32.self)!
        let leaderEpoch = b.readInteger(as: Int32.self)!
        _ = b.readInteger(as: Int8.self)!
        let storedCRC = b.readInteger(as: UInt32.self)!
        if verifyCRC {
            let computed = b.withUnsafeReadableBytes { CRC32C.checksum($0) }
            guard computed == storedCRC else { throw .crcMismatch(baseOffset: baseOffset, stored: storedCRC, computed: computed) }
        }
        let attributes = b.readInteger(as: Int16.self)!
        let lastOffsetDelta = b.readInteger(as: Int32.self)!
        let baseTimestamp = b.readInteger(as: Int64.self)!
        let maxTimestamp = b.readInteger(as: Int64.self)!
        let producerID = b.readInteger(as: Int64.self)!
        let producerEpoch = b.readInteger(as: Int16.self)!
        let baseSequence = b.readInteger(as: Int32.self)!
        let count = b.readInteger(as: Int32.self)!
        guard let compression = KafkaCompression(rawValue: Int8(attributes & 0x7)) else { throw .unknownCompression(Int8(attributes & 0x7)) }
        let timestampType: KafkaTimestampType = attributes & 0x8 != 0 ? .logAppendTime : .createTime
        let isTransactional = attributes & 0x10 != 0
        let isControl = attributes & 0x20 != 0
        guard count >= 0 else { throw .malformed("negative record count") }
        var body: ByteBuffer
        if compression == .none {
            body = b
        } else {
            body = ByteBuffer()
            do {
                try KafkaCompressionCodecs.decompress(b, compression: compression, into: &body, maxOutputSize: maxDecompressedSize)
            } catch {
                throw .compression(compression, String(describing: error))
            }
        }
        // Every record takes at least 7 bytes; reject impossible counts before allocating the index.
        guard Int(count) <= body.readableBytes / 7 else { throw .malformed("record count \(count) exceeds \(body.readableBytes) bytes") }
        let (records, controlType) = try decodeRecords(body, count: Int(count), baseOffset: baseOffset, baseTimestamp: baseTimestamp,
                                                       maxTimestamp: maxTimestamp, timestampType: timestampType, isControl: isControl)
        return KafkaRecordBatch(
            baseOffset: baseOffset, lastOffset: baseOffset &+ Int64(lastOffsetDelta), partitionLeaderEpoch: leaderEpoch, magic: 2,
            compression: compression, isTransactional: isTransactional, isControl: isControl, controlType: controlType,
            producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence,
            timestampType: timestampType, records: records)
    }

    /// Validates `count` v2 records in `body` in one pass over its raw bytes and indexes them: the
    /// result is a view over `body` (one index allocation, no per-record slices or reference counts;
    /// keys, values and headers are sliced when a caller reads them).
    static func decodeRecords(
        _ body: ByteBuffer, count: Int, baseOffset: Int64, baseTimestamp: Int64, maxTimestamp: Int64,
        timestampType: KafkaTimestampType, isControl: Bool
    ) throws(KafkaRecordError) -> (KafkaRecords, KafkaControlType?) {
        var controlType: KafkaControlType?
        var failure: String?
        let bodyStart = body.readerIndex
        // Every record takes at least 7 bytes and the caller checked count <= bytes; absolute indices fit UInt32.
        let slots = [KafkaRecordSlot](unsafeUninitializedCapacity: isControl ? 0 : count) { slots, initialized in
            failure = body.withUnsafeReadableBytes { raw -> String? in
                let total = raw.count
                var i = 0
                for index in 0..<count {
                    guard let length = RawVarint.readShortZigZag32(raw, at: &i, end: total), length >= 0, Int(length) <= total - i else {
                        return "record \(index): bad length"
                    }
                    let end = i + Int(length)
                    guard i < end else { return "record \(index): empty" }
                    i += 1  // attributes
                    guard let tsDelta = RawVarint.readShortZigZag64(raw, at: &i, end: end),
                          let offsetDelta = RawVarint.readShortZigZag32(raw, at: &i, end: end),
                          let keyLength = RawVarint.readShortZigZag32(raw, at: &i, end: end), Int(keyLength) <= end - i
                    else { return "record \(index): truncated or bad field" }
                    let keyIndex = i
                    if keyLength > 0 { i += Int(keyLength) }
                    guard let valueLength = RawVarint.readShortZigZag32(raw, at: &i, end: end), Int(valueLength) <= end - i
                    else { return "record \(index): truncated or bad field" }
                    let valueIndex = i
                    if valueLength > 0 { i += Int(valueLength) }
                    guard let headerCount = RawVarint.readShortZigZag32(raw, at: &i, end: end), headerCount >= 0, Int(headerCount) <= end - i
                    else { return "record \(index): truncated or bad field" }
                    let headersIndex = i
                    if headerCount > 0 {
                        for _ in 0..<headerCount {
                            guard let nameLength = RawVarint.readShortZigZag32(raw, at: &i, end: end), nameLength >= 0, Int(nameLength) <= end - i else {
                                return "record \(index): bad header key"
                            }
                            i += Int(nameLength)
                            guard let headerValueLength = RawVarint.readShortZigZag32(raw, at: &i, end: end), Int(headerValueLength) <= end - i else {
                                return "record \(index): bad header value"
                            }
                            if headerValueLength > 0 { i += Int(headerValueLength) }
                        }
                    }
                    i = end
                    if isControl {
                        if keyLength >= 4 {
                            let type = Int16(raw[keyIndex + 2]) << 8 | Int16(raw[keyIndex + 3])
                            controlType = KafkaControlType(rawValue: type)
                        }
                        continue
                    }
                    (slots.baseAddress! + index).initialize(to: KafkaRecordSlot(
                        layout: KafkaRecordLayout(
                            keyIndex: UInt32(truncatingIfNeeded: bodyStart + keyIndex), keyLength: keyLength < 0 ? -1 : keyLength,
                            valueIndex: UInt32(truncatingIfNeeded: bodyStart + valueIndex), valueLength: valueLength < 0 ? -1 : valueLength,
                            headersIndex: UInt32(truncatingIfNeeded: bodyStart + headersIndex), headerCount: headerCount),
                        offsetDelta: offsetDelta, timestampDelta: tsDelta))
                    initialized = index + 1
                }
                return nil
            }
        }
        if let failure { throw .malformed(failure) }
        let records = KafkaRecords(body: body, slots: slots, baseOffset: baseOffset, baseTimestamp: baseTimestamp,
                                   maxTimestamp: maxTimestamp, timestampType: timestampType)
        return (records, controlType)
    }

    /// Legacy message set entry: offset, size, crc, magic, attributes, [timestamp], key, value.
    static func decodeLegacy(_ b: inout ByteBuffer, into batches: inout [KafkaRecordBatch], maxDecompressedSize: Int, depth: Int) throws(KafkaRecordError) {
        guard depth < 2 else { throw .malformed("nested compressed message set") }
        let (offset, magic, attributes, timestamp, key, value) = try wrap { () throws(WireDecodingError) -> (Int64, Int8, Int8, Int64, ByteBuffer?, ByteBuffer?) in
            let offset = try b.readCheckedInteger(as: Int64.self, field: "offset")
            _ = try b.readCheckedInteger(as: Int32.self, field: "message size")
            _ = try b.readCheckedInteger(as: UInt32.self, field: "crc")
            let magic = try b.readCheckedInteger(as: Int8.self, field: "magic")
            let attributes = try b.readCheckedInteger(as: Int8.self, field: "attributes")
            let timestamp: Int64 = try magic >= 1 ? b.readCheckedInteger(as: Int64.self, field: "timestamp") : -1
            let key = try b.readNullableBytes(prefix: .int32, field: "key")
            let value = try b.readNullableBytes(prefix: .int32, field: "value")
            return (offset, magic, attributes, timestamp, key, value)
        }
        guard let compression = KafkaCompression(rawValue: attributes & 0x7) else { throw .unknownCompression(attributes & 0x7) }
        let timestampType: KafkaTimestampType = attributes & 0x8 != 0 ? .logAppendTime : .createTime
        if compression == .none {
            let record = KafkaRecord(offset: offset, timestamp: timestamp, timestampType: timestampType, key: key, value: value)
            batches.append(KafkaRecordBatch(
                baseOffset: offset, lastOffset: offset, partitionLeaderEpoch: -1, magic: magic, compression: .none,
                isTransactional: false, isControl: false, controlType: nil, producerID: -1, producerEpoch: -1, baseSequence: -1,
                timestampType: timestampType, records: [record]))
            return
        }
        guard let value else { return }
        var inner = ByteBuffer()
        do {
            try KafkaCompressionCodecs.decompress(value, compression: compression, into: &inner, maxOutputSize: maxDecompressedSize)
        } catch {
            throw .compression(compression, String(describing: error))
        }
        var innerBatches: [KafkaRecordBatch] = []
        while inner.readableBytes >= 12 {
            guard let size = inner.getInteger(at: inner.readerIndex + 8, as: Int32.self), size >= 0, inner.readableBytes >= 12 + Int(size) else { break }
            var entry = inner.readSlice(length: 12 + Int(size))!
            try decodeLegacy(&entry, into: &innerBatches, maxDecompressedSize: maxDecompressedSize, depth: depth + 1)
        }
        var records = innerBatches.flatMap(\.records)
        // Magic 1 compressed sets carry relative inner offsets; the wrapper holds the last absolute offset.
        if magic == 1, let last = records.last {
            let shift = offset - last.offset
            for i in records.indices {
                records[i].offset += shift
                if timestampType == .logAppendTime { records[i].timestamp = timestamp; records[i].timestampType = .logAppendTime }
            }
        }
        guard let first = records.first else { return }
        batches.append(KafkaRecordBatch(
            baseOffset: first.offset, lastOffset: records.last!.offset, partitionLeaderEpoch: -1, magic: magic, compression: compression,
            isTransactional: false, isControl: false, controlType: nil, producerID: -1, producerEpoch: -1, baseSequence: -1,
            timestampType: timestampType, records: KafkaRecords(records)))
    }
}
