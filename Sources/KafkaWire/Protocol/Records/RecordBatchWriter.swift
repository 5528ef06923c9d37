import NIOCore
import WireCore

/// Builds one record batch (magic v2) incrementally: append records, then ``finish(compression:producerID:producerEpoch:baseSequence:isTransactional:)``.
public struct KafkaRecordBatchWriter: Sendable {
    /// Size of the v2 batch header (baseOffset ... recordCount).
    public static let headerSize = 61

    /// The number of records appended so far.
    public private(set) var recordCount: Int32 = 0
    /// The timestamp the deltas are relative to (the first record's).
    public private(set) var baseTimestamp: Int64 = 0
    /// The largest timestamp appended.
    public private(set) var maxTimestamp: Int64 = -1
    /// Encoded records (uncompressed).
    public private(set) var records: ByteBuffer

    /// The uncompressed size the batch has so far, header included.
    @inlinable public var sizeInBytes: Int { Self.headerSize + records.readableBytes }

    /// Creates an empty writer.
    public init(capacity: Int = 16 * 1024, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        records = allocator.buffer(capacity: capacity)
    }

    @inlinable static func zigzagSize(_ v: Int64) -> Int {
        ByteBuffer.unsignedVarintSize(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    /// The encoded size of a record with these parts (without its own length prefix).
    @inlinable static func bodySize(timestampDelta: Int64, offsetDelta: Int32, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader]) -> Int {
        var size = 1 + zigzagSize(timestampDelta) + zigzagSize(Int64(offsetDelta))
        if let key { size += zigzagSize(Int64(key.readableBytes)) + key.readableBytes } else { size += 1 }
        if let value { size += zigzagSize(Int64(value.readableBytes)) + value.readableBytes } else { size += 1 }
        size += zigzagSize(Int64(headers.count))
        for h in headers {
            let k = h.key.utf8.count
            size += zigzagSize(Int64(k)) + k
            if let v = h.value { size += zigzagSize(Int64(v.readableBytes)) + v.readableBytes } else { size += 1 }
        }
        return size
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

    /// Appends one record from its parts.
    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader], timestamp: Int64) {
        if recordCount == 0 { baseTimestamp = timestamp }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let delta = timestamp - baseTimestamp
        let offsetDelta = recordCount
        let body = Self.bodySize(timestampDelta: delta, offsetDelta: offsetDelta, key: key, value: value, headers: headers)
        records.writeVarlong(Int64(body))
        records.writeInteger(UInt8(0))
        records.writeVarlong(delta)
        records.writeVarint(offsetDelta)
        if var key { records.writeVarint(Int32(key.readableBytes)); records.writeBuffer(&key) } else { records.writeVarint(-1) }
        if var value { records.writeVarint(Int32(value.readableBytes)); records.writeBuffer(&value) } else { records.writeVarint(-1) }
        records.writeVarint(Int32(headers.count))
        for h in headers {
            records.writeVarint(Int32(h.key.utf8.count))
            records.writeString(h.key)
            if var v = h.value { records.writeVarint(Int32(v.readableBytes)); records.writeBuffer(&v) } else { records.writeVarint(-1) }
        }
        recordCount += 1
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
        output.reserveCapacity(minimumWritableBytes: Self.headerSize + records.readableBytes)
        output.writeInteger(baseOffset)
        output.writeInteger(Int32(0))  // batch length, patched below
        output.writeInteger(partitionLeaderEpoch)
        output.writeInteger(Int8(2))
        output.writeInteger(UInt32(0))  // CRC, patched below
        var attributes = Int16(compression.rawValue)
        if isTransactional { attributes |= 0x10 }
        if isControl { attributes |= 0x20 }
        output.writeInteger(attributes)
        output.writeInteger(max(recordCount - 1, 0))
        output.writeInteger(baseTimestamp)
        output.writeInteger(max(maxTimestamp, baseTimestamp))
        output.writeInteger(producerID)
        output.writeInteger(producerEpoch)
        output.writeInteger(baseSequence)
        output.writeInteger(recordCount)
        if compression == .none {
            var copy = records
            output.writeBuffer(&copy)
        } else {
            do {
                try KafkaCompressionCodecs.compress(records, compression: compression, into: &output)
            } catch {
                throw .compression(compression, String(describing: error))
            }
        }
        output.setInteger(Int32(output.writerIndex - start - 12), at: start + 8)
        let crcStart = start + 21
        let crc = output.withUnsafeReadableBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(crcStart - output.readerIndex)...]))
        }
        output.setInteger(crc, at: start + 17)
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
