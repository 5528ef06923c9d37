import NIOCore
import Synchronization

/// Gathers the event-loop drains of real-time outboxes that frames are pushed to while one batch
/// of work runs (a committed backplane batch: its Processed acknowledgements and deliveries), and
/// schedules them at the end with one event-loop task per event loop.
///
/// Without it every push that finds an idle outbox schedules its own drain at once: a batch of N
/// messages costs up to 2N cross-thread wake-ups and as many socket writes, each with one frame,
/// even when a connection gets both an acknowledgement and a delivery from the same batch. Inside
/// ``run(_:)`` an outbox gets one drain per batch (every frame the batch queued for it goes out in
/// one write) and each event loop is woken once.
final class OutboxDrainBatch: Sendable {
    /// The batch the current task is collecting drains for, if any.
    @TaskLocal static var current: OutboxDrainBatch?

    private struct Loop {
        var eventLoop: any EventLoop
        var drains: [@Sendable () -> Void]
    }

    private let loops = Mutex<[Loop]>([])

    private init() {}

    /// Runs `body`; outbox drains that pushes inside it would have scheduled one by one are
    /// scheduled afterwards, once per event loop.
    static func run<T>(_ body: () throws -> T) rethrows -> T {
        let batch = OutboxDrainBatch()
        defer { batch.schedule() }
        return try $current.withValue(batch) { try body() }
    }

    /// Adds the drain of an outbox on `eventLoop` (called on that event loop later).
    func add(on eventLoop: any EventLoop, _ drain: @escaping @Sendable () -> Void) {
        loops.withLock { loops in
            if let index = loops.firstIndex(where: { $0.eventLoop === eventLoop }) {
                loops[index].drains.append(drain)
            } else {
                loops.append(Loop(eventLoop: eventLoop, drains: [drain]))
            }
        }
    }

    private func schedule() {
        let loops = loops.withLock { loops in
            defer { loops.removeAll() }
            return loops
        }
        for loop in loops {
            let drains = loop.drains
            loop.eventLoop.execute { for drain in drains { drain() } }
        }
    }
}
