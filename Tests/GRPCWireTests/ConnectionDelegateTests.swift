import Foundation
import GRPCWire
import Synchronization
import Testing

/// A connection budget for tests: at most `limit` open connections, changeable while running.
final class CountingConnectionDelegate: ServerConnectionDelegate {
    private struct Counts {
        var limit: Int
        var open = 0
        var opened = 0
        var closed = 0
    }
    private let counts: Mutex<Counts>

    init(limit: Int) {
        counts = Mutex(Counts(limit: limit))
    }

    func connectionOpened() { counts.withLock { $0.open += 1; $0.opened += 1 } }
    func connectionClosed() { counts.withLock { $0.open -= 1; $0.closed += 1 } }
    func isAcceptingConnections() -> Bool { counts.withLock { $0.open < $0.limit } }

    var limit: Int {
        get { counts.withLock { $0.limit } }
        set { counts.withLock { $0.limit = newValue } }
    }
    var open: Int { counts.withLock { $0.open } }
    var opened: Int { counts.withLock { $0.opened } }
    var closed: Int { counts.withLock { $0.closed } }
}

/// Waits (bounded) until `condition` holds.
func eventually(_ seconds: Int = 30, _ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<(seconds * 50) {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

@Suite("Server connection delegate (accept limit)", .timeLimit(.minutes(2)))
struct ConnectionDelegateTests {
    private func newClient(_ port: Int) -> GRPCClient {
        var configuration = GRPCClient.Configuration(host: "127.0.0.1", port: port)
        configuration.connectTimeout = .seconds(60)
        return GRPCClient(configuration: configuration, logger: testLogger)
    }

    /// One unary echo on `client`, started in a task so the test can see whether it is held back.
    private func echoTask(_ client: GRPCClient, _ text: String) -> Task<String, any Error> {
        Task { try await client.unary(Echo.unary, Peers_Echo_Msg(text: text)).text }
    }

    @Test func acceptingPausesAtTheLimitAndResumesWhenAConnectionCloses() async throws {
        let delegate = CountingConnectionDelegate(limit: 2)
        try await withServer(configure: { $0.connectionDelegate = delegate }) { _, port in
            let first = newClient(port)
            let second = newClient(port)
            let a = try await first.unary(Echo.unary, Peers_Echo_Msg(text: "a")).text
            let b = try await second.unary(Echo.unary, Peers_Echo_Msg(text: "b")).text
            #expect(a == "a" && b == "b")
            #expect(delegate.open == 2)

            // The third connection waits in the listen backlog: its call cannot complete.
            let third = newClient(port)
            let held = echoTask(third, "c")
            try await Task.sleep(for: .milliseconds(500))
            #expect(delegate.opened == 2)
            #expect(delegate.open == 2)

            // A connection closes: the listener accepts the waiting one and its call completes.
            await first.close()
            let c = try await held.value
            #expect(c == "c")
            #expect(delegate.opened == 3)
            let firstClosed = try await eventually { delegate.closed == 1 && delegate.open == 2 }
            #expect(firstClosed)

            // Room freed elsewhere (no connection of this server closes) is noticed by the recheck.
            let fourth = newClient(port)
            let heldAgain = echoTask(fourth, "d")
            try await Task.sleep(for: .milliseconds(500))
            #expect(delegate.opened == 3)
            delegate.limit = 3
            let d = try await heldAgain.value
            #expect(d == "d")
            #expect(delegate.open == 3)

            for client in [second, third, fourth] { await client.close() }
            let allClosed = try await eventually { delegate.open == 0 && delegate.closed == 4 }
            #expect(allClosed)
        }
    }

    @Test func withoutADelegateEveryConnectionIsAccepted() async throws {
        try await withServer { _, port in
            let clients = (0..<4).map { _ in newClient(port) }
            for (index, client) in clients.enumerated() {
                let echoed = try await client.unary(Echo.unary, Peers_Echo_Msg(text: "\(index)")).text
                #expect(echoed == "\(index)")
            }
            for client in clients { await client.close() }
        }
    }
}
