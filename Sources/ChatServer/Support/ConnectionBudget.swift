import GRPCWire
import HummingbirdCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many client connections the process holds at most, so accepted sockets never exhaust its
/// file descriptors.
///
/// Running out of descriptors is fatal on Linux, not merely a failed `accept`: libdispatch's
/// worker-pool monitor opens `/proc/<tid>/stat` about once a second and aborts the process
/// (SIGILL) when that open fails with EMFILE. So the listeners stop accepting at ``limit`` open
/// client connections, keeping ``reserve`` descriptors for SQLite, uploads, the event loops and
/// the runtime; connections beyond it wait in the listen backlog (and time out there if nothing
/// closes), and the refusal is logged (at most every ten seconds). The server keeps serving the
/// connections it has and accepts again as soon as some close.
///
/// What is counted: client TCP connections, because each holds one descriptor. The
/// HTTP/WebSocket listener counts its connections through ``acceptDelegate`` and the gRPC
/// listener through ``grpcConnectionDelegate``; both stop accepting while the budget is spent.
/// gRPC calls (listen streams included) are not counted: they share their connection's
/// descriptor, and one connection carries at most its `maxConcurrentStreams` of them.
public final class ConnectionBudget: Sendable {
    /// Most client connections held at once.
    public let limit: Int
    /// Descriptors kept free for everything else.
    public let reserve: Int
    private let open = Atomic<Int>(0)
    private let lastWarning = Mutex<ContinuousClock.Instant?>(nil)
    private let logger: Logger

    /// A budget of `limit` connections.
    public init(limit: Int, reserve: Int = 0, logger: Logger) {
        self.limit = max(1, limit)
        self.reserve = reserve
        self.logger = logger
    }

    /// The budget for this process: raises the soft `RLIMIT_NOFILE` to the hard limit, then
    /// allows that many connections minus `reserve` (default: 256, or 5 % of a large limit).
    public static func forProcess(reserve: Int? = nil, logger: Logger) -> ConnectionBudget {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else {
            return ConnectionBudget(limit: 1024 - 256, reserve: 256, logger: logger)
        }
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        let descriptors = Int(clamping: limits.rlim_cur)
        let reserve = reserve ?? max(256, descriptors / 20)
        return ConnectionBudget(limit: descriptors - reserve, reserve: reserve, logger: logger)
    }

    /// Client connections open now.
    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// Whether another connection fits; logs the refusal (rate-limited) when it does not.
    public func hasRoom() -> Bool {
        let count = open.load(ordering: .relaxed)
        if count < limit { return true }
        let now = ContinuousClock.now
        let warn = lastWarning.withLock { last -> Bool in
            if let last, last.duration(to: now) < .seconds(10) { return false }
            last = now
            return true
        }
        if warn {
            logger.warning("connection limit reached: refusing new connections until some close",
                           metadata: ["open": "\(count)", "limit": "\(limit)", "reservedDescriptors": "\(reserve)"])
        }
        return false
    }

    /// Counts an accepted connection.
    public func opened() { open.add(1, ordering: .relaxed) }

    /// Returns a connection to the budget.
    public func closed() { open.subtract(1, ordering: .relaxed) }

    /// The delegate that makes a Hummingbird listener stop accepting once the budget is spent.
    public var acceptDelegate: some AvailableConnectionsDelegate { AcceptDelegate(budget: self) }

    /// The delegate that makes the gRPC listener stop accepting once the budget is spent.
    public var grpcConnectionDelegate: some ServerConnectionDelegate { GRPCAcceptDelegate(budget: self) }

    struct GRPCAcceptDelegate: ServerConnectionDelegate {
        let budget: ConnectionBudget
        func connectionOpened() { budget.opened() }
        func connectionClosed() { budget.closed() }
        func isAcceptingConnections() -> Bool { budget.hasRoom() }
    }

    struct AcceptDelegate: AvailableConnectionsDelegate {
        let budget: ConnectionBudget
        mutating func connectionOpened() { budget.opened() }
        mutating func connectionClosed() { budget.closed() }
        func isAcceptingNewConnections() -> Bool { budget.hasRoom() }
    }
}
