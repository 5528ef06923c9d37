import NIOCore
import WireCore

/// Builds one record batch (magic v2) incrementally: append records, then ``finish(into:compression:producerID:producerEpoch:baseSequence:isTransactional:isControl:baseOffset:partitionLeaderEpoch:)``.
///
/// Records are written straight into one buffer that starts with room for the batch header, with
/// varints stored directly into raw memory (no per-record allocation). An uncompressed batch is
/// finished in place by ``finishInPlace(producerID:producerEpoch:baseSequence:isTransactional:isControl:baseOffset:partitionLeaderEpoch:)``:
/// the header is patched in and one CRC32C pass covers the whole batch, with no copy.
public struct KafkaRecordBatchWriter: Sendable {
    /// Size of the v2 batch header (baseOffset ... recordCount).
    public static let headerSize = 61

    /// The number of records appended so far.
    public private(set) var recordCount: Int32 = 0
    /// The timestamp the deltas are relative to (the first record's).
    public private(set) var baseTimestamp: Int64 = 0
    /// The largest timestamp appended.
    public private(set) var maxTimestamp: Int64 = -1
    /// Header space followed by the encoded records.
    @usableFromInline var storage: ByteBuffer

    /// Encoded records (uncompressed, without the batch header).
    public var records: ByteBuffer {
        storage.getSlice(at: storage.readerIndex + Self.headerSize, length: storage.readableBytes - Self.headerSize)!
    }

    /// The uncompressed size the batch has so far, header included.
    @inlinable public var sizeInBytes: Int { storage.readableBytes }

    /// Creates an empty writer.
    public init(capacity: Int = 16 * 1024, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        storage = allocator.buffer(capacity: max(capacity, Self.headerSize + 64))
        storage.writeRepeatingByte(0, count: Self.headerSize)
    }

    @inlinable static func zigzagSize(_ v: Int64) -> Int { RawVarint.zigZagSize(v) }

    /// The encoded size of a key or value: its length varint and its bytes (one byte for null).
    @inlinable @inline(__always)
    static func fieldSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }
        let n = bytes.readableBytes
        return zigzagSize(Int64(n)) + n
    }

    /// The encoded size of `headers` after their count.
    @usableFromInline
    static func headersSize(_ headers: [KafkaHeader]) -> Int {
        var size = 0
        for h in headers {
            let k = h.key.utf8.count
            size += zigzagSize(Int64(k)) + k + fieldSize(h.value)
        }
        return size
    }

    /// The encoded size of a record with these parts (without its own length prefix).
    @inlinable @inline(__always)
    static func bodySize(timestampDelta: Int64, offsetDelta: Int32, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader]) -> Int {
        let size = 1 + zigzagSize(timestampDelta) + zigzagSize(Int64(offsetDelta)) + fieldSize(key) + fieldSize(value)
        return headers.isEmpty ? size + 1 : size + zigzagSize(Int64(headers.count)) + headersSize(headers)
    }

    /// The bytes ``append(_:)`` would add for `record` (an upper bound used for batch-size decisions).
    public func encodedSize(of record: KafkaOutgoingRecord) -> Int {
        let delta = recordCount == 0 ? 0 : record.timestamp - baseTimestamp
        let body = Self.bodySize(timestampDelta: delta, offsetDelta: recordCount, key: record.key, value: record.value, headers: record.headers)
        return body + Self.zigzagSize(Int64(body))
    }

    /// Appends one record.
    public mutating func append(_ record: KafkaOutgoingRecord) {
        append(key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp)
    }

    @inlinable @inline(__always)
    static func put(_ bytes: ByteBuffer?, to base: UnsafeMutableRawPointer, at offset: inout Int) {
        guard let bytes else {
            base.storeBytes(of: 1, toByteOffset: offset, as: UInt8.self)  // zigzag(-1)
            offset += 1
            return
        }
        let n = bytes.readableBytes
        RawVarint.writeZigZag(Int64(n), to: base, at: &offset)
        if n > 0 {
            bytes.withUnsafeReadableBytes { src in (base + offset).copyMemory(from: src.baseAddress!, byteCount: n) }
            offset += n
        }
    }

    /// Appends one record from its parts.
    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader], timestamp: Int64) {
        if recordCount == 0 { baseTimestamp = timestamp }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let delta = timestamp - baseTimestamp
        let offsetDelta = recordCount
        let body = Self.bodySize(timestampDelta: delta, offsetDelta: offsetDelta, key: key, value: value, headers: headers)
        let total = body + Self.zigzagSize(Int64(body))
        if storage.writableBytes < total {
            storage.reserveCapacity(Swift.max(storage.capacity * 2, storage.writerIndex + total))
        }
        storage.withUnsafeMutableWritableBytes { out in
            let base = out.baseAddress!
            var i = 0
            RawVarint.writeZigZag(Int64(body), to: base, at: &i)
            base.storeBytes(of: 0, toByteOffset: i, as: UInt8.self)  // attributes
            i += 1
            RawVarint.writeZigZag(delta, to: base, at: &i)
            RawVarint.writeZigZag(Int64(offsetDelta), to: base, at: &i)
            Self.put(key, to: base, at: &i)
            Self.put(value, to: base, at: &i)
            if headers.isEmpty {
                base.storeBytes(of: 0, toByteOffset: i, as: UInt8.self)  // zigzag(0)
                i += 1
            } else {
                RawVarint.writeZigZag(Int64(headers.count), to: base, at: &i)
                for h in headers {
                    var name = h.key
                    name.withUTF8 { utf8 in
                        RawVarint.writeZigZag(Int64(utf8.count), to: base, at: &i)
                        if utf8.count > 0 { (base + i).copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
                        i += utf8.count
                    }
                    Self.put(h.value, to: base, at: &i)
                }
            }
            assert(i == total)
        }
        storage.moveWriterIndex(forwardBy: total)
        recordCount += 1
    }

    /// Writes the 61-byte header (CRC left zero) at `start` of `output`.
    static func writeHeader(
        _ output: inout ByteBuffer, at start: Int, batchEnd: Int, attributes: Int16, recordCount: Int32,
        baseTimestamp: Int64, maxTimestamp: Int64, producerID: Int64, producerEpoch: Int16, baseSequence: Int32,
        baseOffset: Int64, partitionLeaderEpoch: Int32
    ) {
        output.setInteger(baseOffset, at: start)
        output.setInteger(Int32(batchEnd - start - 12), at: start + 8)
        output.setInteger(partitionLeaderEpoch, at: start + 12)
        output.setInteger(Int8(2), at: start + 16)
        output.setInteger(UInt32(0), at: start + 17)
        output.setInteger(attributes, at: start + 21)
        output.setInteger(Swift.max(recordCount - 1, 0), at: start + 23)
        output.setInteger(baseTimestamp, at: start + 27)
        output.setInteger(Swift.max(maxTimestamp, baseTimestamp), at: start + 35)
        output.setInteger(producerID, at: start + 43)
        output.setInteger(producerEpoch, at: start + 51)
        output.setInteger(baseSequence, at: start + 53)
        output.setInteger(recordCount, at: start + 57)
        let crc = output.withUnsafeReadableBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 21 - output.readerIndex)..<(batchEnd - output.readerIndex)]))
        }
        output.setInteger(crc, at: start + 17)
    }

    static func attributes(_ compression: KafkaCompression, isTransactional: Bool, isControl: Bool) -> Int16 {
        var attributes = Int16(compression.rawValue)
        if isTransactional { attributes |= 0x10 }
        if isControl { attributes |= 0x20 }
        return attributes
    }

    /// Finishes an uncompressed batch without copying: patches the header into the writer's own
    /// buffer and returns it (one CRC32C pass over the batch). Appending afterwards starts a copy.
    public mutating func finishInPlace(
        producerID: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        isTransactional: Bool = false, isControl: Bool = false,
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1
    ) -> ByteBuffer {
        let start = storage.readerIndex
        Self.writeHeader(&storage, at: start, batchEnd: storage.writerIndex,
                         attributes: Self.attributes(.none, isTransactional: isTransactional, isControl: isControl),
                         recordCount: recordCount, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
                         producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence,
                         baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch)
        return storage
    }

    /// Writes the finished batch (header, CRC32C, possibly compressed records) into `output`.
    public func finish(
        into output: inout ByteBuffer,
        compression: KafkaCompression = .none,
        producerID: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        isTransactional: Bool = false, isControl: Bool = false,
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1
    ) throws(KafkaRecordError) {
        let start = output.writerIndex
        output.reserveCapacity(minimumWritableBytes: storage.readableBytes)
        output.writeRepeatingByte(0, count: Self.headerSize)
        if compression == .none {
            output.writeImmutableBuffer(records)
        } else {
            do {
                try KafkaCompressionCodecs.compress(records, compression: compression, into: &output)
            } catch {
                throw .compression(compression, String(describing: error))
            }
        }
        Self.writeHeader(&output, at: start, batchEnd: output.writerIndex,
                         attributes: Self.attributes(compression, isTransactional: isTransactional, isControl: isControl),
                         recordCount: recordCount, baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp,
                         producerID: producerID, producerEpoch: producerEpoch, baseSequence: baseSequence,
                         baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch)
    }

    /// Convenience: the finished batch as a new buffer.
    public func finished(
        compression: KafkaCompression = .none,
        producerID: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        isTransactional: Bool = false
    ) throws(KafkaRecordError) -> ByteBuffer {
        var out = ByteBuffer()
        try finish(into: &out, compression: compression, producerID: producerID, producerEpoch: producerEpoch,
                   baseSequence: baseSequence, isTransactional: isTransactional)
        return out
    }
}

/// Errors reading or writing record batches.
public enum KafkaRecordError: Error, Sendable, Hashable {
    /// The batch's stored CRC32C does not match its contents.
    case crcMismatch(baseOffset: Int64, stored: UInt32, computed: UInt32)
    /// Compressing or decompressing with this codec failed.
    case compression(KafkaCompression, String)
    /// The compression attribute is not one Kafka defines.
    case unknownCompression(Int8)
    /// The batch magic byte is not 0, 1 or 2.
    case unsupportedMagic(Int8)
    /// The bytes are not a well-formed batch.
    case malformed(String)
}
