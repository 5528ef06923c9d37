import NIOCore
import Testing
import WireCore

/// Every codec under test, by name (Swift Testing arguments must be Sendable and printable).
enum CodecKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case gzip, deflate, deflateRaw, lz4Frame, lz4Block, snappy, snappyXerial, zstd

    var codec: any CompressionCodec {
        switch self {
        case .gzip: return GzipCodec()
        case .deflate: return DeflateCodec()
        case .deflateRaw: return DeflateCodec(format: .raw)
        case .lz4Frame: return LZ4FrameCodec()
        case .lz4Block: return LZ4BlockCodec()
        case .snappy: return SnappyRawCodec()
        case .snappyXerial: return SnappyXerialCodec()
        case .zstd: return ZstdCodec()
        }
    }

    /// Formats whose streams start with a magic number / checked header, so random bytes can never decode.
    var hasCheckedHeader: Bool {
        switch self {
        case .gzip, .lz4Frame, .zstd: return true
        case .deflate, .deflateRaw, .lz4Block, .snappy, .snappyXerial: return false
        }
    }

    var description: String { rawValue }
}

/// Test payloads: sizes and shapes that stress each codec differently.
enum Payloads {
    static let empty: [UInt8] = []
    static let oneByte: [UInt8] = [0x2A]

    /// Chat-like JSON records: compressible the way real traffic is.
    static let text: [UInt8] = {
        var rng = SplitMix64(seed: 7)
        let words = ["hello", "are", "you", "there", "message", "chat", "ok", "lunch", "tomorrow", "👍", "see", "you", "soon"]
        var result = ""
        var id = 1_000_000
        while result.utf8.count < 300_000 {
            id += Int(rng.next() % 17)
            let count = 3 + Int(rng.next() % 12)
            let body = (0..<count).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
            result += #"{"messageId":\#(id),"senderId":\#(rng.next() % 5000),"receiverId":\#(rng.next() % 5000),"type":"plainText","text":"\#(body)","reactions":{}}"#
            result += "\n"
        }
        return Array(result.utf8)
    }()

    /// Random bytes: incompressible.
    static let random: [UInt8] = {
        var rng = SplitMix64(seed: 99)
        return (0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }()

    /// Highly compressible: 4 MiB of zeros.
    static let zeros = [UInt8](repeating: 0, count: 4 << 20)

    static let all: [(String, [UInt8])] = [("empty", empty), ("oneByte", oneByte), ("text", text), ("random", random), ("zeros", zeros)]
}

@Suite("Compression codecs")
struct CompressionTests {
    @Test("Round trip: empty, 1 byte, text, incompressible, large", arguments: CodecKind.allCases)
    func roundTrip(kind: CodecKind) throws {
        let codec = kind.codec
        for (label, payload) in Payloads.all {
            let compressed = try codec.compress(ByteBuffer(bytes: payload))
            // Decompressing into a buffer that already holds bytes appends after them.
            var output = ByteBuffer(bytes: [1, 2, 3])
            try codec.decompress(compressed, into: &output, maxOutputSize: payload.count)
            #expect(output.readBytes(length: 3) == [1, 2, 3], "\(kind) \(label)")
            #expect(Array(output.readableBytesView) == payload, "\(kind) \(label) round trip")
            if label == "text" || label == "zeros" {
                #expect(compressed.readableBytes < payload.count / 2, "\(kind) \(label) compresses")
            }
        }
    }

    @Test("Compressing appends after existing bytes and leaves the input's reader index alone", arguments: CodecKind.allCases)
    func compressAppends(kind: CodecKind) throws {
        var input = ByteBuffer(bytes: [9, 9] + Payloads.text.prefix(5000))
        input.moveReaderIndex(forwardBy: 2)
        var output = ByteBuffer(bytes: [7])
        try kind.codec.compress(input, into: &output)
        #expect(input.readerIndex == 2)
        #expect(output.readInteger(as: UInt8.self) == 7)
        let restored = try kind.codec.decompress(output, maxOutputSize: 5000)
        #expect(Array(restored.readableBytesView) == Array(Payloads.text.prefix(5000)))
    }

    @Test("A decompression bomb fails at the cap and leaves the output untouched", arguments: CodecKind.allCases)
    func bomb(kind: CodecKind) throws {
        let codec = kind.codec
        let compressed = try codec.compress(ByteBuffer(bytes: Payloads.zeros))
        var output = ByteBuffer(bytes: [5, 5])
        #expect(throws: CompressionError.outputTooLarge(limit: 1 << 20)) {
            try codec.decompress(compressed, into: &output, maxOutputSize: 1 << 20)
        }
        #expect(Array(output.readableBytesView) == [5, 5])
        // The exact size passes; one byte less does not.
        let exact = try codec.decompress(compressed, maxOutputSize: Payloads.zeros.count)
        #expect(exact.readableBytes == Payloads.zeros.count)
        #expect(throws: CompressionError.outputTooLarge(limit: Payloads.zeros.count - 1)) {
            _ = try codec.decompress(compressed, maxOutputSize: Payloads.zeros.count - 1)
        }
        #expect(throws: CompressionError.outputTooLarge(limit: 0)) {
            _ = try codec.decompress(try codec.compress(ByteBuffer(bytes: Payloads.oneByte)), maxOutputSize: 0)
        }
    }

    @Test("Truncated input fails cleanly at every cut", arguments: CodecKind.allCases)
    func truncation(kind: CodecKind) throws {
        let codec = kind.codec
        let payload = Array(Payloads.text.prefix(100_000))
        let compressed = Array(try codec.compress(ByteBuffer(bytes: payload)).readableBytesView)
        var cuts = Set([0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 19, 20, 21, compressed.count - 1, compressed.count - 2, compressed.count - 4, compressed.count - 8])
        var step = 1
        while step < compressed.count { cuts.insert(compressed.count - step); cuts.insert(step * 3 / 2); step *= 2 }
        for cut in cuts.sorted() where cut >= 0 && cut < compressed.count {
            var output = ByteBuffer()
            do {
                try codec.decompress(ByteBuffer(bytes: compressed[..<cut]), into: &output, maxOutputSize: payload.count)
                if (kind == .snappyXerial && cut >= 16) || kind == .lz4Block {
                    // Formats without an end marker or total size: a xerial stream cut between blocks,
                    // or a raw LZ4 block cut right after a literal run, is a valid shorter stream
                    // (snappy-java and liblz4 accept it too). It must decode to a strict prefix.
                    // (LZ4BlockCodec.decompress(_:into:uncompressedSize:) detects it.)
                    #expect(output.readableBytes < payload.count && Array(output.readableBytesView) == Array(payload.prefix(output.readableBytes)),
                            "\(kind) cut at \(cut) of \(compressed.count) decoded to something other than a prefix")
                    if kind == .lz4Block {
                        var exact = ByteBuffer()
                        #expect(throws: CompressionError.self) {
                            try LZ4BlockCodec().decompress(ByteBuffer(bytes: compressed[..<cut]), into: &exact, uncompressedSize: payload.count)
                        }
                    }
                } else {
                    Issue.record("\(kind): input cut at \(cut) of \(compressed.count) bytes decoded without error")
                }
            } catch {
                #expect(output.readableBytes == 0, "\(kind): output restored after \(error)")
            }
        }
    }

    @Test("Random garbage never crashes, respects the cap, and fails for framed formats", arguments: CodecKind.allCases)
    func garbage(kind: CodecKind) {
        let codec = kind.codec
        var rng = SplitMix64(seed: UInt64(kind.rawValue.utf8.count) &* 7919)
        for round in 0..<2000 {
            let length = Int(rng.next() % 300)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if round % 3 == 0, kind == .snappyXerial {
                // Garbage behind a valid header exercises the block loop.
                bytes = SnappyXerialCodec.magic + [0, 0, 0, 1, 0, 0, 0, 1] + bytes
            }
            do {
                let output = try codec.decompress(ByteBuffer(bytes: bytes), maxOutputSize: 64 * 1024)
                #expect(output.readableBytes <= 64 * 1024)
                if kind.hasCheckedHeader {
                    Issue.record("\(kind): \(length) random bytes decoded without error")
                }
            } catch {
                // Expected: a typed CompressionError.
            }
        }
    }

    @Test("Wrong declared sizes are detected")
    func wrongSizes() throws {
        let payload = Array(Payloads.text.prefix(10_000))
        // Snappy: the varint length preamble claims one byte more / less.
        var snappy = Array(try SnappyRawCodec().compress(ByteBuffer(bytes: payload)).readableBytesView)
        #expect(snappy[0] == 0x90 && snappy[1] == 0x4E)  // 10_000 as a varint
        snappy[0] = 0x91
        #expect(throws: CompressionError.self) { _ = try SnappyRawCodec().decompress(ByteBuffer(bytes: snappy), maxOutputSize: 1 << 20) }
        snappy[0] = 0x8F
        #expect(throws: CompressionError.self) { _ = try SnappyRawCodec().decompress(ByteBuffer(bytes: snappy), maxOutputSize: 1 << 20) }
        // Snappy: a tiny input claiming a huge length is rejected before allocating.
        #expect(throws: CompressionError.self) {
            _ = try SnappyRawCodec().decompress(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0x7F, 0x00]), maxOutputSize: Int.max)
        }

        // LZ4 block with an explicit size: any other size fails.
        let block = try LZ4BlockCodec().compress(ByteBuffer(bytes: payload))
        var output = ByteBuffer()
        try LZ4BlockCodec().decompress(block, into: &output, uncompressedSize: payload.count)
        #expect(Array(output.readableBytesView) == payload)
        for wrong in [payload.count - 1, payload.count + 1, 0] {
            var scratch = ByteBuffer()
            #expect(throws: CompressionError.self) { try LZ4BlockCodec().decompress(block, into: &scratch, uncompressedSize: wrong) }
            #expect(scratch.readableBytes == 0)
        }

        // LZ4 frame with a stored content size: flip a size byte (the header checksum catches it).
        var frame = Array(try LZ4FrameCodec(storeContentSize: true).compress(ByteBuffer(bytes: payload)).readableBytesView)
        frame[6] ^= 0x01
        #expect(throws: CompressionError.self) { _ = try LZ4FrameCodec().decompress(ByteBuffer(bytes: frame), maxOutputSize: 1 << 20) }

        // zstd: the frame content size (one-shot frames store it) says one byte more.
        var zstd = Array(try ZstdCodec().compress(ByteBuffer(bytes: payload)).readableBytesView)
        let fcsOffset = 4 + 1 + (zstd[4] & 0x20 == 0 ? 1 : 0)  // magic, descriptor, window byte unless single segment
        #expect(zstd[4] >> 6 == 1)  // 2-byte content size field (value - 256)
        let stored = Int(zstd[fcsOffset]) | Int(zstd[fcsOffset + 1]) << 8
        #expect(stored + 256 == payload.count)
        zstd[fcsOffset] &+= 1
        #expect(throws: CompressionError.self) { _ = try ZstdCodec().decompress(ByteBuffer(bytes: zstd), maxOutputSize: 1 << 20) }

        // gzip: the ISIZE trailer disagrees.
        var gzip = Array(try GzipCodec().compress(ByteBuffer(bytes: payload)).readableBytesView)
        gzip[gzip.count - 4] ^= 0x01
        #expect(throws: CompressionError.self) { _ = try GzipCodec().decompress(ByteBuffer(bytes: gzip), maxOutputSize: 1 << 20) }

        // xerial: a block length pointing past the end is truncation, a negative one is corruption.
        var xerial = Array(try SnappyXerialCodec().compress(ByteBuffer(bytes: payload)).readableBytesView)
        xerial[19] &+= 1
        #expect(throws: CompressionError.self) { _ = try SnappyXerialCodec().decompress(ByteBuffer(bytes: xerial), maxOutputSize: 1 << 20) }
        xerial.replaceSubrange(16..<20, with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: CompressionError.truncatedInput(codec: "snappy")) {
            _ = try SnappyXerialCodec().decompress(ByteBuffer(bytes: xerial), maxOutputSize: 1 << 20)
        }
        xerial[16] = 0x80
        #expect(throws: CompressionError.self) { _ = try SnappyXerialCodec().decompress(ByteBuffer(bytes: xerial), maxOutputSize: 1 << 20) }
    }

    @Test("Xerial framing: exact header, 32 KiB blocks, and plain raw snappy accepted")
    func xerialFraming() throws {
        let payload = Array(Payloads.text.prefix(70_000))
        let framed = Array(try SnappyXerialCodec().compress(ByteBuffer(bytes: payload)).readableBytesView)
        #expect(Array(framed.prefix(16)) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        // Three blocks: 32768 + 32768 + 4464 uncompressed bytes.
        var buffer = ByteBuffer(bytes: framed)
        buffer.moveReaderIndex(forwardBy: 16)
        var blocks: [Int] = []
        while buffer.readableBytes > 0 {
            let length = Int(buffer.readInteger(as: Int32.self)!)
            let block = buffer.readSlice(length: length)!
            blocks.append(try SnappyRawCodec().decompress(block, maxOutputSize: 1 << 20).readableBytes)
        }
        #expect(blocks == [32768, 32768, 70_000 - 65536])
        // Raw snappy (no header) decodes through the xerial codec, like snappy-java's SnappyInputStream.
        let raw = try SnappyRawCodec().compress(ByteBuffer(bytes: payload))
        let decoded = try SnappyXerialCodec().decompress(raw, maxOutputSize: payload.count)
        #expect(Array(decoded.readableBytesView) == payload)
        // A header with no blocks is an empty stream; we write empty input as one empty block.
        #expect(try SnappyXerialCodec().decompress(ByteBuffer(bytes: framed.prefix(16)), maxOutputSize: 0).readableBytes == 0)
        let empty = Array(try SnappyXerialCodec().compress(ByteBuffer()).readableBytesView)
        #expect(empty == Array(framed.prefix(16)) + [0, 0, 0, 1, 0])
    }

    @Test("Concatenated gzip members, lz4 frames and zstd frames decode as one stream")
    func concatenatedFrames() throws {
        let first = Array("first part, ".utf8)
        let second = Array("second part".utf8)
        let codecs: [any CompressionCodec] = [GzipCodec(), LZ4FrameCodec(), ZstdCodec()]
        for codec in codecs {
            var joined = try codec.compress(ByteBuffer(bytes: first))
            var tail = try codec.compress(ByteBuffer(bytes: second))
            joined.writeBuffer(&tail)
            let decoded = try codec.decompress(joined, maxOutputSize: 100)
            #expect(Array(decoded.readableBytesView) == first + second, "\(codec.name)")
        }
        // zlib (deflate) allows nothing after its trailer.
        var deflate = try DeflateCodec().compress(ByteBuffer(bytes: first))
        deflate.writeBytes([0])
        #expect(throws: CompressionError.trailingBytes(codec: "deflate", count: 1)) {
            _ = try DeflateCodec().decompress(deflate, maxOutputSize: 100)
        }
    }

    @Test("Invalid arguments are rejected")
    func invalidArguments() throws {
        let compressed = try GzipCodec().compress(ByteBuffer(bytes: Payloads.oneByte))
        #expect(throws: CompressionError.self) { _ = try GzipCodec().decompress(compressed, maxOutputSize: -1) }
        #expect(throws: CompressionError.self) { _ = try GzipCodec(level: 42).compress(ByteBuffer(bytes: Payloads.oneByte)) }
        #expect(GzipCodec().name == "gzip")
        #expect(DeflateCodec().name == "deflate")
        #expect(ZstdCodec().name == "zstd")
        #expect(LZ4FrameCodec().name == "lz4")
        #expect(SnappyXerialCodec().name == "snappy")
    }
}

@Suite("Checksums and compression article")
struct ChecksumsAndCompressionArticleTests {
    /// The code of Sources/WireCore/WireCore.docc/ChecksumsAndCompression.md, compiled and run.
    @Test func articleExample() throws {
        let batch = ByteBuffer(string: "records...")
        let crc = CRC32C.checksum(batch)
        let partition = Murmur2.kafkaPartition(key: Array("user-42".utf8), partitionCount: 12)
        let token = Murmur3.cassandraToken(Array("user-42".utf8))

        let codec: any CompressionCodec = ZstdCodec()
        let compressed = try codec.compress(batch)
        let restored = try codec.decompress(compressed, maxOutputSize: 16 << 20)
        #expect(restored == batch && crc != 0 && partition < 12 && token != 0)
    }
}
