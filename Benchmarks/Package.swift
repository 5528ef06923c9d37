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
        // pg: the Swift anchor for PGWire (only here, never in the root package).
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
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
        // pg: PGWire vs postgres-nio (and pgbench via Benchmarks/Anchors/pgbench.sh).
        .executableTarget(
            name: "PGWireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "PGWire", package: "Wirestack"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Benchmarks/PGWireBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
