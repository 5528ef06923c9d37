import NIOCore

/// Writes RESP values and commands to a `ByteBuffer`.
public enum RESPEncoder {
    /// Writes `value` in its RESP3 wire form (RESP2 values are a subset).
    public static func encode(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let s):
            buffer.writeInteger(UInt8(ascii: "+"))
            buffer.writeString(s)
            buffer.writeCRLF()
        case .simpleError(let s):
            buffer.writeInteger(UInt8(ascii: "-"))
            buffer.writeString(s)
            buffer.writeCRLF()
        case .integer(let i):
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeDecimal(i)
            buffer.writeCRLF()
        case .bulkString(let b):
            buffer.writeHeader(UInt8(ascii: "$"), b.readableBytes)
            buffer.writeImmutableBuffer(b)
            buffer.writeCRLF()
        case .null:
            buffer.writeString("_\r\n")
        case .double(let d):
            buffer.writeInteger(UInt8(ascii: ","))
            if d.isNaN {
                buffer.writeString("nan")
            } else if d.isInfinite {
                buffer.writeString(d < 0 ? "-inf" : "inf")
            } else {
                buffer.writeString(d.description)
            }
            buffer.writeCRLF()
        case .boolean(let b):
            buffer.writeString(b ? "#t\r\n" : "#f\r\n")
        case .bigNumber(let s):
            buffer.writeInteger(UInt8(ascii: "("))
            buffer.writeString(s)
            buffer.writeCRLF()
        case .bulkError(let s):
            buffer.writeHeader(UInt8(ascii: "!"), s.utf8.count)
            buffer.writeString(s)
            buffer.writeCRLF()
        case .verbatimString(let format, let text):
            buffer.writeHeader(UInt8(ascii: "="), format.utf8.count + 1 + text.utf8.count)
            buffer.writeString(format)
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(text)
            buffer.writeCRLF()
        case .array(let elements):
            buffer.writeHeader(UInt8(ascii: "*"), elements.count)
            for e in elements { encode(e, into: &buffer) }
        case .set(let elements):
            buffer.writeHeader(UInt8(ascii: "~"), elements.count)
            for e in elements { encode(e, into: &buffer) }
        case .push(let elements):
            buffer.writeHeader(UInt8(ascii: ">"), elements.count)
            for e in elements { encode(e, into: &buffer) }
        case .map(let entries):
            buffer.writeHeader(UInt8(ascii: "%"), entries.count)
            for e in entries {
                encode(e.key, into: &buffer)
                encode(e.value, into: &buffer)
            }
        case .attributed(let attributes, let inner):
            buffer.writeHeader(UInt8(ascii: "|"), attributes.count)
            for e in attributes {
                encode(e.key, into: &buffer)
                encode(e.value, into: &buffer)
            }
            encode(inner, into: &buffer)
        }
    }

    /// Writes a command as a RESP array of bulk strings, the form every Redis server accepts.
    ///
    /// The exact size is computed first and the command is written with one reservation and
    /// raw stores (no per-field `ByteBuffer` calls: each of those pays a uniqueness and an
    /// exclusivity check, which dominated encoding in the pipelined benchmarks).
    public static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        let length = encodedLength(command)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            var writer = RESPRawWriter(out.baseAddress!)
            writer.write(command.arguments)
            return length
        }
    }

    /// Writes several commands back to back (one reservation for all of them).
    public static func encode(_ commands: [RedisCommand], into buffer: inout ByteBuffer) {
        let length = encodedLength(commands)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            var writer = RESPRawWriter(out.baseAddress!)
            // Indices, not `for command in`: no copy (and retain) of each whole command.
            for i in commands.indices { writer.write(commands[i].arguments) }
            return length
        }
    }

    /// The number of bytes `encode(_:into:)` writes for `command`.
    static func encodedLength(_ command: RedisCommand) -> Int {
        encodedLength(arguments: command.arguments)
    }

    static func encodedLength(arguments: [RedisArgument]) -> Int {
        var n = 3 + decimalLength(Int64(arguments.count))
        for argument in arguments {
            let payload = argument.payloadLength
            n += 5 + decimalLength(Int64(payload)) + payload
        }
        return n
    }

    /// The number of bytes the commands take on the wire, back to back.
    static func encodedLength(_ commands: [RedisCommand]) -> Int {
        var n = 0
        for i in commands.indices { n += encodedLength(arguments: commands[i].arguments) }
        return n
    }

    /// Digits (and sign) of `value` in decimal.
    @inline(__always)
    static func decimalLength(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var n = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            n &+= 1
        }
        return n
    }
}

/// Stores RESP command bytes through a raw pointer into memory reserved for exactly the length
/// `RESPEncoder.encodedLength` computed.
struct RESPRawWriter {
    private var pointer: UnsafeMutableRawPointer

    init(_ pointer: UnsafeMutableRawPointer) {
        self.pointer = pointer
    }

    @inline(__always)
    private mutating func byte(_ b: UInt8) {
        pointer.storeBytes(of: b, as: UInt8.self)
        pointer += 1
    }

    @inline(__always)
    private mutating func crlf() {
        byte(13)
        byte(10)
    }

    @inline(__always)
    private mutating func bytes(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, source.count > 0 else { return }
        pointer.copyMemory(from: base, byteCount: source.count)
        pointer += source.count
    }

    private mutating func decimal(_ value: Int64) {
        let count = RESPEncoder.decimalLength(value)
        var magnitude = value.magnitude
        var i = count
        repeat {
            i &-= 1
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: 48 &+ magnitude % 10), toByteOffset: i, as: UInt8.self)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 { pointer.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self) }
        pointer += count
    }

    private mutating func header(_ type: UInt8, _ count: Int) {
        byte(type)
        decimal(Int64(count))
        crlf()
    }

    mutating func write(_ arguments: [RedisArgument]) {
        header(UInt8(ascii: "*"), arguments.count)
        for argument in arguments {
            switch argument {
            case .string(var s):
                s.withUTF8 { utf8 in
                    header(UInt8(ascii: "$"), utf8.count)
                    bytes(UnsafeRawBufferPointer(utf8))
                }
            case .bytes(let b):
                header(UInt8(ascii: "$"), b.readableBytes)
                b.withUnsafeReadableBytes { bytes($0) }
            case .integer(let i):
                header(UInt8(ascii: "$"), RESPEncoder.decimalLength(i))
                decimal(i)
            case .double(let d):
                var text = RedisArgument.text(of: d)
                text.withUTF8 { utf8 in
                    header(UInt8(ascii: "$"), utf8.count)
                    bytes(UnsafeRawBufferPointer(utf8))
                }
            }
            crlf()
        }
    }
}

extension ByteBuffer {
    mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A))
    }

    /// Writes a non-negative or negative decimal integer without going through `String`.
    mutating func writeDecimal(_ value: Int64) {
        if value >= 0 && value < 10 {
            writeInteger(UInt8(48 + value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let written: Int = Swift.withUnsafeMutableBytes(of: &digits) { raw in
            var magnitude = value.magnitude
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(48 + magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                i -= 1
                raw[i] = UInt8(ascii: "-")
            }
            return raw.count - i
        }
        Swift.withUnsafeBytes(of: &digits) { raw in
            _ = writeBytes(UnsafeRawBufferPointer(rebasing: raw[(raw.count - written)...]))
        }
    }

    mutating func writeHeader(_ type: UInt8, _ count: Int) {
        writeInteger(type)
        writeDecimal(Int64(count))
        writeCRLF()
    }
}
