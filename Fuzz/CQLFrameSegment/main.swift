// fuzz-modules: WireCore CQLClient
// Feeds arbitrary bytes to the CQL v4 frame decoder and the v5 segment decoder (plain and lz4),
// reassembles frames from segments and decodes every frame as a response (incl. compressed v4
// bodies). Everything must throw or succeed, never trap.
import NIOCore
@testable import CQLClient

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data + 1, count: size - 1))
    let version: CQLProtocolVersion = mode & 1 == 0 ? .v4 : .v5
    var frames: [CQLFrame] = []
    if mode & 2 == 0 {
        while let frame = try? CQLFrame.decode(from: &buffer) { frames.append(frame) }
    } else {
        let codec = CQLSegmentCodec(compressed: mode & 4 != 0)
        var assembler = CQLSegmentFrameAssembler()
        while let segment = try? codec.decodeSegment(from: &buffer) {
            guard let more = try? assembler.append(segment) else { break }
            frames += more
        }
    }
    for frame in frames.prefix(64) {
        var frame = frame
        if frame.header.flags.contains(.compression) {
            guard let plain = try? CQLFrameCompressor(algorithm: mode & 8 == 0 ? .lz4 : .snappy).decompressFrame(frame) else { continue }
            frame = plain
        }
        _ = try? CQLResponseFrame.decode(frame, version: version)
    }
    return 0
}
