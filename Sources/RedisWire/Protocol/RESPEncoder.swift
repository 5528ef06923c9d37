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
    public static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        buffer.writeHeader(UInt8(ascii: "*"), command.arguments.count)
        for argument in command.arguments {
            argument.encode(into: &buffer)
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
