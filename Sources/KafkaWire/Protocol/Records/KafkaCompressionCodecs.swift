import NIOCore
import WireCore

/// Maps Kafka's compression attribute to WireCore's codecs.
enum KafkaCompressionCodecs {
    /// The 8-byte magic that starts a snappy stream in Kafka's (xerial) framing.
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]

    static func compress(_ input: ByteBuffer, compression: KafkaCompression, into output: inout ByteBuffer) throws {
        switch compression {
        case .none: var copy = input; output.writeBuffer(&copy)
        case .gzip: try GzipCodec().compress(input, into: &output)
        case .snappy: try SnappyXerialCodec().compress(input, into: &output)
        case .lz4: try LZ4FrameCodec().compress(input, into: &output)
        case .zstd: try ZstdCodec().compress(input, into: &output)
        }
    }

    static func decompress(_ input: ByteBuffer, compression: KafkaCompression, into output: inout ByteBuffer, maxOutputSize: Int) throws {
        switch compression {
        case .none: var copy = input; output.writeBuffer(&copy)
        case .gzip: try GzipCodec().decompress(input, into: &output, maxOutputSize: maxOutputSize)
        case .snappy:
            if input.getBytes(at: input.readerIndex, length: 8) == xerialMagic {
                try SnappyXerialCodec().decompress(input, into: &output, maxOutputSize: maxOutputSize)
            } else {
                try SnappyRawCodec().decompress(input, into: &output, maxOutputSize: maxOutputSize)
            }
        case .lz4: try LZ4FrameCodec().decompress(input, into: &output, maxOutputSize: maxOutputSize)
        case .zstd: try ZstdCodec().decompress(input, into: &output, maxOutputSize: maxOutputSize)
        }
    }
}
