import Foundation
import Synchronization
import Logging
import Testing
@testable import RedisWire

/// Addresses of the real Redis servers the interop tests use, from the environment
/// (`scripts/peers.sh` writes them to `.peers/peers.env`).
///
/// A missing variable skips the test locally (with a printed reason) and fails it in CI
/// (`CI=true`), where every peer must be running.
enum PeerEnvironment {
    static let environment = ProcessInfo.processInfo.environment

    static var isCI: Bool { environment["CI"] == "true" }

    /// The value of `name`, or nil after recording a failure (CI) or printing a skip note (local).
    static func require(_ name: String, for test: String = #function) -> String? {
        if let value = environment[name], !value.isEmpty { return value }
        if isCI {
            Issue.record("\(name) is not set but CI=true: the peer must be running in CI")
        } else {
            print("SKIP \(test): set \(name) to run it against a real server (see scripts/peers.sh)")
        }
        return nil
    }

    /// Plain Redis (`redis://127.0.0.1:16379`).
    static var redisURL: String? { require("WIRESTACK_REDIS_URL") }

    /// The port of the plain Redis server.
    static func plainHostPort() -> (String, Int)? {
        guard let url = redisURL, let config = try? RedisConnectionConfiguration(url: url),
              case .tcp(let host, let port) = config.transport.endpoint else { return nil }
        return (host, port)
    }

    static let logger: Logger = {
        var l = Logger(label: "RedisWireTests")
        l.logLevel = environment["REDISWIRE_TEST_LOG"] != nil ? .debug : .warning
        return l
    }()

    /// A unique key prefix so tests never collide on the shared server.
    static func prefix(_ test: String = #function) -> String {
        "rediswire:\(test.prefix { $0 != "(" }):\(UInt32.random(in: 0...UInt32.max)):"
    }

    /// Connects one connection to the plain server.
    static func connect(protocolVersion: RESPVersion = .resp3, clientName: String? = nil,
                        onPush: @escaping @Sendable (RESPValue) -> Void = { _ in }) async throws -> RedisConnection? {
        guard let url = redisURL else { return nil }
        var config = try RedisConnectionConfiguration(url: url)
        config.protocolVersion = protocolVersion
        config.clientName = clientName
        return try await RedisConnection.connect(configuration: config, logger: logger, onPush: onPush)
    }

    /// Runs `body` with a running client for `url`, then shuts the client down.
    static func withClient<T: Sendable>(_ configuration: RedisClientConfiguration,
                                        _ body: @Sendable (RedisClient) async throws -> T) async throws -> T {
        let client = RedisClient(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

/// Polls `condition` every 20 ms for at most `timeout`; returns whether it became true.
/// Errors thrown by `condition` count as "not yet".
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return (try? await condition()) == true
}

/// A lock-protected value that escaping closures can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}
