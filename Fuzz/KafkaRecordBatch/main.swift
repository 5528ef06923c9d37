// fuzz-modules: WireCore KafkaWire
// Decodes arbitrary bytes as the Records field of a Fetch response (v2 batches, legacy message sets,
// all codecs), with and without CRC checks. Must throw KafkaRecordError or succeed, never crash.
import KafkaWire
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    _ = try? KafkaRecordBatchDecoder.decode(buffer, verifyCRC: true, maxDecompressedSize: 1 << 20)
    if let batches = try? KafkaRecordBatchDecoder.decode(buffer, verifyCRC: false, maxDecompressedSize: 1 << 20) {
        for batch in batches {
            precondition(batch.records.count <= size, "more records than input bytes")
        }
    }
    return 0
}
