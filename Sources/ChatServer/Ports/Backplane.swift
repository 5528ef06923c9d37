import ChatWire

/// The message backplane: messages keyed by their target user's partition, consumed in order
/// per partition (Kafka in the distributed deployment, an in-process partitioned log embedded).
///
/// Two kinds of consumers read it, as in the reference system:
/// - the live consumer of a messaging instance reads only the partitions the instance owns
///   (``assign(_:)``, manual assignment, no group rebalancing) and pushes to connected users;
/// - durable consumers (history and chat-state writers) read every partition as a consumer group,
///   and their position advances only after their idempotent store write returned.
public protocol Backplane: Sendable {
    /// Appends a message and calls `completion` once it is durable (`nil`: the Processed
    /// acknowledgement) or lost (the error: Lost). Does not wait: the hot path of real-time sending.
    func publish(_ message: Chatwire_BackplaneMessage, completion: @escaping @Sendable ((any Error)?) -> Void)
    /// Registers a live consumer called with every new batch of the owned partitions, in order per partition.
    func subscribeLive(_ name: String, handler: @escaping @Sendable ([Chatwire_BackplaneMessage]) -> Void)
    /// Registers a durable consumer group `name` over every partition.
    ///
    /// The handler receives a batch and a position; the batch is redelivered (after a crash or a
    /// rebalance) until the handler returned, so the handler must write idempotently.
    /// - A backplane with one log (embedded) replays everything after `fromOffset` (the position
    ///   the consumer stored itself with its last write) and passes the log offset of the batch's
    ///   last message, for the consumer to store with its write.
    /// - A backplane with per-partition group offsets (Kafka) ignores `fromOffset`, resumes from
    ///   the group's committed offsets, commits the batch after the handler returned, and passes
    ///   the batch's last offset within its partition (informational only).
    func subscribeDurable(_ name: String, fromOffset: Int64, handler: @escaping @Sendable ([Chatwire_BackplaneMessage], Int64) async -> Void) async throws
    /// Changes the partitions this instance owns (and the partition count publishers use).
    /// Live consumers see only owned partitions afterwards; returns once the switch is done.
    func assign(_ assignment: PartitionAssignment) async
    /// The current partition count.
    var partitionCount: Int { get }
}

extension Backplane {
    /// Appends a message. Returns once the message is durable (the Processed acknowledgement);
    /// throws if it was lost.
    public func publish(_ message: Chatwire_BackplaneMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            publish(message) { error in
                if let error { continuation.resume(throwing: error) } else { continuation.resume() }
            }
        }
    }
}

/// Why a message did not reach the backplane.
public struct BackplaneError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var description: String

    /// An error saying `description`.
    public init(description: String) { self.description = description }
}
