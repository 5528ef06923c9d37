// swift-tools-version:6.1
// Wirestack benchmarks: a separate package so benchmark-only dependencies (package-benchmark,
// anchor libraries) never enter the main build graph. ordo-one/package-benchmark (also published as ordo-one/benchmark) is the
// current name; the MallocInterposer trait is required on Linux with Swift 6.3. Run with `scripts/bench-report.sh`.
import PackageDescription

let package = Package(
    name: "WirestackBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Wirestack", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
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
        // kafka: KafkaWire producer/consumer vs librdkafka (anchor: Anchors/kafka_librdkafka.sh) and record batch codec speed.
    ]
)
