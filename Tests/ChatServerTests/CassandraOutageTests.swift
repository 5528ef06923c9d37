import ChatServer
import ChatWire
import Dispatch
import Foundation
import NIOHTTP1
import Testing

/// A private CQL test node (scripts/cql-node/node.py) standing in for a Cassandra cluster that
/// goes down: started on a free port, killed by the test.
final class PrivateCQLNode: Sendable {
    let pid: Int32
    let port: Int

    private init(pid: Int32, port: Int) {
        self.pid = pid
        self.port = port
    }

    /// Starts a node on a dedicated thread (never blocking the cooperative pool); its output goes
    /// to a file, polled for the `PORT n` line.
    static func start(python: String) async throws -> PrivateCQLNode {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/cql-node/node.py").path
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("cql-node-\(UUID().uuidString).out").path
                _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
                defer { try? FileManager.default.removeItem(atPath: outputPath) }
                do {
                    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
                    defer { try? output.close() }
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: python)
                    process.arguments = [script, "--port", "0"]
                    process.standardOutput = output
                    process.standardError = output
                    try process.run()
                    for _ in 0..<300 {
                        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
                        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PORT ") }), let port = Int(line.dropFirst(5)) {
                            continuation.resume(returning: PrivateCQLNode(pid: process.processIdentifier, port: port))
                            return
                        }
                        guard process.isRunning else { break }
                        usleep(50_000)
                    }
                    Foundation.kill(process.processIdentifier, SIGKILL)
                    let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
                    continuation.resume(throwing: StartError(output: text))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    struct StartError: Error, CustomStringConvertible {
        var output: String
        var description: String { "the CQL test node did not start: \(output)" }
    }

    /// Kills the node at once (a crashed cluster, from the client's point of view).
    func kill() { _ = Foundation.kill(pid, SIGKILL) }
}

/// Cassandra holds the chat history and per-user chat state. When it cannot be reached, the
/// history and chats queries answer 503 (the store is unavailable; the client may retry), never
/// 500, while the rest of the API keeps working.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CassandraOutageTests {
    @Test func historyAndChatsAnswer503WhileCassandraIsDown() async throws {
        guard let python = PeerEnvironment.require(PeerEnvironment.value("WIRESTACK_PY"), "WIRESTACK_PY (the peers' Python with cassandra-driver)") else { return }
        let node = try await PrivateCQLNode.start(python: python)
        defer { node.kill() }
        var deployment = ChatDeployment()
        deployment.cassandra = "127.0.0.1:\(node.port)"
        deployment.cassandraKeyspace = "chat_outage"
        try await TestServer.run(deployment: deployment) { port in
            let alice = try await TestUser.make("outagealice", port: port)
            let bob = try await TestUser.make("outagebob", port: port)
            // Up: the queries reach the node.
            #expect(try await alice.client.history(with: bob.id).isEmpty)
            #expect(try await alice.client.userChats().isEmpty)

            node.kill()
            // Down: every answer is 503 naming Cassandra, none is a 500 (a retrying driver may take
            // a moment to give up on the dead node).
            var statuses: [Int] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                do {
                    _ = try await alice.client.history(with: bob.id)
                    statuses.append(200)
                } catch ChatClientError.http(let status, let problem) {
                    statuses.append(status)
                    if status == 503 { #expect(problem?.detail?.contains("Cassandra") == true, "503 problem: \(String(describing: problem))") }
                }
                if statuses.last == 503 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(statuses.last == 503, "history while Cassandra is down: \(statuses)")
            #expect(!statuses.contains(500), "history while Cassandra is down: \(statuses)")
            let since = ChatTimestamp.snowflakeEpoch.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let raw = try await alice.client.send(.GET, "/api/chats/user?newerThan=\(since)", headers: HTTPHeaders(), body: nil)
            #expect(raw.status == 503 && raw.headers.first(name: "Retry-After") == "1", "\(raw.status) \(raw.headers)")
            #expect(raw.headers.first(name: "Content-Type") == "application/problem+json")
            await #expect {
                _ = try await alice.client.userChats()
            } throws: { error in
                guard case ChatClientError.http(let status, _) = error else { return false }
                return status == 503
            }
            // The user store is not Cassandra: logins and profiles still work.
            let again = try await alice.newDevice(port: port)
            #expect(again.id == alice.id)
        }
    }
}
