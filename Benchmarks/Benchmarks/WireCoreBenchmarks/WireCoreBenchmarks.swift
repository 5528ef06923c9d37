import Benchmark
import Foundation
import NIOCore
import WireCore

// Benchmark names are referenced by Benchmarks/Report/wirecore.json, which pairs each of ours
// with its anchor and the bytes one iteration processes. Keep the two in sync.

/// Buffer sizes: L2-resident, L3-resident, and far beyond the caches (DRAM).
let checksumSizes: [(label: String, bytes: Int)] = [("64KiB", 64 << 10), ("1MiB", 1 << 20), ("64MiB", 64 << 20)]

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.throughput, .wallClock],
        timeUnits: .microseconds,
        warmupIterations: 3,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    for (label, size) in checksumSizes {
        let data = BenchmarkData.random(count: size)

        Benchmark("Memory read (sum) \(label)", configuration: configuration) { benchmark in
            data.withUnsafeBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for _ in benchmark.scaledIterations {
                    var sum: UInt64 = 0
                    for word in words { sum &+= word }
                    blackHole(sum)
                }
            }
        }

        Benchmark("Memory copy (memcpy) \(label)", configuration: configuration) { benchmark in
            var destination = [UInt8](repeating: 0, count: size)
            data.withUnsafeBytes { source in
                destination.withUnsafeMutableBytes { target in
                    for _ in benchmark.scaledIterations {
                        memcpy(target.baseAddress!, source.baseAddress!, size)
                        blackHole(target.baseAddress!)
                    }
                }
            }
        }

        Benchmark("CRC32C hardware \(label)", configuration: configuration) { benchmark in
            data.withUnsafeBytes { raw in
                for _ in benchmark.scaledIterations { blackHole(CRC32C.hardwareChecksum(raw)) }
            }
        }

        Benchmark("CRC32C software \(label)", configuration: configuration) { benchmark in
            data.withUnsafeBytes { raw in
                for _ in benchmark.scaledIterations { blackHole(CRC32C.softwareChecksum(raw)) }
            }
        }

        Benchmark("CRC32 zlib \(label)", configuration: configuration) { benchmark in
            data.withUnsafeBytes { raw in
                for _ in benchmark.scaledIterations { blackHole(CRC32.checksum(raw)) }
            }
        }
    }

    let text = ByteBuffer(bytes: BenchmarkData.chatText)
    BenchmarkData.exportPayload()
    let codecs: [(String, any CompressionCodec)] = [
        ("gzip", GzipCodec()),
        ("deflate", DeflateCodec()),
        ("lz4-frame", LZ4FrameCodec()),
        ("lz4-block", LZ4BlockCodec()),
        ("snappy", SnappyRawCodec()),
        ("snappy-xerial", SnappyXerialCodec()),
        ("zstd", ZstdCodec()),
    ]
    for (name, codec) in codecs {
        Benchmark("Compress \(name)", configuration: configuration) { benchmark in
            var output = ByteBuffer()
            output.reserveCapacity(text.readableBytes * 2)
            for _ in benchmark.scaledIterations {
                output.clear()
                try codec.compress(text, into: &output)
                blackHole(output.readableBytes)
            }
        }
        let compressed = try! codec.compress(text)
        Benchmark("Decompress \(name)", configuration: configuration) { benchmark in
            var output = ByteBuffer()
            output.reserveCapacity(text.readableBytes * 2)
            for _ in benchmark.scaledIterations {
                output.clear()
                try codec.decompress(compressed, into: &output, maxOutputSize: text.readableBytes)
                blackHole(output.readableBytes)
            }
        }
    }
}
