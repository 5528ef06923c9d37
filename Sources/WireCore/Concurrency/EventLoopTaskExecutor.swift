import NIOCore

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A task that prefers it (``withEventLoopAffinity(_:_:)``, or
/// `withTaskExecutorPreference(executor) { ... }`) runs its nonisolated code on the event loop's
/// thread. For a task that drives one connection in a tight request/response loop this removes
/// the two cross-thread wake-ups of every round trip: the request is handed to the channel on
/// the same thread (no `execute` into the loop), and when the response arrives the task resumes
/// right there (no enqueue onto Swift's global pool). With few cores, or a busy machine, those
/// wake-ups dominate a loopback round trip.
///
/// Do not block, or do long CPU work, in such a task: it holds up the event loop's I/O and every
/// other channel on it.
///
/// ```swift
/// let executor = EventLoopTaskExecutor(channel.eventLoop)
/// try await withTaskExecutorPreference(executor) {
///     for key in keys { _ = try await connection.get(key) }
/// }
/// ```
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The event loop the jobs run on.
    public let eventLoop: any EventLoop

    /// Creates an executor that runs jobs on `eventLoop`.
    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Schedules `job` on the event loop (called by the Swift runtime).
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// Runs `body` with `executor` as the task executor preference: nonisolated async code inside
/// `body` (and child tasks it creates) runs on the executor's event loop.
///
/// Protocol modules expose this per connection (for example
/// `connection.withEventLoopAffinity { ... }`) so a caller that issues many short requests on
/// one connection saves two thread hops per request. See ``EventLoopTaskExecutor``. Code
/// isolated to an actor still runs on that actor; only nonisolated code follows the preference.
public func withEventLoopAffinity<T, Failure: Error>(
    _ executor: EventLoopTaskExecutor,
    isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws(Failure) -> T
) async throws(Failure) -> T {
    try await withTaskExecutorPreference(executor, isolation: isolation, operation: body)
}
