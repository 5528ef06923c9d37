// TEMPORARY: a minimal stand-in for WireCore's Pool/ API (WIRECORE_API.md) until the core-net
// helper's ConnectionPool lands on main. Same names and shapes as the contract; deleted on merge.
import Logging
import Synchronization
import WireCore

public protocol PooledConnection: AnyObject, Sendable {
    var isUsable: Bool { get }
    func close() async
}

public struct ConnectionPoolConfiguration: Sendable {
    public var minConnections = 0, maxConnections = 8
    public var leasesPerConnection = 1
    public var idleTimeout: Duration = .seconds(60)
    public var leaseTimeout: Duration = .seconds(10)
    public var keepAliveInterval: Duration? = nil
    public var circuitBreakerThreshold = 5
    public var circuitBreakerBackoff = Backoff(base: .milliseconds(100), cap: .seconds(30))
    public init() {}
}

public enum ConnectionPoolError: Error { case leaseTimedOut, poolClosed, circuitOpen(lastError: any Error), cancelled }

public final class ConnectionPool<Connection: PooledConnection>: Sendable {
    private struct Slot { var connection: Connection; var leases: Int }
    private struct State {
        var slots: [Slot] = []
        var connecting = 0
        var closed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    private let configuration: ConnectionPoolConfiguration
    private let factory: @Sendable () async throws -> Connection
    private let logger: Logger

    public init(configuration: ConnectionPoolConfiguration, logger: Logger,
                factory: @escaping @Sendable () async throws -> Connection,
                keepAlive: (@Sendable (Connection) async throws -> Void)? = nil) {
        self.configuration = configuration
        self.factory = factory
        self.logger = logger
    }

    public func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            state.withLock { s in s.slots.removeAll { !$0.connection.isUsable && $0.leases == 0 } }
            if state.withLock({ $0.closed }) { return }
        }
    }

    private enum Decision { case use(Connection), connect, wait, closed }

    public func lease(deadline: Deadline? = nil) async throws -> Connection {
        let deadline = deadline ?? .after(configuration.leaseTimeout)
        while true {
            let decision: Decision = state.withLock { s in
                if s.closed { return .closed }
                var best = -1
                var i = 0
                while i < s.slots.count {
                    let slot = s.slots[i]
                    if !slot.connection.isUsable {
                        if slot.leases == 0 { s.slots.remove(at: i); continue }
                    } else if slot.leases < configuration.leasesPerConnection && (best < 0 || slot.leases < s.slots[best].leases) {
                        best = i
                    }
                    i += 1
                }
                if best >= 0 && (s.slots[best].leases == 0 || s.slots.count + s.connecting >= configuration.maxConnections) {
                    s.slots[best].leases += 1
                    return .use(s.slots[best].connection)
                }
                if s.slots.count + s.connecting < configuration.maxConnections {
                    s.connecting += 1
                    return .connect
                }
                return .wait
            }
            switch decision {
            case .use(let c): return c
            case .closed: throw ConnectionPoolError.poolClosed
            case .connect:
                do {
                    let c = try await factory()
                    state.withLock { s in
                        s.connecting -= 1
                        s.slots.append(Slot(connection: c, leases: 1))
                    }
                    return c
                } catch {
                    let waiters = state.withLock { s in s.connecting -= 1; let w = s.waiters; s.waiters = []; return w }
                    for w in waiters { w.resume() }
                    throw error
                }
            case .wait:
                if deadline.hasExpired { throw ConnectionPoolError.leaseTimedOut }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    public func release(_ connection: Connection) {
        state.withLock { s in
            if let i = s.slots.firstIndex(where: { $0.connection === connection }) { s.slots[i].leases -= 1 }
        }
    }

    public func withConnection<T: Sendable>(deadline: Deadline? = nil, _ body: (Connection) async throws -> T) async throws -> T {
        let c = try await lease(deadline: deadline)
        defer { release(c) }
        return try await body(c)
    }

    public func shutdown() async {
        let all = state.withLock { s in s.closed = true; let a = s.slots; s.slots = []; return a }
        for slot in all { await slot.connection.close() }
    }
}
