// fuzz-modules: WireCore
// Drives WireCore's ByteBuffer readers with arbitrary bytes: each step's opcode picks a reader;
// a reader either succeeds and consumes bytes, or throws WireDecodingError and leaves the reader
// index where it was. Nothing may trap.
import NIOCore
import WireCore

let prefixes: [LengthPrefix] = [.int16, .int32, .compact, .varint, .unsignedVarint]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let opcodes = UnsafeBufferPointer(start: data, count: min(size, 16))
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data + opcodes.count, count: size - opcodes.count))
    for opcode in opcodes {
        let before = buffer.readerIndex
        let prefix = prefixes[Int(opcode >> 4) % prefixes.count]
        let maxLength = Int(opcode >> 4) * 64
        do {
            switch opcode & 0x0F {
            case 0: _ = try buffer.readUnsignedVarint32()
            case 1: _ = try buffer.readUnsignedVarint64()
            case 2: _ = try buffer.readVarint()
            case 3: _ = try buffer.readVarlong()
            case 4: _ = try buffer.readLengthPrefix(prefix, maxLength: maxLength)
            case 5: _ = try buffer.readNullableString(prefix: prefix, maxLength: maxLength)
            case 6: _ = try buffer.readString(prefix: prefix)
            case 7: _ = try buffer.readNullableBytes(prefix: prefix, maxLength: maxLength)
            case 8: _ = try buffer.readBytes(prefix: prefix)
            case 9: _ = try buffer.readCString(maxLength: maxLength)
            case 10: _ = try buffer.readCheckedInteger(as: Int64.self)
            case 11: _ = try buffer.readCheckedInteger(as: UInt16.self)
            case 12: _ = try buffer.readCheckedString(length: Int(opcode >> 4) - 2)
            case 13: _ = try buffer.readCheckedBytes(length: Int(opcode >> 4) * 3 - 1)
            case 14: _ = try buffer.readCheckedSlice(length: Int(opcode >> 4))
            default: try buffer.skipChecked(Int(opcode >> 4) - 1)
            }
        } catch {
            if !(buffer.readerIndex == before) { fatalError("reader index moved by a failed read (opcode \(opcode)): \(error)") }
        }
    }
    return 0
}
