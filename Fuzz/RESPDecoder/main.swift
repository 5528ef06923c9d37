// fuzz-modules: WireCore RedisWire
// libFuzzer target for RedisWire's RESP2/RESP3 streaming decoder.
// Build/run with scripts/fuzz.sh RESPDecoder <seconds> (see Fuzz/README.md).
// Checks: decoding never traps, never over-reads, respects the limits, and every decoded value
// re-encodes to bytes that decode to the same value.
import NIOCore
import RedisWire

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
    return 0
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
