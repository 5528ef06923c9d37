// Varints on raw memory, for hot codec loops that encode or decode many small fields inside one
// `withUnsafe...Bytes` region (Kafka record batches) instead of going through ByteBuffer's
// per-call bounds and copy-on-write checks. Same encodings as ByteBuffer+Varint.swift.

/// Unsigned LEB128 and ZigZag varints read from and written to raw memory.
public enum RawVarint {
    /// Writes `value` as an unsigned LEB128 varint at `base + offset` and advances `offset`.
    /// The caller guarantees room for ``ByteBuffer/unsignedVarintSize(_:)`` bytes.
    @inlinable @inline(__always)
    public static func writeUnsigned(_ value: UInt64, to base: UnsafeMutableRawPointer, at offset: inout Int) {
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: offset, as: UInt8.self)
            v >>= 7
            offset += 1
        }
        base.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    /// Writes a ZigZag-encoded signed 64-bit varint at `base + offset` and advances `offset`.
    @inlinable @inline(__always)
    public static func writeZigZag(_ value: Int64, to base: UnsafeMutableRawPointer, at offset: inout Int) {
        writeUnsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: base, at: &offset)
    }

    /// The size of `value` as a ZigZag varint.
    @inlinable @inline(__always)
    public static func zigZagSize(_ value: Int64) -> Int {
        let v = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        return v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes from `bytes[offset..<end]`, advancing
    /// `offset`. Returns nil when the varint is truncated, longer than 10 bytes or overflows 64 bits
    /// (`offset` is then unspecified).
    @inlinable @inline(__always)
    public static func readUnsigned(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, end: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < end {
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { return nil }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    /// Reads a ZigZag-encoded signed 64-bit varint (see ``readUnsigned(_:at:end:)``).
    @inlinable @inline(__always)
    public static func readZigZag64(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, end: Int) -> Int64? {
        guard let raw = readUnsigned(bytes, at: &offset, end: end) else { return nil }
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a ZigZag-encoded signed varint that must fit in 32 bits.
    @inlinable @inline(__always)
    public static func readZigZag32(_ bytes: UnsafeRawBufferPointer, at offset: inout Int, end: Int) -> Int32? {
        // Fast path: one byte (lengths and deltas of small records).
        if offset < end {
            let byte = bytes[offset]
            if byte < 0x80 {
                offset += 1
                let raw = Int32(byte)
                return (raw >> 1) ^ -(raw & 1)
            }
        }
        guard let raw = readUnsigned(bytes, at: &offset, end: end), raw <= UInt64(UInt32.max) else { return nil }
        let r32 = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (r32 >> 1) ^ (0 &- (r32 & 1)))
    }
}
