/// A point in time by which an operation must finish, on the continuous clock.
///
/// Deadlines compose: `min(a, b)` of a request deadline and a connection deadline is the
/// earlier one, and ``remaining`` is what is left to pass as a timeout to the next step.
public struct Deadline: Sendable, Hashable, Comparable {
    /// The instant at which the deadline expires.
    public let instant: ContinuousClock.Instant

    /// A deadline at `instant`.
    public init(_ instant: ContinuousClock.Instant) {
        self.instant = instant
    }

    /// A deadline `duration` from now.
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(ContinuousClock.now.advanced(by: duration))
    }

    /// A deadline that never expires in practice (about 100 years from now).
    public static var distantFuture: Deadline {
        .after(.seconds(100 * 365 * 24 * 3600))
    }

    /// Time left until the deadline; zero or negative once it has passed.
    public var remaining: Duration {
        ContinuousClock.now.duration(to: instant)
    }

    /// Whether the deadline has passed.
    public var hasExpired: Bool {
        ContinuousClock.now >= instant
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool {
        lhs.instant < rhs.instant
    }
}

/// Thrown by ``withDeadline(_:operation:)`` when the deadline passes before the operation finishes.
public struct DeadlineExceededError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The deadline that was exceeded.
    public let deadline: Deadline
    public init(deadline: Deadline) { self.deadline = deadline }
    public var description: String { "the operation did not finish before its deadline" }
}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceededError`` if `deadline` passes first.
///
/// The operation must respond to task cancellation; its result is returned if it finishes in time.
public func withDeadline<T: Sendable>(
    _ deadline: Deadline,
    operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline.instant, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        if let value = first { return value }
        throw DeadlineExceededError(deadline: deadline)
    }
}
