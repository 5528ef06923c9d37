// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// Products of the dependencies, named once.
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioConcurrencyHelpers: Target.Dependency = .product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let nioWebSocket: Target.Dependency = .product(name: "NIOWebSocket", package: "swift-nio")
let nioEmbedded: Target.Dependency = .product(name: "NIOEmbedded", package: "swift-nio")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let nioHTTP2: Target.Dependency = .product(name: "NIOHTTP2", package: "swift-nio-http2")
let nioHPACK: Target.Dependency = .product(name: "NIOHPACK", package: "swift-nio-http2")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let atomics: Target.Dependency = .product(name: "Atomics", package: "swift-atomics")
let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")
let lifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let cryptoExtras: Target.Dependency = .product(name: "_CryptoExtras", package: "swift-crypto")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore: Target.Dependency = .product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdWebSocket: Target.Dependency = .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket")
let hummingbirdWSClient: Target.Dependency = .product(name: "HummingbirdWSClient", package: "hummingbird-websocket")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let tracing: Target.Dependency = .product(name: "Tracing", package: "swift-distributed-tracing")
let metricsTestKit: Target.Dependency = .product(name: "MetricsTestKit", package: "swift-metrics")
let inMemoryTracing: Target.Dependency = .product(name: "InMemoryTracing", package: "swift-distributed-tracing")

let package = Package(
    name: "Wirestack",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "WireCore", targets: ["WireCore"]),
        .library(name: "GRPCWire", targets: ["GRPCWire"]),
        .library(name: "RedisWire", targets: ["RedisWire"]),
        .library(name: "PGWire", targets: ["PGWire"]),
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
        .library(name: "CQLClient", targets: ["CQLClient"]),
        .library(name: "ChatWire", targets: ["ChatWire"]),
        .library(name: "ChatServer", targets: ["ChatServer"]),
        .executable(name: "chat-server", targets: ["chat-server"]),
        .executable(name: "chat-load", targets: ["chat-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ],
    targets: [
        .target(
            name: "WireCore",
            dependencies: [nioCore, nioPosix, nioSSL, logging, atomics, crypto, "CWireCRC", "CZlib", "CLZ4", "CSnappy", "CZstd", tracing],
            swiftSettings: swiftSettings
        ),
        .target(name: "CWireCRC"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"]), .brew(["snappy"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .testTarget(
            name: "WireCoreTests",
            dependencies: ["WireCore", tracing, logging],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GRPCWire",
            dependencies: ["WireCore", nioCore, nioPosix, nioHTTP2, nioSSL, logging, atomics, protobuf, lifecycle, tracing],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GRPCWireTests",
            dependencies: ["GRPCWire", "WireCore", nioCore, nioPosix, nioHTTP2, nioHPACK, nioSSL, protobuf, lifecycle, tracing],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RedisWire",
            dependencies: ["WireCore", nioCore, nioPosix, nioSSL, logging, lifecycle, tracing],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RedisWireTests",
            dependencies: ["RedisWire"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PGWire",
            dependencies: ["WireCore", nioCore, nioPosix, nioConcurrencyHelpers, nioSSL, nioTLS, logging, atomics, crypto, lifecycle, tracing],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PGWireTests",
            dependencies: ["PGWire", nioCore, nioConcurrencyHelpers, logging],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KafkaWire",
            dependencies: ["WireCore", nioCore, nioPosix, nioSSL, logging, atomics, crypto, lifecycle, metrics, tracing],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaWireTests",
            dependencies: ["KafkaWire", "WireCore", nioCore, nioPosix, logging, metrics, metricsTestKit, tracing, inMemoryTracing],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CQLClient",
            dependencies: ["WireCore", nioCore, nioPosix, logging, lifecycle, tracing],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CQLClientTests",
            dependencies: ["CQLClient", "WireCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatWire",
            dependencies: ["GRPCWire", "WireCore", protobuf, nioCore, nioPosix, nioHTTP1, hummingbirdWSClient, logging],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ChatServer",
            // dist (issue 9): PGWire, CQLClient, RedisWire, KafkaWire for the distributed adapters; GRPCWire for the real-time API.
            dependencies: ["ChatWire", "GRPCWire", "PGWire", "CQLClient", "RedisWire", "KafkaWire", "WireCore", hummingbird, hummingbirdCore, hummingbirdWebSocket, nioCore, nioWebSocket, grdb, crypto, cryptoExtras, metrics, lifecycle, protobuf, logging, tracing],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chat-server",
            dependencies: ["ChatServer", argumentParser, lifecycle],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chat-load",
            dependencies: ["ChatWire", argumentParser],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatWireTests",
            dependencies: ["ChatWire"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatServerTests",
            dependencies: ["ChatServer", "ChatWire", "PGWire", "RedisWire", lifecycle, "WireCore", "GRPCWire", "KafkaWire", tracing, logging, nioCore, nioPosix, nioHTTP1, nioWebSocket, nioEmbedded],
            swiftSettings: swiftSettings
        ),
        // core-codec: hardware CRC32C shim and the system compression libraries (Debian -dev packages).
    ]
)
