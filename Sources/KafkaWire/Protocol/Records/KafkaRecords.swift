import NIOCore

/// Where one v2 record sits in its batch: the layout of its fields plus its deltas. Trivial, so the
/// decoder's index of a batch is one flat allocation with no reference counting.
@usableFromInline
struct KafkaRecordSlot: Sendable {
    @usableFromInline var layout: KafkaRecordLayout
    @usableFromInline var offsetDelta: Int32
    @usableFromInline var timestampDelta: Int64

    @inlinable
    init(layout: KafkaRecordLayout, offsetDelta: Int32, timestampDelta: Int64) {
        self.layout = layout
        self.offsetDelta = offsetDelta
        self.timestampDelta = timestampDelta
    }
}

/// The records of one batch, in order.
///
/// For v2 record batches this is a view over the batch's one (decompressed) buffer and an index the
/// decoder built while validating every record: reading an element makes a ``KafkaRecord`` that
/// shares the buffer, and its key, value and headers are sliced only when asked for. Legacy
/// message sets hold their records in an array.
public struct KafkaRecords: RandomAccessCollection, Sendable, Hashable, ExpressibleByArrayLiteral {
    /// The batch's records bytes (v2 view; empty otherwise).
    @usableFromInline var body: ByteBuffer
    /// One slot per record (v2 view).
    @usableFromInline var slots: [KafkaRecordSlot]
    /// Records held as values (legacy message sets, or built from parts).
    @usableFromInline var array: [KafkaRecord]
    /// Whether the records are the v2 view (``slots``) rather than ``array``.
    @usableFromInline var isView: Bool
    @usableFromInline var baseOffset: Int64
    @usableFromInline var baseTimestamp: Int64
    @usableFromInline var maxTimestamp: Int64
    @usableFromInline var timestampType: KafkaTimestampType
    /// The number of records.
    public let endIndex: Int

    /// Records held in an array.
    public init(_ records: [KafkaRecord]) {
        body = ByteBuffer()
        slots = []
        array = records
        isView = false
        baseOffset = 0
        baseTimestamp = 0
        maxTimestamp = 0
        timestampType = .createTime
        endIndex = records.count
    }

    /// Records held in an array.
    public init(arrayLiteral elements: KafkaRecord...) { self.init(elements) }

    /// The view over a v2 batch's records.
    init(body: ByteBuffer, slots: [KafkaRecordSlot], baseOffset: Int64, baseTimestamp: Int64, maxTimestamp: Int64, timestampType: KafkaTimestampType) {
        self.body = body
        self.slots = slots
        self.array = []
        self.isView = true
        self.baseOffset = baseOffset
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.timestampType = timestampType
        self.endIndex = slots.count
    }

    /// Always 0.
    @inlinable public var startIndex: Int { 0 }

    /// The record at `position` (for a batch view: made from the index, fields not yet sliced).
    @inlinable
    public subscript(position: Int) -> KafkaRecord {
        guard isView else { return array[position] }
        let slot = slots[position]
        let timestamp = timestampType == .logAppendTime ? maxTimestamp : baseTimestamp &+ slot.timestampDelta
        return KafkaRecord(offset: baseOffset &+ Int64(slot.offsetDelta), timestamp: timestamp, timestampType: timestampType,
                           fields: KafkaRecordFields(buffer: body, layout: slot.layout))
    }

    /// The offset of the record at `position`, without making the record.
    @inlinable
    public func offset(at position: Int) -> Int64 {
        isView ? baseOffset &+ Int64(slots[position].offsetDelta) : array[position].offset
    }

    /// Equal when both hold equal records in the same order.
    public static func == (lhs: KafkaRecords, rhs: KafkaRecords) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }

    /// Hashes the records in order.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for record in self { hasher.combine(record) }
    }
}
