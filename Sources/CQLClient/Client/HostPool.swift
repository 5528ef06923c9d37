import Logging
import Synchronization

/// The connections to one host. CQL multiplexes thousands of requests per connection, so a few
/// connections per host suffice; requests go to the least-loaded live connection and new ones are
/// opened (up to `maxConnections`) when every open one is busier than `newConnectionThreshold`.
final class CQLHostPool: Sendable {
    let host: CQLHost
    private let maxConnections: Int
    private let newConnectionThreshold: Int
    private let factory: @Sendable () async throws -> CQLConnection
    private let state = Mutex<State>(State())
    private let logger: Logger

    struct State {
        var connections: [CQLConnection] = []
        var opening: Task<CQLConnection, any Error>?
        var closed = false
    }

    init(host: CQLHost, maxConnections: Int, newConnectionThreshold: Int = 256, logger: Logger,
         factory: @escaping @Sendable () async throws -> CQLConnection) {
        self.host = host
        self.maxConnections = max(1, maxConnections)
        self.newConnectionThreshold = newConnectionThreshold
        self.factory = factory
        self.logger = logger
    }

    var connections: [CQLConnection] { self.state.withLock { $0.connections.filter(\.isActive) } }

    /// A connection to run a request on.
    func lease() async throws -> CQLConnection {
        enum Step { case use(CQLConnection), wait(Task<CQLConnection, any Error>) }
        let step: Step = try self.state.withLock { state in
            if state.closed { throw CQLConnectionError.closed }
            state.connections.removeAll { !$0.isActive }
            let best = state.connections.min { $0.outstandingRequests < $1.outstandingRequests }
            if let best, best.outstandingRequests < self.newConnectionThreshold || state.connections.count >= self.maxConnections {
                return .use(best)
            }
            if let best, state.opening != nil { return .use(best) }
            if let opening = state.opening { return .wait(opening) }
            let factory = self.factory
            let task = Task { try await factory() }
            state.opening = task
            if let best { return .use(best) }
            return .wait(task)
        }
        switch step {
        case .use(let connection):
            self.reapOpening()
            return connection
        case .wait(let task):
            do {
                let connection = try await task.value
                self.adopt(task: task, connection: connection)
                return connection
            } catch {
                self.state.withLock { if $0.opening == task { $0.opening = nil } }
                throw error
            }
        }
    }

    private func adopt(task: Task<CQLConnection, any Error>, connection: CQLConnection) {
        let shouldClose = self.state.withLock { state -> Bool in
            if state.opening == task { state.opening = nil }
            if state.closed { return true }
            if !state.connections.contains(where: { $0 === connection }) { state.connections.append(connection) }
            return false
        }
        if shouldClose { Task { await connection.close() } }
    }

    /// Moves a finished background connect into the pool.
    private func reapOpening() {
        guard let task = self.state.withLock({ $0.opening }) else { return }
        Task {
            if let connection = try? await task.value { self.adopt(task: task, connection: connection) } else {
                self.state.withLock { if $0.opening == task { $0.opening = nil } }
            }
        }
    }

    /// Runs `body` on every open connection (e.g. `USE` on a keyspace change).
    func forEachConnection(_ body: @Sendable (CQLConnection) async throws -> Void) async throws {
        for connection in self.connections { try await body(connection) }
    }

    func close() async {
        let (connections, opening) = self.state.withLock { state -> ([CQLConnection], Task<CQLConnection, any Error>?) in
            state.closed = true
            defer { state.connections = [] }
            return (state.connections, state.opening)
        }
        for connection in connections { await connection.close() }
        if let connection = try? await opening?.value { await connection.close() }
    }
}
