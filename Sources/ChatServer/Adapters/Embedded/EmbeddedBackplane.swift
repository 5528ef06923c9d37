import ChatWire
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// The embedded backplane: an in-process partitioned log persisted in SQLite.
///
/// Publishers are group-committed: the writer takes every queued message, appends them to the
/// `log` table in one transaction, and only then completes each publisher (the Processed
/// acknowledgement). Committed batches are handed to live consumers (real-time delivery) and to
/// durable consumers (history/state writers), in log order, so order per partition holds.
/// Durable consumers replay from their committed offset after a restart; the log is truncated
/// below the slowest durable consumer. Live consumers see only the partitions this process owns
/// (``assign(_:)``): after a partition reassignment moved a user to another server, this one no
/// longer pushes that user's messages (they are still written to history).
public final class EmbeddedBackplane: Backplane, Service {
    private struct Pending: Sendable {
        var message: Chatwire_BackplaneMessage
        var completion: @Sendable ((any Error)?) -> Void
    }

    struct Entry: Sendable {
        var offset: Int64
        var message: Chatwire_BackplaneMessage
    }

    private final class DurableConsumer: Sendable {
        let name: String
        let queue = BatchQueue<Entry>()
        let committed: Atomic<Int64>
        init(name: String, committed: Int64) {
            self.name = name
            self.committed = Atomic(committed)
        }
    }

    private let db: DatabasePool
    private let logger: Logger
    private let queue = BatchQueue<Pending>()
    private let live = Mutex<[@Sendable ([Chatwire_BackplaneMessage]) -> Void]>([])
    private let durable = Mutex<[DurableConsumer]>([])
    private let assignment: Mutex<PartitionAssignment>
    private let durableTasks = Mutex<[Task<Void, Never>]>([])
    /// Largest batch written in one transaction.
    public let maxBatch: Int
    /// How long the writer gathers published messages before appending a batch smaller than
    /// ``maxBatch`` (the reference's producer lingers 1 ms too): fewer, larger transactions, each
    /// writing the log's tail page once, for at most this much more time to the Processed
    /// acknowledgement and the delivery.
    public let publishLinger: Duration
    /// How long a durable consumer (history and chat-state writer) gathers committed messages
    /// before handling a batch smaller than ``durableBatch``: one larger transaction writes each
    /// touched page and each chat's state row once for many messages. Durable consumers are off
    /// the delivery path (history is eventually consistent, as in the reference), so this delays
    /// history by at most the linger, never a delivery or an acknowledgement.
    public let durableLinger: Duration
    /// Batch size at which a durable consumer stops lingering.
    static let durableBatch = 8192

    /// A backplane on `db` with `partitionCount` partitions.
    public init(db: DatabasePool, partitionCount: Int, maxBatch: Int = 4096, publishLinger: Duration = .milliseconds(1),
                durableLinger: Duration = .milliseconds(50), logger: Logger) {
        self.db = db
        self.assignment = Mutex(.all(partitionCount))
        self.maxBatch = maxBatch
        self.publishLinger = publishLinger
        self.durableLinger = durableLinger
        self.logger = logger
    }

    public var partitionCount: Int { assignment.withLock { $0.partitionCount } }

    /// The partitions this process owns now.
    public var currentAssignment: PartitionAssignment { assignment.withLock { $0 } }

    /// Changes the partition count for messages published from now on and the partitions whose
    /// messages live consumers see.
    public func assign(_ assignment: PartitionAssignment) async {
        self.assignment.withLock { $0 = assignment }
    }

    public func publish(_ message: Chatwire_BackplaneMessage, completion: @escaping @Sendable ((any Error)?) -> Void) {
        if !queue.append(Pending(message: message, completion: completion)) {
            completion(BackplaneError(description: "the backplane is shutting down"))
        }
    }

    public func subscribeLive(_ name: String, handler: @escaping @Sendable ([Chatwire_BackplaneMessage]) -> Void) {
        live.withLock { $0.append(handler) }
    }

    public func subscribeDurable(_ name: String, fromOffset: Int64, handler: @escaping @Sendable ([Chatwire_BackplaneMessage], Int64) async -> Void) async throws {
        let consumer = DurableConsumer(name: name, committed: fromOffset)
        durable.withLock { $0.append(consumer) }
        // Everything committed before registration is replayed from the log; later batches arrive on the queue.
        let head = try await db.read { db in try Int64.fetchOne(db, sql: "SELECT max(offset) FROM log") ?? 0 }
        var position = fromOffset
        while position < head {
            let from = position
            let rows: [Entry] = try await db.read { db in
                try Row.fetchAll(db, sql: "SELECT offset, payload FROM log WHERE offset > ? AND offset <= ? ORDER BY offset LIMIT 4096", arguments: [from, head]).map {
                    Entry(offset: $0["offset"], message: try Chatwire_BackplaneMessage(serializedBytes: $0["payload"] as Data))
                }
            }
            guard let last = rows.last else { break }
            await handler(rows.map(\.message), last.offset)
            consumer.committed.store(last.offset, ordering: .relaxed)
            position = last.offset
        }
        if position > fromOffset { logger.info("backplane replayed", metadata: ["consumer": "\(name)", "from": "\(fromOffset)", "to": "\(position)"]) }
        let replayedUpTo = position
        let linger = durableLinger
        let task = Task {
            while let entries = await consumer.queue.next(limit: Self.durableBatch, linger: linger) {
                let fresh = entries.filter { $0.offset > replayedUpTo }
                guard let last = fresh.last else { continue }
                await handler(fresh.map(\.message), last.offset)
                consumer.committed.store(last.offset, ordering: .relaxed)
            }
        }
        durableTasks.withLock { $0.append(task) }
    }

    /// Runs the writer until graceful shutdown; then drains what is queued and stops consumers.
    public func run() async throws {
        let truncation = Task { await self.truncateLoop() }
        defer { truncation.cancel() }
        // Graceful shutdown drains the queue; cancellation (another service of the group failed,
        // e.g. the HTTP port was taken) ends it the same way instead of waiting forever.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await writeLoop()
            } onGracefulShutdown: {
                self.queue.finish()
            }
        } onCancel: {
            self.queue.finish()
        }
        for consumer in durable.withLock({ $0 }) { consumer.queue.finish() }
        for task in durableTasks.withLock({ $0 }) { await task.value }
        try? await truncate()
    }

    /// Stops accepting messages, drains the writer and durable consumers (for tests and shutdown).
    public func shutdown() { queue.finish() }

    private func writeLoop() async {
        while let batch = await queue.next(limit: maxBatch, linger: publishLinger) {
            let current = currentAssignment
            let count = current.partitionCount
            do {
                let entries: [Entry] = try await db.write { db in
                    let insert = try db.cachedStatement(sql: "INSERT INTO log (partition, payload) VALUES (?, ?)")
                    var entries: [Entry] = []
                    entries.reserveCapacity(batch.count)
                    for pending in batch {
                        let partition = UserPartitioner.partition(of: pending.message.targetUserID, partitionCount: count)
                        let payload: Data = try pending.message.serializedBytes()
                        try insert.execute(arguments: [partition, payload])
                        entries.append(Entry(offset: db.lastInsertedRowID, message: pending.message))
                    }
                    return entries
                }
                // Acknowledgements and deliveries of the batch reach each connection in one write.
                OutboxDrainBatch.run {
                    for pending in batch { pending.completion(nil) }
                    let messages = entries.map(\.message).filter { current.owns(user: $0.targetUserID) }
                    if !messages.isEmpty { for handler in live.withLock({ $0 }) { handler(messages) } }
                }
                for consumer in durable.withLock({ $0 }) { consumer.queue.append(contentsOf: entries) }
            } catch {
                logger.error("backplane append failed", metadata: ["error": "\(error)", "messages": "\(batch.count)"])
                for pending in batch { pending.completion(BackplaneError(description: "append failed: \(error)")) }
            }
        }
    }

    private func truncateLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            try? await truncate()
        }
    }

    private func truncate() async throws {
        let consumers = durable.withLock { $0 }
        guard !consumers.isEmpty else { return }
        let low = consumers.map { $0.committed.load(ordering: .relaxed) }.min() ?? 0
        try await db.write { db in try db.execute(sql: "DELETE FROM log WHERE offset <= ?", arguments: [low]) }
    }
}
