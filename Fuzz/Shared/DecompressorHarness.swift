// The body shared by the Decompress* fuzz targets (each includes this file with `// fuzz-include:`).
// Decodes arbitrary bytes with `codec`: it must fail with an error and leave the output untouched,
// or produce at most the cap; anything it decodes must survive a compress/decompress round trip.
import NIOCore
import WireCore

func fuzzDecompressor(_ codec: some CompressionCodec, _ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let cap = 1 << 20
    var output = ByteBuffer(bytes: [0xAB])
    do {
        try codec.decompress(ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size)), into: &output, maxOutputSize: cap)
    } catch {
        if !(output.readableBytes == 1 && output.getInteger(at: 0, as: UInt8.self) == 0xAB) { fatalError("output not restored after \(error)") }
        return 0
    }
    if !(output.readableBytes <= cap + 1) { fatalError("cap exceeded") }
    output.moveReaderIndex(forwardBy: 1)
    let compressed = try! codec.compress(output)
    let again = try! codec.decompress(compressed, maxOutputSize: output.readableBytes)
    if !(again == output) { fatalError("round trip changed the data") }
    return 0
}
