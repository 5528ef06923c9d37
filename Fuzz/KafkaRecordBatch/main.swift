// fuzz-modules: WireCore KafkaWire
// Decodes arbitrary bytes as the Records field of a Fetch response (v2 batches, legacy message sets,
// all codecs), with and without CRC checks. Must throw KafkaRecordError or succeed, never crash.
// Every record of a decoded batch is then read in full (the decoder's lazy view slices keys, values
// and headers only on access, so reading them is where a bad index would show).
import KafkaWire
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    _ = try? KafkaRecordBatchDecoder.decode(buffer, verifyCRC: true, maxDecompressedSize: 1 << 20)
    if let batches = try? KafkaRecordBatchDecoder.decode(buffer, verifyCRC: false, maxDecompressedSize: 1 << 20) {
        for batch in batches {
            precondition(batch.records.count <= (batch.compression == .none ? size : 1 << 20), "more records than bytes")
            for (index, record) in batch.records.enumerated() {
                precondition(batch.records.offset(at: index) == record.offset, "offset(at:) disagrees with the record")
                let key = record.key, value = record.value
                precondition(key?.readableBytes == record.keyCount && value?.readableBytes == record.valueCount, "sizes disagree with slices")
                for header in record.headers { _ = header.key.utf8.count &+ (header.value?.readableBytes ?? 0) }
            }
        }
    }
    return 0
}
