import NIOCore
import WireCore

/// Where a record's key, value and headers sit in a buffer (absolute ByteBuffer indices).
///
/// A trivial value: the decoder writes one per record into a flat array, with no reference counting.
@usableFromInline
struct KafkaRecordLayout: Sendable, Hashable {
    /// Index of the key's first byte.
    @usableFromInline var keyIndex: UInt32
    /// Length of the key; -1 for a null key.
    @usableFromInline var keyLength: Int32
    /// Index of the value's first byte.
    @usableFromInline var valueIndex: UInt32
    /// Length of the value; -1 for a null value.
    @usableFromInline var valueLength: Int32
    /// Index of the first header (its key length varint), in Kafka's record header encoding.
    @usableFromInline var headersIndex: UInt32
    /// Number of headers.
    @usableFromInline var headerCount: Int32

    @inlinable
    init(keyIndex: UInt32, keyLength: Int32, valueIndex: UInt32, valueLength: Int32, headersIndex: UInt32, headerCount: Int32) {
        self.keyIndex = keyIndex
        self.keyLength = keyLength
        self.valueIndex = valueIndex
        self.valueLength = valueLength
        self.headersIndex = headersIndex
        self.headerCount = headerCount
    }
}

/// A record's key, value and headers as a view over one shared buffer (the decoded batch's records):
/// nothing is sliced, copied or allocated until a field is asked for.
///
/// Records built from parts (``init(key:value:headers:)``) get a small buffer of their own holding
/// the key, the value and the headers in Kafka's encoding, so there is one representation.
@usableFromInline
struct KafkaRecordFields: Sendable {
    /// The buffer the layout points into.
    @usableFromInline var buffer: ByteBuffer
    /// Positions of the fields in ``buffer``.
    @usableFromInline var layout: KafkaRecordLayout

    @inlinable
    init(buffer: ByteBuffer, layout: KafkaRecordLayout) {
        self.buffer = buffer
        self.layout = layout
    }

    /// Encodes the parts into a buffer of their own.
    init(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader]) {
        var size = (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for h in headers { size += 10 + h.key.utf8.count + 5 + (h.value?.readableBytes ?? 0) }
        var b = ByteBuffer()
        b.reserveCapacity(size)
        let keyIndex = UInt32(b.writerIndex)
        if let key { b.writeImmutableBuffer(key) }
        let valueIndex = UInt32(b.writerIndex)
        if let value { b.writeImmutableBuffer(value) }
        let headersIndex = UInt32(b.writerIndex)
        for h in headers {
            b.writeVarint(Int32(h.key.utf8.count))
            b.writeString(h.key)
            if let v = h.value {
                b.writeVarint(Int32(v.readableBytes))
                b.writeImmutableBuffer(v)
            } else {
                b.writeVarint(-1)
            }
        }
        self.buffer = b
        self.layout = KafkaRecordLayout(
            keyIndex: keyIndex, keyLength: key.map { Int32($0.readableBytes) } ?? -1,
            valueIndex: valueIndex, valueLength: value.map { Int32($0.readableBytes) } ?? -1,
            headersIndex: headersIndex, headerCount: Int32(headers.count))
    }

    /// The key as a slice of the shared buffer (nil = null).
    @inlinable
    var key: ByteBuffer? {
        layout.keyLength < 0 ? nil : buffer.getSlice(at: Int(layout.keyIndex), length: Int(layout.keyLength))
    }

    /// The value as a slice of the shared buffer (nil = null).
    @inlinable
    var value: ByteBuffer? {
        layout.valueLength < 0 ? nil : buffer.getSlice(at: Int(layout.valueIndex), length: Int(layout.valueLength))
    }

    /// Size of the key in bytes (nil = null), without slicing it.
    @inlinable var keyCount: Int? { layout.keyLength < 0 ? nil : Int(layout.keyLength) }

    /// Size of the value in bytes (nil = null), without slicing it.
    @inlinable var valueCount: Int? { layout.valueLength < 0 ? nil : Int(layout.valueLength) }

    /// The headers, parsed from the shared buffer (values are slices of it). The decoder validated
    /// them; parsing still stops at the buffer's end.
    @inlinable
    var headers: [KafkaHeader] {
        let count = Int(layout.headerCount)
        guard count > 0 else { return [] }
        return parseHeaders(count: count)
    }

    @usableFromInline
    func parseHeaders(count: Int) -> [KafkaHeader] {
        let base = buffer.readerIndex
        let buffer = self.buffer
        var headers: [KafkaHeader] = []
        headers.reserveCapacity(count)
        buffer.withUnsafeReadableBytes { raw in
            var i = Int(layout.headersIndex) - base
            let end = raw.count
            for _ in 0..<count {
                guard i >= 0, let nameLength = RawVarint.readZigZag32(raw, at: &i, end: end), nameLength >= 0,
                      Int(nameLength) <= end - i else { return }
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[i..<(i + Int(nameLength))]), as: UTF8.self)
                i += Int(nameLength)
                guard let valueLength = RawVarint.readZigZag32(raw, at: &i, end: end) else { return }
                if valueLength < 0 {
                    headers.append(KafkaHeader(key: name, value: nil as ByteBuffer?))
                } else {
                    guard Int(valueLength) <= end - i else { return }
                    headers.append(KafkaHeader(key: name, value: buffer.getSlice(at: base + i, length: Int(valueLength))))
                    i += Int(valueLength)
                }
            }
        }
        return headers
    }

    /// Equal when key, value and headers hold the same bytes (wherever they are stored).
    func sameContent(as other: KafkaRecordFields) -> Bool {
        key == other.key && value == other.value && headers == other.headers
    }

    /// Hashes key, value and headers (consistent with ``sameContent(as:)``).
    func hashContent(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(value)
        hasher.combine(headers)
    }
}
