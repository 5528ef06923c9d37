import WireCore

extension RedisConnection {
    /// Runs `body` with the connection's event loop as the task executor preference
    /// (WireCore's `EventLoopTaskExecutor`).
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
