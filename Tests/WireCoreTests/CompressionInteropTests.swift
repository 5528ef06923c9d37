import Foundation
import NIOCore
import Testing
import WireCore

/// Interop with the Python reference bindings of the same C libraries (zlib/gzip, lz4,
/// python-snappy, zstandard) and kafka-python's xerial snappy framing, through
/// `scripts/oracles/compression_oracle.py` run by the peers' venv python (`WIRESTACK_PY`).
@Suite("Compression interop with the Python reference bindings")
struct CompressionInteropTests {
    /// Oracle codec name → our codec.
    static let pairs: [(String, any CompressionCodec)] = [
        ("gzip", GzipCodec()),
        ("deflate", DeflateCodec()),
        ("lz4-frame", LZ4FrameCodec()),
        ("lz4-block", LZ4BlockCodec()),
        ("snappy", SnappyRawCodec()),
        ("snappy-xerial", SnappyXerialCodec()),
        ("zstd", ZstdCodec()),
    ]

    static let payloads: [(String, [UInt8])] = [
        ("empty", Payloads.empty),
        ("oneByte", Payloads.oneByte),
        ("text", Payloads.text),
        ("random", Payloads.random),
        ("zeros", Array(Payloads.zeros.prefix(1 << 20))),
    ]

    @Test("Python-compressed data decodes here, and our output decodes in Python")
    func bothDirections() throws {
        guard let python = OracleEnvironment.python() else { return }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("wirestack-compression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var manifest: [[String: Any]] = []
        for (payloadName, payload) in Self.payloads {
            let input = directory.appendingPathComponent("\(payloadName).bin")
            try Data(payload).write(to: input)
            for (codecName, codec) in Self.pairs {
                // Python compresses the payload...
                manifest.append(["op": "compress", "codec": codecName, "in": input.path,
                                 "out": directory.appendingPathComponent("py-\(codecName)-\(payloadName)").path])
                // ...and decompresses ours.
                let ours = directory.appendingPathComponent("swift-\(codecName)-\(payloadName)")
                let compressed = try codec.compress(ByteBuffer(bytes: payload))
                try Data(compressed.readableBytesView).write(to: ours)
                var item: [String: Any] = ["op": "decompress", "codec": codecName, "in": ours.path,
                                           "out": directory.appendingPathComponent("swift-\(codecName)-\(payloadName).out").path]
                if codecName == "lz4-block" { item["size"] = payload.count }
                manifest.append(item)
            }
        }
        let manifestURL = directory.appendingPathComponent("manifest.json")
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        try OracleEnvironment.run(python: python, arguments: [OracleEnvironment.oracleScript, "batch", manifestURL.path])

        for (payloadName, payload) in Self.payloads {
            for (codecName, codec) in Self.pairs {
                let fromPython = try Data(contentsOf: directory.appendingPathComponent("py-\(codecName)-\(payloadName)"))
                var output = ByteBuffer()
                if codecName == "lz4-block" {
                    try LZ4BlockCodec().decompress(ByteBuffer(bytes: fromPython), into: &output, uncompressedSize: payload.count)
                } else {
                    try codec.decompress(ByteBuffer(bytes: fromPython), into: &output, maxOutputSize: payload.count)
                }
                #expect(Array(output.readableBytesView) == payload, "we decode Python's \(codecName) of \(payloadName)")
                if codecName == "lz4-block" {
                    // Without the size, the capped search finds it too.
                    let searched = try codec.decompress(ByteBuffer(bytes: fromPython), maxOutputSize: payload.count)
                    #expect(Array(searched.readableBytesView) == payload, "capped lz4 block decode of \(payloadName)")
                }
                let decodedByPython = try Data(contentsOf: directory.appendingPathComponent("swift-\(codecName)-\(payloadName).out"))
                #expect(Array(decodedByPython) == payload, "Python decodes our \(codecName) of \(payloadName)")
            }
        }
    }
}

/// Finds the peers' venv python (`WIRESTACK_PY`); skips locally with a printed reason when it is
/// absent and fails under CI (`CI=true`), where every peer must be present.
enum OracleEnvironment {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let oracleScript = packageRoot.appendingPathComponent("scripts/oracles/compression_oracle.py").path

    static func python(sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let python = environment["WIRESTACK_PY"], !python.isEmpty { return python }
        if environment["CI"] == "true" {
            Issue.record("WIRESTACK_PY is not set: the compression oracle cannot run (required in CI)", sourceLocation: sourceLocation)
        } else {
            print("SKIPPED compression interop: WIRESTACK_PY is not set (source /work/main/.peers/peers.env or scripts/peers.sh)")
        }
        return nil
    }

    struct OracleFailed: Error, CustomStringConvertible {
        var status: Int32
        var output: String
        var description: String { "oracle exited with \(status): \(output)" }
    }

    static func run(python: String, arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OracleFailed(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
        }
    }
}
