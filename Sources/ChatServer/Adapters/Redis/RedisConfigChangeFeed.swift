import Foundation
import Logging
import RedisWire
import ServiceLifecycle
import Synchronization

/// ``ConfigChangeFeed`` over Redis pub/sub: each instance publishes the sections it changed on
/// `<prefix>config-changes` and subscribes to the same channel (every instance gets every
/// change: a broadcast). An instance ignores its own announcements. Run it as a `Service`.
///
/// Pub/sub does not queue: an instance whose subscription is down while a change is announced
/// misses it and keeps its values until the next change (RedisWire re-subscribes by itself).
public final class RedisConfigChangeFeed: ConfigChangeFeed, Service {
    struct Announcement: Codable {
        var origin: String
        var sections: [String]
    }

    let client: any ChatRedisClient
    /// The channel announcements go to.
    public let channel: String
    let origin = UUID().uuidString
    let logger: Logger
    private let handler = Mutex<(@Sendable (Set<String>) async -> Void)?>(nil)
    private let subscribed = Mutex<[CheckedContinuation<Void, Never>]?>([])

    /// A feed on `client`, channel `<prefix>config-changes`.
    public init(client: any ChatRedisClient, prefix: String = "", logger: Logger) {
        self.client = client
        self.channel = prefix + "config-changes"
        self.logger = logger
    }

    public func onChange(_ handler: @escaping @Sendable (Set<String>) async -> Void) {
        self.handler.withLock { $0 = handler }
    }

    public func announce(_ sections: Set<String>) async throws {
        let payload = try JSONEncoder().encode(Announcement(origin: origin, sections: sections.sorted()))
        try await client.publish(String(decoding: payload, as: UTF8.self), to: channel)
    }

    /// Waits until the subscription is live (for tests and start-up ordering).
    public func waitUntilSubscribed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let live = subscribed.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if live { continuation.resume() }
        }
    }

    private func markSubscribed() {
        for waiter in subscribed.withLock({ waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters = nil }
            return waiters ?? []
        }) { waiter.resume() }
    }

    /// Subscribes and dispatches announcements until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.client.subscribe(to: [self.channel], kind: .channel) { messages in
                        self.markSubscribed()
                        for try await message in messages {
                            guard let announcement = try? JSONDecoder().decode(Announcement.self, from: Data(message.string.utf8)),
                                  announcement.origin != self.origin else { continue }
                            await self.handler.withLock({ $0 })?(Set(announcement.sections))
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    self.logger.warning("config-change subscription failed; retrying", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        markSubscribed()
    }
}
