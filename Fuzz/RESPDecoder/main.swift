// fuzz-modules: WireCore RedisWire
// libFuzzer target for RedisWire's RESP2/RESP3 streaming decoder.
// Build/run with scripts/fuzz.sh RESPDecoder <seconds> (see Fuzz/README.md).
// Checks: decoding never traps, never over-reads, respects the limits, and every decoded value
// re-encodes to bytes that decode to the same value. The same input, cut into command arguments,
// also goes through the single-pass command writer: the bytes it writes must be exactly the
// length it computed and decode to an array of the arguments' bytes.
import NIOCore
@testable import RedisWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var buffer = ByteBuffer(bytes: bytes)
    let decoder = RESPDecoder(limits: RESPDecoderLimits(maxBulkLength: 1 << 16, maxAggregateLength: 1 << 12,
                                                       maxDepth: 16, maxLineLength: 1 << 12))
    var count = 0
    while count < 1000 {
        let before = buffer.readerIndex
        guard let value = try? decoder.decode(from: &buffer) else { break }
        if buffer.readerIndex <= before { fatalError("decoder consumed nothing") }
        var encoded = ByteBuffer()
        RESPEncoder.encode(value, into: &encoded)
        let again = try? RESPDecoder().decode(from: &encoded)
        if !containsNaN(value) {
            if again != value { fatalError("re-encoding changed \(value)") }
        }
        count += 1
    }
    checkBatchDecoder(bytes, decoder: decoder)
    checkCommandWriter(bytes)
    return 0
}

/// `decodeValues` (one pass) must hand over exactly the values `decode` returns one at a time,
/// consume the same bytes, and fail where it fails.
func checkBatchDecoder(_ bytes: UnsafeBufferPointer<UInt8>, decoder: RESPDecoder) {
    var single = ByteBuffer(bytes: bytes)
    var reference: [RESPValue] = []
    var singleFailed = false
    while reference.count < 1000 {
        do {
            guard let value = try decoder.decode(from: &single) else { break }
            reference.append(value)
        } catch {
            singleFailed = true
            break
        }
    }
    var batch = ByteBuffer(bytes: bytes)
    var values: [RESPValue] = []
    var batchFailed = false
    do {
        try decoder.decodeValues(from: &batch) { values.append($0); return values.count < 1000 }
    } catch {
        batchFailed = true
    }
    if values.count != reference.count || zip(values, reference).contains(where: { !containsNaN($0) && $0 != $1 }) {
        fatalError("decodeValues handed over other values than decode")
    }
    if !singleFailed && !batchFailed && batch.readerIndex != single.readerIndex { fatalError("decodeValues consumed other bytes than decode") }
    if singleFailed != batchFailed && reference.count < 1000 { fatalError("decodeValues and decode disagree on malformed input") }
}

/// Cuts the input at every 0xFF byte into arguments (bytes, text when valid UTF-8, integers
/// from the first eight bytes) and checks the command writer on them.
func checkCommandWriter(_ bytes: UnsafeBufferPointer<UInt8>) {
    var arguments: [RedisArgument] = []
    for (i, piece) in bytes.split(separator: 0xFF, omittingEmptySubsequences: false).prefix(64).enumerated() {
        switch i % 3 {
        case 0: arguments.append(.bytes(ByteBuffer(bytes: piece)))
        case 1:
            if let text = String(validating: piece, as: UTF8.self) { arguments.append(.string(text)) } else { arguments.append(.bytes(ByteBuffer(bytes: piece))) }
        default:
            var value: Int64 = 0
            for b in piece.prefix(8) { value = value << 8 | Int64(b) }
            arguments.append(.integer(value))
        }
    }
    let command = RedisCommand("FUZZ", arguments)
    var encoded = ByteBuffer()
    RESPEncoder.encode([command, command], into: &encoded)
    if encoded.readableBytes != 2 * RESPEncoder.encodedLength(command) { fatalError("writer length differs from its computed length") }
    let expected = RESPValue.array(command.arguments.map { .bulkString(ByteBuffer(bytes: $0.bytes)) })
    let decoder = RESPDecoder(limits: RESPDecoderLimits(maxBulkLength: 1 << 20, maxAggregateLength: 1 << 12, maxDepth: 4, maxLineLength: 64))
    for _ in 0..<2 {
        guard let value = try? decoder.decode(from: &encoded), value == expected else { fatalError("written command does not decode to its arguments") }
    }
    if encoded.readableBytes != 0 { fatalError("trailing bytes after the written commands") }
}

func containsNaN(_ value: RESPValue) -> Bool {
    switch value {
    case .double(let d): return d.isNaN
    case .array(let a), .set(let a), .push(let a): return a.contains(where: containsNaN)
    case .map(let m): return m.contains { containsNaN($0.key) || containsNaN($0.value) }
    case .attributed(let attrs, let v): return containsNaN(v) || attrs.contains { containsNaN($0.key) || containsNaN($0.value) }
    default: return false
    }
}
