import NIOCore

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
///
/// Used by ``RedisConnection/withEventLoopAffinity(_:)``: a task that prefers the connection's
/// event loop hands its commands to the channel without a thread hop and is resumed with the
/// reply on the same thread, instead of crossing to the cooperative pool and back on every
/// round trip.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}

extension RedisConnection {
    /// Runs `body` with the connection's event loop as the task executor preference.
    ///
    /// For a task that talks to one dedicated connection in a tight request/reply loop: each
    /// command is handed to the channel on the same thread and the task resumes there when the
    /// reply arrives, saving two thread handoffs per round trip (they dominate when the machine
    /// is busy). Long CPU work inside `body` delays the connection's I/O, so keep it short.
    ///
    /// ```swift
    /// try await connection.withEventLoopAffinity {
    ///     for key in keys { _ = try await connection.get(key) }
    /// }
    /// ```
    public func withEventLoopAffinity<T>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(taskExecutor, operation: body)
    }
}
