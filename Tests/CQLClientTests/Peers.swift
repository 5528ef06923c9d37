import Foundation
import Testing

/// Peer addresses and tools for interop tests, read from the environment.
/// Locally a missing peer skips the test with a printed reason; in CI (CI=true) it fails.
enum PeerEnvironment {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static var isCI: Bool { environment["CI"] == "true" }

    /// Python with cassandra-driver 3.30.x (the golden-vector oracle and the CQL test node).
    static var python: String? { environment["WIRESTACK_PY"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The shared CQL test node (`scripts/cql-node/start.sh`), "host:port".
    static var cqlNode: (host: String, port: Int)? {
        guard let value = environment["WIRESTACK_CQL_NODE"], let colon = value.lastIndex(of: ":"),
              let port = Int(value[value.index(after: colon)...]) else { return nil }
        return (String(value[..<colon]), port)
    }

    /// Returns the value, or records a skip (locally) / failure (CI) and returns nil.
    static func require<T>(_ value: T?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> T? {
        if let value { return value }
        if isCI {
            Issue.record("\(what) is not configured but CI=true", sourceLocation: sourceLocation)
        } else {
            print("SKIP: \(what) not configured; set it to run this test")
        }
        return nil
    }

    /// The repository root (tests read scripts from it).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
