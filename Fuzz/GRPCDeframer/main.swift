// fuzz-modules: WireCore GRPCWire
// libFuzzer target for the gRPC message deframer (identity and gzip), grpc-timeout parsing and
// grpc-message percent-decoding.
// Build and run with `scripts/fuzz.sh GRPCDeframer <seconds>` (see Fuzz/README.md).
import GRPCWire
import NIOCore
import NIOHPACK

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let first = bytes.first else { return 0 }
    // The first byte chooses the chunk size, so frame boundaries land everywhere.
    let chunk = Int(first % 17) + 1
    var deframer = MessageDeframer(maxMessageSize: 1 << 16, encoding: first & 0x80 == 0 ? .identity : .gzip)
    var index = 1
    outer: while index < size {
        let end = min(index + chunk, size)
        deframer.append(ByteBuffer(bytes: bytes[index..<end]))
        index = end
        while true {
            do {
                guard let message = try deframer.next() else { break }
                precondition(message.readableBytes <= 1 << 16)
            } catch {
                precondition(error.code == .resourceExhausted || error.code == .internal)
                break outer
            }
        }
    }
    // Header-derived inputs: timeouts and percent-encoded messages must never trap.
    let text = String(decoding: bytes, as: UTF8.self)
    _ = GRPCTimeout.parse(text)
    let decoded = GRPCMessageEncoding.percentDecode(text)
    precondition(GRPCMessageEncoding.percentDecode(GRPCMessageEncoding.percentEncode(decoded)) == decoded)
    return 0
}
