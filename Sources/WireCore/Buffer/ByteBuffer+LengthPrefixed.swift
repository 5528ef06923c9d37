import NIOCore

extension ByteBuffer {
    // MARK: Length prefixes

    /// Reads a length prefix. Returns `nil` for the null encoding of `prefix`.
    ///
    /// The reader index is unchanged on failure.
    @inlinable
    public mutating func readLengthPrefix(
        _ prefix: LengthPrefix,
        maxLength: Int = defaultMaxFieldLength,
        field: @autoclosure () -> String = "length"
    ) throws(WireDecodingError) -> Int? {
        var copy = self
        let length: Int
        switch prefix {
        case .int16:
            length = Int(try copy.readCheckedInteger(as: Int16.self, field: field()))
        case .int32:
            length = Int(try copy.readCheckedInteger(as: Int32.self, field: field()))
        case .compact:
            let raw = try copy.readUnsignedVarint32(field: field())
            length = Int(raw) - 1
        case .varint:
            length = Int(try copy.readVarint(field: field()))
        case .unsignedVarint:
            let raw = try copy.readUnsignedVarint64(field: field())
            guard raw <= UInt64(Int.max) else { throw .lengthTooLarge(field: field(), length: Int.max, limit: maxLength) }
            length = Int(raw)
        }
        if length == -1 && prefix.supportsNull {
            self = copy
            return nil
        }
        guard length >= 0 else { throw .negativeLength(field: field(), length: length) }
        guard length <= maxLength else { throw .lengthTooLarge(field: field(), length: length, limit: maxLength) }
        self = copy
        return length
    }

    /// Writes a length prefix; `nil` writes the null encoding.
    ///
    /// - Precondition: `length` fits the prefix, and `nil` is only passed for prefixes that support null.
    @inlinable
    public mutating func writeLengthPrefix(_ prefix: LengthPrefix, _ length: Int?) {
        switch prefix {
        case .int16:
            precondition(length.map { $0 <= Int(Int16.max) } ?? true, "length does not fit an int16 prefix")
            self.writeInteger(Int16(length ?? -1))
        case .int32:
            precondition(length.map { $0 <= Int(Int32.max) } ?? true, "length does not fit an int32 prefix")
            self.writeInteger(Int32(length ?? -1))
        case .compact:
            self.writeUnsignedVarint(UInt64(length.map { $0 + 1 } ?? 0))
        case .varint:
            self.writeVarint(Int32(length ?? -1))
        case .unsignedVarint:
            precondition(length != nil, "an unsigned varint prefix cannot encode null")
            self.writeUnsignedVarint(UInt64(length!))
        }
    }

    // MARK: Strings

    /// Reads a non-null length-prefixed UTF-8 string.
    @inlinable
    public mutating func readString(
        prefix: LengthPrefix,
        maxLength: Int = defaultMaxFieldLength,
        field: @autoclosure () -> String = "string"
    ) throws(WireDecodingError) -> String {
        var copy = self  // a null must not consume its length prefix: reader index unchanged on failure
        guard let string = try copy.readNullableString(prefix: prefix, maxLength: maxLength, field: field()) else {
            throw .unexpectedNull(field: field())
        }
        self = copy
        return string
    }

    /// Reads a nullable length-prefixed UTF-8 string.
    @inlinable
    public mutating func readNullableString(
        prefix: LengthPrefix,
        maxLength: Int = defaultMaxFieldLength,
        field: @autoclosure () -> String = "string"
    ) throws(WireDecodingError) -> String? {
        var copy = self
        guard let length = try copy.readLengthPrefix(prefix, maxLength: maxLength, field: field()) else {
            self = copy
            return nil
        }
        let string = try copy.readCheckedString(length: length, field: field())
        self = copy
        return string
    }

    /// Writes a length-prefixed UTF-8 string; `nil` writes the prefix's null encoding.
    @discardableResult
    @inlinable
    public mutating func writeString(_ string: String?, prefix: LengthPrefix) -> Int {
        let start = self.writerIndex
        guard let string else {
            self.writeLengthPrefix(prefix, nil)
            return self.writerIndex - start
        }
        self.writeLengthPrefix(prefix, string.utf8.count)
        self.writeString(string)
        return self.writerIndex - start
    }

    // MARK: Bytes

    /// Reads a non-null length-prefixed byte field as a slice of this buffer (no copy).
    @inlinable
    public mutating func readBytes(
        prefix: LengthPrefix,
        maxLength: Int = defaultMaxFieldLength,
        field: @autoclosure () -> String = "bytes"
    ) throws(WireDecodingError) -> ByteBuffer {
        var copy = self  // a null must not consume its length prefix: reader index unchanged on failure
        guard let bytes = try copy.readNullableBytes(prefix: prefix, maxLength: maxLength, field: field()) else {
            throw .unexpectedNull(field: field())
        }
        self = copy
        return bytes
    }

    /// Reads a nullable length-prefixed byte field as a slice of this buffer (no copy).
    @inlinable
    public mutating func readNullableBytes(
        prefix: LengthPrefix,
        maxLength: Int = defaultMaxFieldLength,
        field: @autoclosure () -> String = "bytes"
    ) throws(WireDecodingError) -> ByteBuffer? {
        var copy = self
        guard let length = try copy.readLengthPrefix(prefix, maxLength: maxLength, field: field()) else {
            self = copy
            return nil
        }
        let slice = try copy.readCheckedSlice(length: length, field: field())
        self = copy
        return slice
    }

    /// Writes a length-prefixed byte field; `nil` writes the prefix's null encoding.
    @discardableResult
    @inlinable
    public mutating func writeBytes(_ bytes: ByteBuffer?, prefix: LengthPrefix) -> Int {
        let start = self.writerIndex
        guard var bytes else {
            self.writeLengthPrefix(prefix, nil)
            return self.writerIndex - start
        }
        self.writeLengthPrefix(prefix, bytes.readableBytes)
        self.writeBuffer(&bytes)
        return self.writerIndex - start
    }

    /// Writes a length-prefixed byte field from a byte sequence.
    @discardableResult
    @inlinable
    public mutating func writeBytes<Bytes: Collection>(_ bytes: Bytes?, prefix: LengthPrefix) -> Int where Bytes.Element == UInt8 {
        let start = self.writerIndex
        guard let bytes else {
            self.writeLengthPrefix(prefix, nil)
            return self.writerIndex - start
        }
        self.writeLengthPrefix(prefix, bytes.count)
        self.writeBytes(bytes)
        return self.writerIndex - start
    }

    // MARK: C strings

    /// Reads a NUL-terminated UTF-8 string (PostgreSQL style) and consumes the terminator.
    @inlinable
    public mutating func readCString(
        maxLength: Int = defaultMaxFieldLength,
        field: @autoclosure () -> String = "cstring"
    ) throws(WireDecodingError) -> String {
        let found: Int? = self.withUnsafeReadableBytes { raw in
            raw.prefix(maxLength + 1).firstIndex(of: 0)
        }
        guard let length = found else {
            if self.readableBytes > maxLength {
                throw .lengthTooLarge(field: field(), length: self.readableBytes, limit: maxLength)
            }
            throw .missingTerminator(field: field())
        }
        var copy = self
        let string = try copy.readCheckedString(length: length, field: field())
        copy.moveReaderIndex(forwardBy: 1)
        self = copy
        return string
    }

    /// Writes `string` followed by a NUL byte.
    ///
    /// - Precondition: `string` contains no NUL byte.
    @discardableResult
    @inlinable
    public mutating func writeCString(_ string: String) -> Int {
        precondition(!string.utf8.contains(0), "a C string cannot contain NUL")
        let n = self.writeString(string)
        self.writeInteger(UInt8(0))
        return n + 1
    }
}
