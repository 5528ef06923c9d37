import ChatWire
import Logging

/// The reference's Chats service consumers: a durable backplane consumer that writes history and
/// chat state idempotently, committing its offset in the same transaction as the writes.
public struct ChatsMaterializer: Sendable {
    let store: any ChatStore
    let backplane: any Backplane
    let logger: Logger

    /// A materializer writing `backplane` into `store`.
    public init(store: any ChatStore, backplane: any Backplane, logger: Logger) {
        self.store = store
        self.backplane = backplane
        self.logger = logger
    }

    /// Replays everything after the committed offset, then follows new messages.
    public func start() async throws {
        let from = try await store.committedOffset()
        try await backplane.subscribeDurable("chats", fromOffset: from) { [store, logger] messages, offset in
            // Retry until the write succeeds: skipping would lose history (the reference drops a failed message).
            var attempt = 0
            while true {
                do {
                    try await store.apply(messages, committing: offset)
                    return
                } catch {
                    attempt += 1
                    logger.error("history write failed; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                    try? await Task.sleep(for: .milliseconds(min(1000, 10 << min(attempt, 6))))
                }
            }
        }
    }
}
