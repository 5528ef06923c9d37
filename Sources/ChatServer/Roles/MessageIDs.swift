import ChatWire
import Logging
import ServiceLifecycle
import Synchronization

/// Where the messaging role takes message IDs from: the idgen role's generator in the same
/// process, or an ``IDBuffer`` filled from an idgen role in another process.
public protocol MessageIDSource: Sendable {
    /// The next message ID; throws (503, "Failed to obtain a message ID.") when none is available.
    func nextID() throws(MessagingError) -> Int64
}

extension SnowflakeGenerator: MessageIDSource {
    /// The next snowflake (never fails).
    public func nextID() throws(MessagingError) -> Int64 { next() }
}

/// The messaging side's buffer of message IDs from a remote idgen role (the reference's
/// `IdGenClient`): a background refill calls `GenerateMany` every ``refreshInterval`` and at once
/// when fewer than a quarter of the IDs are left, then swaps the fresh IDs in (the rest of the
/// old batch is dropped, so IDs stay close to the time they are used; every fresh ID is above
/// every old one, so IDs stay increasing). When a refill fails, the current IDs stay in use, so
/// sending goes on while the idgen role restarts; only an empty buffer fails a send.
public final class IDBuffer: MessageIDSource, Service {
    private struct State {
        var ids: [Int64] = []
        var next = 0
        var refills = 0
        var lastError: String?
    }

    /// IDs fetched per refill.
    public let batchSize: Int
    /// Time between refills.
    public let refreshInterval: Duration
    private let fetch: @Sendable (Int) async throws -> [Int64]
    private let state = Mutex(State())
    private let wanted = Atomic(false)
    private let logger: Logger

    /// A buffer refilled by `fetch(count)`.
    public init(batchSize: Int = 1024, refreshInterval: Duration = .seconds(1), logger: Logger,
                fetch: @escaping @Sendable (Int) async throws -> [Int64]) {
        self.batchSize = max(2, batchSize)
        self.refreshInterval = refreshInterval
        self.fetch = fetch
        self.logger = logger
    }

    /// A buffer filled from the idgen role behind `remote` (`chatwire.internal.IdGen/GenerateMany`).
    public convenience init(remote: RemoteRole, batchSize: Int, logger: Logger) {
        self.init(batchSize: batchSize, logger: logger) { count in
            var request = Chatwire_Internal_GenerateManyRequest()
            request.count = Int32(count)
            return try await remote.call(InternalMethods.IdGen.generateMany, request, idempotent: true).ids
        }
    }

    /// IDs left.
    public var available: Int { state.withLock { $0.ids.count - $0.next } }

    /// Successful refills so far.
    public var refills: Int { state.withLock { $0.refills } }

    public func nextID() throws(MessagingError) -> Int64 {
        let (id, left, lastError): (Int64?, Int, String?) = state.withLock { state in
            guard state.next < state.ids.count else { return (nil, 0, state.lastError) }
            defer { state.next += 1 }
            return (state.ids[state.next], state.ids.count - state.next - 1, nil)
        }
        if left < batchSize / 4 { wanted.store(true, ordering: .relaxed) }
        guard let id else {
            throw MessagingError(code: 503, message: "Failed to obtain a message ID.", errors: lastError.map { [$0] } ?? [])
        }
        return id
    }

    /// Fetches a fresh batch and swaps it in; on failure keeps the current IDs and throws.
    public func refill() async throws {
        do {
            let ids = try await fetch(batchSize)
            guard !ids.isEmpty else { throw RemoteRoleError(role: .idgen, address: nil, kind: .badResponse("GenerateMany returned no IDs")) }
            state.withLock { state in
                state.ids = ids
                state.next = 0
                state.refills += 1
                state.lastError = nil
            }
        } catch {
            state.withLock { $0.lastError = "\(error)" }
            throw error
        }
    }

    /// Refills every ``refreshInterval``, and whenever the buffer runs low, until graceful shutdown.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in
            var sinceRefill = refreshInterval
            var failures = 0
            while !Task.isCancelled {
                if sinceRefill >= refreshInterval || wanted.exchange(false, ordering: .acquiringAndReleasing) {
                    sinceRefill = .zero
                    do {
                        try await refill()
                        if failures > 0 { logger.info("message ID buffer refilled again", metadata: ["failedRefills": "\(failures)"]) }
                        failures = 0
                    } catch {
                        failures += 1
                        if failures == 1 || failures % 30 == 0 {
                            logger.warning("message ID buffer refill failed; using the IDs left", metadata: ["left": "\(available)", "error": "\(error)"])
                        }
                    }
                }
                let step = Duration.milliseconds(5)
                try await Task.sleep(for: step)
                sinceRefill += step
            }
        }
    }
}
