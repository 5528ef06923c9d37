import Foundation
import KafkaWire
import Logging
import Testing

/// Real peers for the interop tests, from environment variables (see `scripts/peers.sh`):
/// `WIRESTACK_KAFKA_TANSU`, `WIRESTACK_KAFKA_NOIDA` (shared brokers), optionally
/// `WIRESTACK_KAFKA_PRIVATE_TANSU` / `_NOIDA` (fresh brokers from `scripts/kafka-private.sh`, preferred
/// when set), and `WIRESTACK_PY` (the venv python with confluent-kafka and kafka-python).
/// Locally a missing peer skips with a printed reason; with `CI=true` it fails.
enum KafkaPeers {
    static let env = ProcessInfo.processInfo.environment
    static var isCI: Bool { env["CI"] == "true" }

    /// The two brokers every interop test runs against.
    static let brokerNames = ["tansu", "noida"]

    /// Bootstrap address of `name`, or nil (after recording a CI failure / printing a skip).
    static func bootstrap(_ name: String) -> String? {
        let key = name == "tansu" ? "TANSU" : "NOIDA"
        if let v = env["WIRESTACK_KAFKA_PRIVATE_\(key)"] ?? env["WIRESTACK_KAFKA_\(key)"] { return v }
        missing("WIRESTACK_KAFKA_\(key)")
        return nil
    }

    static var python: String? {
        if let p = env["WIRESTACK_PY"] { return p }
        missing("WIRESTACK_PY")
        return nil
    }

    static func missing(_ variable: String) {
        if isCI {
            Issue.record("\(variable) is not set: CI must start the Kafka peers (scripts/peers.sh)")
        } else {
            print("skipping: \(variable) is not set (start peers with scripts/peers.sh and source .peers/peers.env)")
        }
    }

    static var scriptsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/oracles/kafka")
    }

    /// Runs an oracle script and returns its last stdout line parsed as JSON.
    static func oracle(_ script: String, _ args: [String]) throws -> [String: Any] {
        guard let python = env["WIRESTACK_PY"] else { throw OracleError.noPython }
        let out = try run(python, [scriptsDirectory.appendingPathComponent(script).path] + args)
        guard let last = out.split(separator: "\n").last, let json = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw OracleError.badOutput(out)
        }
        return json
    }

    static func run(_ executable: String, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        let pipe = Pipe(), errPipe = Pipe()
        process.standardOutput = pipe
        process.standardError = errPipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OracleError.failed(status: process.terminationStatus, stderr: String(decoding: err, as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Starts an oracle script in the background; its stdout lines are returned by `finish()`.
    final class Background: @unchecked Sendable {
        let process = Process()
        let pipe = Pipe()
        init(_ script: String, _ args: [String]) throws {
            guard let python = KafkaPeers.env["WIRESTACK_PY"] else { throw OracleError.noPython }
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-u", KafkaPeers.scriptsDirectory.appendingPathComponent(script).path] + args
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
        }
        /// Waits for the script on a separate thread (the cooperative pool stays free) and parses its JSON lines.
        func finishAsync() async -> [[String: Any]] {
            let lines: [String] = await withCheckedContinuation { c in
                Thread.detachNewThread {
                    let data = self.pipe.fileHandleForReading.readDataToEndOfFile()
                    self.process.waitUntilExit()
                    c.resume(returning: String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
                }
            }
            return lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func finish() -> [[String: Any]] {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    enum OracleError: Error {
        case noPython
        case failed(status: Int32, stderr: String)
        case badOutput(String)
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    }

    static var logger: Logger {
        var l = Logger(label: "kafkawire.tests")
        l.logLevel = env["KAFKAWIRE_TEST_LOG"] == "debug" ? .debug : .warning
        return l
    }
}
