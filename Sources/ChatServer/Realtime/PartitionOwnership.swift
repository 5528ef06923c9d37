import ChatWire
import Logging
import Synchronization

/// Which users this messaging instance serves, following the dynamic config's `partitioning`
/// section (the reference's partitioning scheme).
///
/// A user belongs to the instance that owns the user's partition; the session endpoint tells
/// clients that instance's address. When a change of `partitioning` moves partitions away, this
/// instance (1) switches its backplane assignment, so the new owner's live consumer resumes the
/// moved partitions where this one stopped, and (2) sends a `DISCONNECT` notification to every
/// connected user it no longer owns. Those clients reconnect through a new session (which names
/// the new owner) and catch up from history, so a move loses no message. Unlike the reference
/// (quirk 10.3), users are tested against the new assignment.
public final class PartitionOwnership: Sendable {
    /// This instance's server ID in `partitioning.partitions`.
    public let serverID: String
    private let backplane: any Backplane
    private let registry: ClientRegistry
    private let logger: Logger
    private let state: Mutex<PartitionAssignment>
    private let changes: AsyncStream<DynamicConfig.Values>.Continuation
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)
    private let pending = Atomic<Int>(0)

    /// Ownership of `serverID`, starting from `config`'s current values, applied to `backplane`
    /// (call ``start(config:)``).
    public init(serverID: String, backplane: any Backplane, registry: ClientRegistry, logger: Logger) {
        self.serverID = serverID
        self.backplane = backplane
        self.registry = registry
        self.logger = logger
        self.state = Mutex(PartitionAssignment(partitionCount: backplane.partitionCount, owned: []))
        let (stream, continuation) = AsyncStream<DynamicConfig.Values>.makeStream()
        self.changes = continuation
        let task = Task { [weak self] in
            for await values in stream {
                guard let self else { return }
                await self.apply(values)
                self.pending.subtract(1, ordering: .acquiringAndReleasing)
            }
        }
        self.task.withLock { $0 = task }
    }

    deinit {
        changes.finish()
    }

    /// The current assignment.
    public var assignment: PartitionAssignment { state.withLock { $0 } }

    /// `true` if `userID` is served by this instance now.
    public func owns(user userID: Int64) -> Bool { assignment.owns(user: userID) }

    /// Applies `config`'s current assignment and follows its `partitioning` changes.
    public func start(config: DynamicConfig) async {
        await apply(config.values)
        config.onChange { [weak self] section, values in
            guard section == "partitioning", let self else { return }
            self.pending.add(1, ordering: .acquiringAndReleasing)
            self.changes.yield(values)
        }
    }

    /// Waits (up to five seconds) until every change queued so far is applied.
    public func settle() async {
        for _ in 0..<500 where pending.load(ordering: .acquiring) > 0 {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func apply(_ values: DynamicConfig.Values) async {
        let next = PartitionAssignment(serverID: serverID, values: values)
        let previous = state.withLock { old -> PartitionAssignment in
            defer { old = next }
            return old
        }
        guard previous != next else { return }
        logger.info("partition assignment changed", metadata: ["server": "\(serverID)", "from": "\(previous)", "to": "\(next)"])
        await backplane.assign(next)
        var moved = 0
        for user in registry.onlineUsers where !next.owns(user: user) {
            var notification = Chatwire_ListenNotification()
            notification.type = .disconnect
            notification.receiverID = user
            registry.push(notification, to: user)
            moved += 1
        }
        if moved > 0 { logger.info("users told to reconnect elsewhere", metadata: ["server": "\(serverID)", "users": "\(moved)"]) }
    }
}
