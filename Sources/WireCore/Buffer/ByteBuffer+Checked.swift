import NIOCore

extension ByteBuffer {
    /// Reads a fixed-width integer or throws ``WireDecodingError/truncated(field:needed:available:)``.
    @inlinable
    public mutating func readCheckedInteger<T: FixedWidthInteger>(
        endianness: Endianness = .big,
        as: T.Type = T.self,
        field: @autoclosure () -> String = "integer"
    ) throws(WireDecodingError) -> T {
        guard let value = self.readInteger(endianness: endianness, as: T.self) else {
            throw .truncated(field: field(), needed: MemoryLayout<T>.size, available: self.readableBytes)
        }
        return value
    }

    /// Reads exactly `length` bytes as a slice or throws ``WireDecodingError/truncated(field:needed:available:)``.
    @inlinable
    public mutating func readCheckedSlice(length: Int, field: @autoclosure () -> String = "bytes") throws(WireDecodingError) -> ByteBuffer {
        guard length >= 0 else { throw .negativeLength(field: field(), length: length) }
        guard let slice = self.readSlice(length: length) else {
            throw .truncated(field: field(), needed: length, available: self.readableBytes)
        }
        return slice
    }

    /// Reads exactly `length` bytes as a UTF-8 string, validating the encoding.
    @inlinable
    public mutating func readCheckedString(length: Int, field: @autoclosure () -> String = "string") throws(WireDecodingError) -> String {
        guard length >= 0 else { throw .negativeLength(field: field(), length: length) }
        guard length <= self.readableBytes else {
            throw .truncated(field: field(), needed: length, available: self.readableBytes)
        }
        let decoded: String? = self.withUnsafeReadableBytes { raw in
            let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<length]).assumingMemoryBound(to: UInt8.self)
            // ASCII (most protocol strings) is valid UTF-8 as it is: skip the general validator.
            var ascii = true
            for byte in bytes where byte >= 0x80 {
                ascii = false
                break
            }
            return ascii ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
        }
        guard let string = decoded else { throw .invalidUTF8(field: field()) }
        self.moveReaderIndex(forwardBy: length)
        return string
    }

    /// Reads exactly `length` bytes as `[UInt8]`.
    @inlinable
    public mutating func readCheckedBytes(length: Int, field: @autoclosure () -> String = "bytes") throws(WireDecodingError) -> [UInt8] {
        guard length >= 0 else { throw .negativeLength(field: field(), length: length) }
        guard let bytes = self.readBytes(length: length) else {
            throw .truncated(field: field(), needed: length, available: self.readableBytes)
        }
        return bytes
    }

    /// Skips `length` bytes or throws if fewer are readable.
    @inlinable
    public mutating func skipChecked(_ length: Int, field: @autoclosure () -> String = "bytes") throws(WireDecodingError) {
        guard length >= 0 else { throw .negativeLength(field: field(), length: length) }
        guard length <= self.readableBytes else {
            throw .truncated(field: field(), needed: length, available: self.readableBytes)
        }
        self.moveReaderIndex(forwardBy: length)
    }
}
