@testable import ChatServer
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The real-time connections' outbound queue: batches written on the event loop in order, one
/// batch in flight at a time, bounded, and closing the connection once finished and drained.
@Suite struct ConnectionOutboxTests {
    /// A fake connection: records each batch, completes its write when told to (or at once).
    final class Connection: Sendable {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let batches = Mutex<[[Int]]>([])
        let pending = Mutex<[EventLoopPromise<Void>]>([])
        let holdWrites: Bool
        let closes = Atomic<Int>(0)
        let onLoop = Atomic<Bool>(true)

        init(holdWrites: Bool) { self.holdWrites = holdWrites }

        func outbox(capacity: Int) -> ConnectionOutbox<Int> {
            ConnectionOutbox(capacity: capacity, eventLoop: eventLoop) { batch in
                if !self.eventLoop.inEventLoop { self.onLoop.store(false, ordering: .relaxed) }
                self.batches.withLock { $0.append(batch) }
                guard self.holdWrites else { return self.eventLoop.makeSucceededVoidFuture() }
                let promise = self.eventLoop.makePromise(of: Void.self)
                self.pending.withLock { $0.append(promise) }
                return promise.futureResult
            } close: {
                self.closes.add(1, ordering: .relaxed)
            }
        }

        /// Completes the held writes (on the event loop), failing them with `error` if given.
        func release(failing error: (any Error)? = nil) async throws {
            let promises = pending.withLock { promises in
                defer { promises.removeAll() }
                return promises
            }
            try await eventLoop.submit {
                for promise in promises {
                    if let error { promise.fail(error) } else { promise.succeed() }
                }
            }.get()
        }

        var written: [Int] { batches.withLock { $0.flatMap { $0 } } }
        var batchCount: Int { batches.withLock { $0.count } }
    }

    @Test(.timeLimit(.minutes(1))) func writesEveryFrameInOrderInBatchesOnTheEventLoop() async throws {
        let connection = Connection(holdWrites: true)
        let outbox = connection.outbox(capacity: 1000)
        for i in 0..<10 { #expect(outbox.push(i)) }
        // The first batch is in flight (not completed): everything queued meanwhile is the next batch.
        try await waitUntil { connection.batchCount == 1 }
        for i in 10..<100 { #expect(outbox.push(i)) }
        try await connection.release()
        try await waitUntil { connection.batchCount == 2 }
        try await connection.release()
        outbox.finish()
        #expect(!outbox.push(100))
        await outbox.closed()
        #expect(connection.written == Array(0..<100))
        let sizes: [Int] = connection.batches.withLock { $0.map(\.count) }
        #expect(sizes.count == 2)
        #expect(sizes.reduce(0, +) == 100)
        #expect(connection.closes.load(ordering: .relaxed) == 1)
        let onLoop = connection.onLoop.load(ordering: .relaxed)
        #expect(onLoop)
    }

    @Test(.timeLimit(.minutes(1))) func framesFromManyThreadsAllArriveOnce() async throws {
        let connection = Connection(holdWrites: false)
        let outbox = connection.outbox(capacity: 100_000)
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<8 {
                group.addTask {
                    for i in 0..<1000 { outbox.push(producer * 1000 + i) }
                }
            }
        }
        outbox.finish()
        await outbox.closed()
        let written = connection.written
        #expect(written.count == 8000)
        #expect(Set(written) == Set(0..<8000))
        // Each producer's frames stay in its order.
        for producer in 0..<8 {
            let mine = written.filter { $0 / 1000 == producer }
            #expect(mine == Array(producer * 1000..<(producer + 1) * 1000))
        }
        #expect(connection.closes.load(ordering: .relaxed) == 1)
    }

    @Test(.timeLimit(.minutes(1))) func aClientThatFallsCapacityBehindIsRefusedAndClosedAfterTheQueuedFrames() async throws {
        let connection = Connection(holdWrites: true)
        let outbox = connection.outbox(capacity: 4)
        #expect(outbox.push(0))
        try await waitUntil { connection.batchCount == 1 }
        // The socket takes nothing: frames queue up to the capacity, then the outbox refuses.
        for i in 1...4 { #expect(outbox.push(i)) }
        #expect(!outbox.push(5))
        #expect(!outbox.push(6))
        #expect(connection.closes.load(ordering: .relaxed) == 0)
        try await connection.release()
        try await waitUntil { connection.batchCount == 2 }
        try await connection.release()
        await outbox.closed()
        #expect(connection.written == [0, 1, 2, 3, 4])
        #expect(connection.closes.load(ordering: .relaxed) == 1)
    }

    @Test(.timeLimit(.minutes(1))) func aFailedWriteDropsTheQueueAndCloses() async throws {
        struct Gone: Error {}
        let connection = Connection(holdWrites: true)
        let outbox = connection.outbox(capacity: 100)
        #expect(outbox.push(0))
        try await waitUntil { connection.batchCount == 1 }
        #expect(outbox.push(1))
        try await connection.release(failing: Gone())
        await outbox.closed()
        #expect(connection.written == [0])
        #expect(!outbox.push(2))
        #expect(connection.closes.load(ordering: .relaxed) == 1)
    }

    /// Inside an OutboxDrainBatch (a committed backplane batch) nothing is written until the batch
    /// ends; then each outbox writes everything the batch queued for it in one write.
    @Test(.timeLimit(.minutes(1))) func aDrainBatchWritesEachOutboxOnceAfterTheBatch() async throws {
        let first = Connection(holdWrites: false)
        let second = Connection(holdWrites: false)
        let a = first.outbox(capacity: 100)
        let b = second.outbox(capacity: 100)
        OutboxDrainBatch.run {
            for i in 0..<5 {
                #expect(a.push(i))
                #expect(b.push(100 + i))
            }
            // Nothing is scheduled while the batch runs.
            #expect(first.batchCount == 0 && second.batchCount == 0)
        }
        try await waitUntil { first.batchCount == 1 && second.batchCount == 1 }
        #expect(first.batches.withLock { $0 } == [[0, 1, 2, 3, 4]])
        #expect(second.batches.withLock { $0 } == [[100, 101, 102, 103, 104]])
        #expect(first.onLoop.load(ordering: .relaxed) && second.onLoop.load(ordering: .relaxed))
        // Outside a batch a push is drained on its own again.
        #expect(a.push(5))
        try await waitUntil { first.batchCount == 2 }
        #expect(first.written == [0, 1, 2, 3, 4, 5])
    }

    @Test(.timeLimit(.minutes(1))) func finishingAnIdleOutboxClosesOnce() async throws {
        let connection = Connection(holdWrites: false)
        let outbox = connection.outbox(capacity: 10)
        outbox.finish()
        outbox.finish()
        await outbox.closed()
        await outbox.closed()
        #expect(connection.batchCount == 0)
        #expect(connection.closes.load(ordering: .relaxed) == 1)
    }

    /// Polls `condition` (bounded: 10 s).
    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<2000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("condition not reached in 10 s")
    }
}
