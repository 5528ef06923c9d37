// swift-tools-version:6.1
// Wirestack benchmarks: a separate package so benchmark-only dependencies (package-benchmark,
// anchor libraries) never enter the main build graph. Run with `scripts/bench-report.sh`.
import PackageDescription

let package = Package(
    name: "WirestackBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Wirestack", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // grpc: the grpc-swift-2 anchor (benchmark-only; never in the root graph).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // core-codec: checksums and compression codecs.
        .executableTarget(
            name: "WireCoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "WireCore", package: "Wirestack"),
            ],
            path: "Benchmarks/WireCoreBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // grpc: GRPCWire vs grpc-swift-2 in the same run (unary x1/x64 calls/s, p50/p99, server-stream
        // msgs/s) plus interop both ways. `swift run -c release GRPCWireBenchmarks [seconds]`.
        .executableTarget(
            name: "GRPCWireBenchmarks",
            dependencies: [
                .product(name: "GRPCWire", package: "Wirestack"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/GRPCWireBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
