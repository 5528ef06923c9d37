// swift-tools-version:6.1
// Wirestack benchmarks: a separate package so benchmark-only dependencies (package-benchmark,
// anchor libraries) never enter the main build graph. ordo-one/benchmark is package-benchmark's
// current name; the MallocInterposer trait is required on Linux with Swift 6.3. Run with `scripts/bench-report.sh`.
import PackageDescription

let package = Package(
    name: "WirestackBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Wirestack", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // pg: the Swift anchor for PGWire (only here, never in the root package).
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        // grpc: the grpc-swift-2 anchor (benchmark-only; never in the root graph).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
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
        .executableTarget(
            name: "PGWireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "PGWire", package: "Wirestack"),
                .product(name: "WireCore", package: "Wirestack"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Benchmarks/PGWireBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // pg: PGWire vs pgbench (subprocess) and postgres-nio, interleaved rounds, medians and spread.
        // `swift run -c release PGWireCompare [--rounds 5] [--seconds 3] [--only p1,p16,decode,copy,pipeline]`.
        .executableTarget(
            name: "PGWireCompare",
            dependencies: [
                .product(name: "PGWire", package: "Wirestack"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/PGWireCompare",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
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
        .executableTarget(
            name: "KafkaWireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "KafkaWire", package: "Wirestack"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/KafkaWireBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        // kafka: KafkaWire vs librdkafka, 1M x 100 B produce (none, lz4) and consume, interleaved rounds on
        // the same broker (scripts/kafka-bench.sh). A plain executable: `swift run -c release KafkaThroughput`.
        .executableTarget(
            name: "KafkaThroughput",
            dependencies: [
                .product(name: "KafkaWire", package: "Wirestack"),
                .product(name: "WireCore", package: "Wirestack"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/KafkaThroughput",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // cql: CQLClient vs the DataStax Python driver (Cython) and gocql on the same CQL test node in
        // the same run (prepared EXECUTE x1/x64, paged rows/s, in-memory row decoding). A plain executable:
        // `swift run -c release CQLClientBenchmarks [--seconds 5]`.
        .executableTarget(
            name: "CQLClientBenchmarks",
            dependencies: [
                .product(name: "CQLClient", package: "Wirestack"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/CQLClientBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // core-codec: checksums and compression codecs.
        // redis: RedisWire vs redis-benchmark (C) on the same server in the same run (a plain
        // executable: it drives redis-benchmark as a subprocess and prints requests/s ratios).
        .executableTarget(
            name: "RedisBenchmarks",
            dependencies: [
                .product(name: "RedisWire", package: "Wirestack"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/RedisBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // pg: PGWire vs postgres-nio (and pgbench via Benchmarks/Anchors/pgbench.sh).
        // grpc: GRPCWire vs grpc-swift-2 in the same run (unary x1/x64 calls/s, p50/p99, server-stream
        // msgs/s) plus interop both ways. `swift run -c release GRPCWireBenchmarks [seconds]`.
        // kafka: KafkaWire producer/consumer vs librdkafka (anchor: Anchors/kafka_librdkafka.sh) and record batch codec speed.
    ]
)
