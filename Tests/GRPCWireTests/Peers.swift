import Foundation
import Testing

/// Peer configuration for GRPCWire's interop tests, from the environment
/// (`set -a; . /work/main/.peers/peers.env; set +a`).
///
/// - `WIRESTACK_PY`: a Python with grpcio + grpcio-tools (the grpcio oracle scripts in
///   scripts/oracles/grpc are started by the tests themselves on free ports).
/// - `WIRESTACK_CERTS`: a directory with `ca.crt`, `server.crt`, `server.key` (SAN localhost,
///   127.0.0.1) for the TLS cases.
///
/// Missing variables skip the interop tests locally with a printed reason; with `CI=true` they fail.
enum PeerEnvironment {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var isCI: Bool { environment["CI"] == "true" }

    static var python: String? { environment["WIRESTACK_PY"].flatMap { $0.isEmpty ? nil : $0 } }
    static var certificates: String? { environment["WIRESTACK_CERTS"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The repository root (scripts/oracles/grpc lives there).
    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }

    /// Returns the value, or records a failure in CI / prints a skip reason locally and returns nil.
    static func require(_ value: String?, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        if let value { return value }
        if isCI {
            Issue.record("\(name) is not set: the interop peer is required in CI", sourceLocation: sourceLocation)
        } else {
            print("skipping: \(name) is not set (source /work/main/.peers/peers.env)")
        }
        return nil
    }
}
