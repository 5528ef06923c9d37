// fuzz-modules: WireCore PGWire
// Feeds arbitrary bytes to PGWire's backend message decoder (as a stream of messages) and to the
// binary type decoders. Decoding either succeeds or throws a typed error; on error the reader
// index must not move. Nothing may trap.
import Foundation
import NIOCore
import PGWire

let decodeTypes: [PostgresDataType] = [
    .bool, .int2, .int4, .int8, .float4, .float8, .numeric, .text, .bytea, .uuid, .date, .time, .timetz,
    .timestamp, .timestamptz, .interval, .jsonb, .inet, .cidr, .macaddr, .int4Array, .textArray, .int8range,
    .tstzrange, .numrange,
]

func decodeValue(_ type: PostgresDataType, _ bytes: ByteBuffer) {
    let ctx = PostgresCodingContext.default
    var b = bytes
    switch type {
    case .bool: _ = try? Bool(from: &b, type: type, format: .binary, context: ctx)
    case .int2, .int4, .int8: _ = try? Int64(from: &b, type: type, format: .binary, context: ctx)
    case .float4, .float8: _ = try? Double(from: &b, type: type, format: .binary, context: ctx)
    case .numeric: _ = try? PostgresNumeric(from: &b, type: type, format: .binary, context: ctx)
    case .text, .jsonb: _ = try? String(from: &b, type: type, format: .binary, context: ctx)
    case .bytea: _ = try? ByteBuffer(from: &b, type: type, format: .binary, context: ctx)
    case .uuid: _ = try? UUID(from: &b, type: type, format: .binary, context: ctx)
    case .date, .timestamp, .timestamptz: _ = try? Date(from: &b, type: type, format: .binary, context: ctx)
    case .time: _ = try? PostgresTime(from: &b, type: type, format: .binary, context: ctx)
    case .timetz: _ = try? PostgresTimeTZ(from: &b, type: type, format: .binary, context: ctx)
    case .interval: _ = try? PostgresInterval(from: &b, type: type, format: .binary, context: ctx)
    case .inet, .cidr: _ = try? PostgresInet(from: &b, type: type, format: .binary, context: ctx)
    case .macaddr: _ = try? PostgresMacAddress(from: &b, type: type, format: .binary, context: ctx)
    case .int4Array: _ = try? PostgresArray<Int32?>(from: &b, type: type, format: .binary, context: ctx)
    case .textArray: _ = try? PostgresArray<String?>(from: &b, type: type, format: .binary, context: ctx)
    case .int8range: _ = try? PostgresRange<Int64>(from: &b, type: type, format: .binary, context: ctx)
    case .tstzrange: _ = try? PostgresRange<Date>(from: &b, type: type, format: .binary, context: ctx)
    case .numrange: _ = try? PostgresRange<PostgresNumeric>(from: &b, type: type, format: .binary, context: ctx)
    default: break
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    if mode & 0x80 != 0 {
        decodeValue(decodeTypes[Int(mode & 0x7F) % decodeTypes.count], buffer)
        return 0
    }
    let limit = mode & 1 == 0 ? BackendMessage.defaultMaximumMessageSize : 64
    while true {
        let before = buffer.readerIndex
        do {
            guard let message = try BackendMessage.decode(from: &buffer, maximumMessageSize: limit) else { break }
            if case .dataRow(let row) = message {
                // Validated rows must be walkable without trapping.
                let columns = PostgresColumns((0..<row.columnCount).map {
                    PostgresColumn(name: "c\($0)", dataType: decodeTypes[$0 % decodeTypes.count], format: .binary)
                })
                let r = PostgresRow(columns: columns, data: row)
                for i in 0..<row.columnCount { if let cell = r.cell(at: i) { decodeValue(columns.columns[i].dataType, cell) } }
            }
            // Re-encoding a decoded message must decode to the same message.
            var again = ByteBuffer()
            message.encode(into: &again)
            let roundTrip = try? BackendMessage.decode(from: &again)
            precondition(roundTrip == message, "re-encoded \(message) decoded differently")
        } catch {
            precondition(buffer.readerIndex == before, "reader index moved by a failed decode: \(error)")
            break
        }
    }
    return 0
}
