/// Decides whether a ``GRPCServer`` accepts more connections, and hears of every connection it
/// opens and closes: the hook for a process-wide connection (file descriptor) budget.
///
/// Set it as ``GRPCServer/Configuration/connectionDelegate``. The server calls
/// ``connectionOpened()`` for each accepted TCP connection (before TLS or HTTP/2 set-up) and
/// ``connectionClosed()`` once when it closes (both on event-loop threads). Before each accept it
/// asks ``isAcceptingConnections()``; while that is false the listener stops reading from its
/// socket, so new connections wait in the kernel's listen backlog (a client's TCP connect may
/// complete there, but the server neither reads from nor answers it until accepted). The
/// listener asks again whenever one of its own connections closes and every
/// ``GRPCServer/Configuration/connectionRecheckInterval`` while paused, so room freed elsewhere
/// (another listener sharing the same budget) is noticed too.
///
/// Calls may come from several event loops when several servers share one delegate, so
/// implementations must be thread-safe. Streams (calls) are not counted: a connection carries
/// up to ``GRPCServer/Configuration/maxConcurrentStreams`` of them on one descriptor.
public protocol ServerConnectionDelegate: Sendable {
    /// A connection was accepted.
    func connectionOpened()
    /// A connection accepted earlier closed.
    func connectionClosed()
    /// Whether the server may accept another connection now.
    func isAcceptingConnections() -> Bool
}
