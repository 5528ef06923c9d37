import NIOCore

extension ByteBuffer {
    // MARK: Unsigned LEB128 varints

    /// Writes `value` as an unsigned LEB128 varint (7 bits per byte, low bits first).
    /// - Returns: the number of bytes written (1...10).
    @discardableResult
    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt64) -> Int {
        var v = value
        var written = 0
        while v >= 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
            written += 1
        }
        self.writeInteger(UInt8(truncatingIfNeeded: v))
        return written + 1
    }

    /// Writes `value` as an unsigned LEB128 varint.
    @discardableResult
    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt32) -> Int {
        self.writeUnsignedVarint(UInt64(value))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes.
    ///
    /// - Throws: ``WireDecodingError/truncated(field:needed:available:)`` when the buffer ends inside
    ///   the varint, ``WireDecodingError/varintTooLong(field:)`` past 10 bytes, or
    ///   ``WireDecodingError/varintOverflow(field:)`` when the tenth byte carries more than one bit.
    ///   The reader index is unchanged on failure.
    @inlinable
    public mutating func readUnsignedVarint64(field: @autoclosure () -> String = "varint") throws(WireDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = self.readerIndex
        let end = self.writerIndex
        while true {
            guard index < end else {
                throw .truncated(field: field(), needed: index - self.readerIndex + 1, available: end - self.readerIndex)
            }
            let byte = self.getInteger(at: index, as: UInt8.self)!
            index += 1
            if shift == 63 {
                // Tenth byte: only the lowest bit may be set, and it must terminate.
                guard byte & 0x80 == 0 else { throw .varintTooLong(field: field()) }
                guard byte <= 1 else { throw .varintOverflow(field: field()) }
            }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        self.moveReaderIndex(to: index)
        return result
    }

    /// Reads an unsigned LEB128 varint that must fit in 32 bits (at most 5 bytes).
    @inlinable
    public mutating func readUnsignedVarint32(field: @autoclosure () -> String = "varint") throws(WireDecodingError) -> UInt32 {
        let start = self.readerIndex
        var result: UInt32 = 0
        var shift: UInt32 = 0
        var index = start
        let end = self.writerIndex
        while true {
            guard index < end else {
                throw .truncated(field: field(), needed: index - start + 1, available: end - start)
            }
            let byte = self.getInteger(at: index, as: UInt8.self)!
            index += 1
            if shift == 28 {
                guard byte & 0x80 == 0 else { throw .varintTooLong(field: field()) }
                guard byte <= 0x0F else { throw .varintOverflow(field: field()) }
            }
            result |= UInt32(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        self.moveReaderIndex(to: index)
        return result
    }

    // MARK: ZigZag varints (protobuf / Kafka style signed varints)

    /// Writes a signed 32-bit integer with ZigZag encoding followed by an unsigned varint.
    @discardableResult
    @inlinable
    public mutating func writeVarint(_ value: Int32) -> Int {
        self.writeUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    /// Writes a signed 64-bit integer with ZigZag encoding followed by an unsigned varint.
    @discardableResult
    @inlinable
    public mutating func writeVarlong(_ value: Int64) -> Int {
        self.writeUnsignedVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Reads a ZigZag-encoded signed 32-bit varint.
    @inlinable
    public mutating func readVarint(field: @autoclosure () -> String = "varint") throws(WireDecodingError) -> Int32 {
        let raw = try self.readUnsignedVarint32(field: field())
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a ZigZag-encoded signed 64-bit varint.
    @inlinable
    public mutating func readVarlong(field: @autoclosure () -> String = "varlong") throws(WireDecodingError) -> Int64 {
        let raw = try self.readUnsignedVarint64(field: field())
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// The number of bytes `value` takes as an unsigned varint.
    @inlinable
    public static func unsignedVarintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }
}
