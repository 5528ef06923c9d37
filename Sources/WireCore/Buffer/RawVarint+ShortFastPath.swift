// Two-byte fast paths for RawVarint's ZigZag readers (added by the KafkaWire record batch decoder,
// where lengths of 64-8191 bytes, e.g. 100-byte values, take two bytes and deltas one).
// Results are identical to readZigZag32/readZigZag64; longer varints go through them.

extension RawVarint {
    /// ``readZigZag32(_:at:end:)`` with one- and two-byte encodings (magnitudes up to 8191) decoded
    /// inline; same result and failure behaviour for every input.
    @inlinable @inline(__always)
    public static func readShortZigZag32(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, end: Int) -> Int32? {
        if end - offset >= 2 {
            let b0 = bytes[offset]
            if b0 < 0x80 {
                offset += 1
                let raw = Int32(b0)
                return (raw >> 1) ^ -(raw & 1)
            }
            let b1 = bytes[offset + 1]
            if b1 < 0x80 {
                offset += 2
                let raw = Int32(b0 & 0x7F) | Int32(b1) << 7
                return (raw >> 1) ^ -(raw & 1)
            }
        }
        return readZigZag32(bytes, at: &offset, end: end)
    }

    /// ``readZigZag64(_:at:end:)`` with one- and two-byte encodings decoded inline; same result and
    /// failure behaviour for every input.
    @inlinable @inline(__always)
    public static func readShortZigZag64(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, end: Int) -> Int64? {
        if end - offset >= 2 {
            let b0 = bytes[offset]
            if b0 < 0x80 {
                offset += 1
                let raw = Int64(b0)
                return (raw >> 1) ^ -(raw & 1)
            }
            let b1 = bytes[offset + 1]
            if b1 < 0x80 {
                offset += 2
                let raw = Int64(b0 & 0x7F) | Int64(b1) << 7
                return (raw >> 1) ^ -(raw & 1)
            }
        }
        return readZigZag64(bytes, at: &offset, end: end)
    }
}
