import NIOCore

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
///
/// A task that prefers it (`withTaskExecutorPreference(executor) { ... }`) runs on the same
/// thread as a connection's channel: requests are written without a thread hop, and the task
/// resumes on that thread when the response arrives, instead of waking a thread of Swift's global
/// pool. For one task issuing many short round trips on one connection this removes two
/// cross-thread wake-ups per request. Do not block in such a task: it blocks the event loop and
/// every connection on it.
///
/// Generic (nothing PostgreSQL-specific); a candidate for WireCore.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The event loop the jobs run on.
    public let eventLoop: any EventLoop

    /// Creates an executor for `eventLoop`.
    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
