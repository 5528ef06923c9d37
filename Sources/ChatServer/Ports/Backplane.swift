import ChatWire

/// The message backplane: messages keyed by their target user's partition, consumed in order
/// per partition (Kafka in the distributed deployment, an in-process partitioned log embedded).
public protocol Backplane: Sendable {
    /// Appends a message to its partition. Returns once the message is durable (the
    /// Processed acknowledgement); throws if it was lost.
    func publish(_ message: Chatwire_BackplaneMessage) async throws
    /// Appends a message and calls `completion` once it is durable (`nil`) or lost (the error).
    /// Does not wait: the hot path of real-time sending.
    func publish(_ message: Chatwire_BackplaneMessage, completion: @escaping @Sendable ((any Error)?) -> Void)
    /// Registers a live consumer called with every new batch in publish order (per-partition order preserved).
    func subscribeLive(_ name: String, handler: @escaping @Sendable ([Chatwire_BackplaneMessage]) -> Void)
    /// Registers a durable consumer: replays everything after `fromOffset`, then new batches;
    /// the handler receives the offset of the last message in the batch, to commit.
    func subscribeDurable(_ name: String, fromOffset: Int64, handler: @escaping @Sendable ([Chatwire_BackplaneMessage], Int64) async -> Void) async throws
    /// The current partition count.
    var partitionCount: Int { get }
}
