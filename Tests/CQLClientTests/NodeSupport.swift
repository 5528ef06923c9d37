import Foundation
import Logging
import Testing
@testable import CQLClient

/// A private CQL test node (scripts/cql-node/node.py) started for one test.
final class TestNode: @unchecked Sendable {
    let process: Process
    let host: String
    let port: Int

    static var script: String { PeerEnvironment.repositoryRoot.appendingPathComponent("scripts/cql-node/node.py").path }

    /// Starts a node off Swift's cooperative pool (it waits for the Python process to print its port).
    static func start(python: String, arguments: [String] = []) async throws -> TestNode {
        try await Process.runOffPool { try TestNode(python: python, arguments: arguments) }
    }

    /// Starts a node on a free port; extra arguments e.g. ["--auth", "u:p"], ["--nodes", "3"], ["--max-version", "4"].
    /// Blocks until the node is up: call it through ``start(python:arguments:)``.
    private init(python: String, arguments: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        var args = [Self.script]
        var port = 0
        if arguments.contains("--nodes") { port = try Self.freePort() }  // several addresses share one port
        args += ["--port", String(port)] + arguments
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        // read until the "PORT n" line
        var text = ""
        let handle = out.fileHandleForReading
        while !text.contains("PORT ") || !text.hasSuffix("\n") {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }), let p = Int(line.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            throw Oracle.OracleError(message: "CQL node did not start: \(text)")
        }
        self.host = "127.0.0.1"
        self.port = p
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Kills the node and waits for it off the cooperative pool.
    func stop() async {
        _ = try? await Process.runOffPool {
            if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
            self.process.waitUntilExit()
        }
    }

    /// Runs a `WIRESTACK ...` hook query (faults, stats; see scripts/cql-node/node.py) on a
    /// connection of its own to the first address.
    @discardableResult
    func hook(_ text: String) async throws -> CQLResponseFrame {
        let connection = try await CQLConnection.connect(.init(host: self.host, port: self.port, protocolVersion: .v4), logger: testLogger())
        do {
            let frame = try await connection.send(CQLQueryRequest(query: text, parameters: .init(consistency: .one)))
            await connection.close()
            return frame
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Data requests each address received since the last `WIRESTACK RESET`, and the consistency of the latest.
    func stats() async throws -> [String: (requests: Int, consistency: Int)] {
        guard case .result(.rows(let rows)) = try await self.hook("WIRESTACK STATS").message else { return [:] }
        var out: [String: (requests: Int, consistency: Int)] = [:]
        for row in rows {
            out[try row.decode(column: "node", as: String.self)] =
                (Int(try row.decode(column: "requests", as: Int32.self)), Int(try row.decode(column: "consistency", as: Int32.self)))
        }
        return out
    }

    deinit { if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) } }
}

/// Starts a private node for the test, or nil (skip locally / fail in CI) without Python.
func withTestNode<T>(_ arguments: [String] = [], _ body: (TestNode, String) async throws -> T) async throws -> T? {
    guard let python = PeerEnvironment.require(PeerEnvironment.python, "WIRESTACK_PY (python with cassandra-driver)") else { return nil }
    let node = try await TestNode.start(python: python, arguments: arguments)
    do {
        let result = try await body(node, python)
        await node.stop()
        return result
    } catch {
        await node.stop()
        throw error
    }
}

func testLogger(_ label: String = "cql-test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["CQL_TEST_LOG"] == "debug" ? .debug : .warning
    return logger
}

func sessionConfiguration(_ node: TestNode, version: CQLProtocolVersion = .v5, compression: CQLCompressionAlgorithm? = nil,
                          keyspace: String? = nil) -> CassandraSessionConfiguration {
    CassandraSessionConfiguration(contactPoints: [(node.host, node.port)], protocolVersion: version, compression: compression,
                                  keyspace: keyspace, defaultConsistency: .one, requestTimeout: .seconds(60))
}
