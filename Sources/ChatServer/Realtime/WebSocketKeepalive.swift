import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the real-time WebSocket connections alive, finds dead ones and ends them all on graceful
/// shutdown, for all of them at once.
///
/// The WebSocket library's own keep-alive runs one ping task per connection, which is most of
/// what an idle listening client would otherwise cost beyond its socket. Here one task pings
/// every registered connection each ``interval`` (WebSocket ping frames, which browsers and
/// clients answer and which keep proxies from timing the connection out), and the kernel finds
/// dead peers: each connection gets TCP keep-alive probes after ``interval`` of silence and a
/// TCP user timeout, so a peer that vanished is reset (and its connection closed) within about
/// two intervals, whether or not data is outstanding. On graceful shutdown every connection's
/// `finish` runs (its outbox writes what is queued, then closes the connection), so no connection
/// needs a shutdown handler of its own.
public final class WebSocketKeepalive: Service, Sendable {
    /// Time between pings (and idle time before the first TCP keep-alive probe).
    public let interval: Duration
    private struct Entry {
        var channel: any Channel
        var finish: @Sendable () -> Void
    }

    private let connections = ShutdownRegistry<Entry> { $0.finish() }
    private let logger: Logger

    /// Pings every `interval` (30 s by default).
    public init(interval: Duration = .seconds(30), logger: Logger) {
        self.interval = interval
        self.logger = logger
    }

    /// Number of registered connections.
    var count: Int { connections.count }

    /// Registers a WebSocket connection's channel and sets its TCP keep-alive; `finish` ends the
    /// connection on graceful shutdown (at once if the server is already shutting down). Returns a
    /// token for ``remove(_:)``.
    func add(_ channel: any Channel, finish: @escaping @Sendable () -> Void) -> Int {
        let seconds = max(1, Int(interval.components.seconds))
        channel.eventLoop.execute {
            guard let options = channel.syncOptions else { return }
            // Best effort: a socket that rejects an option is still served (and still pinged).
            try? options.setOption(.socketOption(.so_keepalive), value: 1)
            #if os(Linux)
            try? options.setOption(.tcpOption(.init(rawValue: TCP_KEEPIDLE)), value: seconds)
            try? options.setOption(.tcpOption(.init(rawValue: TCP_KEEPINTVL)), value: max(1, seconds / 3))
            try? options.setOption(.tcpOption(.init(rawValue: TCP_KEEPCNT)), value: 3)
            try? options.setOption(.tcpOption(.init(rawValue: TCP_USER_TIMEOUT)), value: seconds * 2000)
            #endif
        }
        return connections.add(Entry(channel: channel, finish: finish))
    }

    /// Unregisters a connection.
    func remove(_ token: Int) {
        connections.remove(token)
    }

    /// Pings every registered connection once.
    func pingAll() {
        for channel in connections.entries.map(\.channel) {
            channel.eventLoop.execute {
                let ping = WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())
                channel.pipeline.syncOperations.writeAndFlush(NIOAny(ping), promise: nil)
            }
        }
    }

    /// Ends every registered connection (and any registered later).
    func finishAll() { connections.finishAll() }

    /// Pings every ``interval`` until graceful shutdown, then ends every connection.
    public func run() async throws {
        defer { finishAll() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let interval = self.interval
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            pingAll()
        }
    }
}
