import NIOCore
import NIOSSL
import NIOTLS

/// Sits right after the `NIOSSLClientHandler` and completes a promise when the handshake
/// finishes (with the ALPN protocol the server chose) or fails. Passes everything through.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let promise: EventLoopPromise<String?>
    private(set) var negotiatedProtocol: String?

    init(promise: EventLoopPromise<String?>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = tlsEvent {
            negotiatedProtocol = negotiated
            promise.succeed(negotiated)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(TLSHandshakeInterrupted())
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(TLSHandshakeInterrupted())
    }
}

/// The connection closed before the TLS handshake finished.
struct TLSHandshakeInterrupted: Error, CustomStringConvertible {
    var description: String { "the connection closed before the TLS handshake finished" }
}

/// The TLS handshake did not finish in time.
struct TLSHandshakeTimedOut: Error, CustomStringConvertible {
    var description: String { "the TLS handshake did not finish in time" }
}

extension TLSSettings {
    /// Adds TLS to a connected channel: a `NIOSSLClientHandler` at the front of the pipeline, for
    /// STARTTLS-style upgrades such as PostgreSQL's `SSLRequest`. Call it on the channel's event loop.
    ///
    /// - Parameters:
    ///   - channel: The connected channel.
    ///   - context: A context from ``makeContext()``.
    ///   - hostname: The host connected to (``serverName`` overrides it).
    ///   - handshakeTimeout: When set, the channel is closed and the future fails if the
    ///     handshake has not finished by then.
    /// - Returns: A future that succeeds with the negotiated ALPN protocol (if any) once the
    ///   handshake completes, and fails with ``ConnectError/tls(underlying:)`` (or
    ///   ``ConnectError/timedOut(_:)`` on timeout) otherwise.
    public func addClientHandler(
        to channel: any Channel,
        context: NIOSSLContext,
        hostname: String?,
        handshakeTimeout: Duration? = nil
    ) throws -> EventLoopFuture<String?> {
        channel.eventLoop.preconditionInEventLoop()
        let promise = channel.eventLoop.makePromise(of: String?.self)
        let handler = try makeClientHandler(context: context, hostname: hostname)
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(TLSHandshakeObserver(promise: promise), position: .first)
        try operations.addHandler(handler, position: .first)
        if let handshakeTimeout {
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(handshakeTimeout)) {
                promise.fail(TLSHandshakeTimedOut())
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return promise.futureResult
    }

    /// Upgrades a connected channel to TLS and waits for the handshake (from any context).
    ///
    /// - Parameters:
    ///   - channel: The connected channel.
    ///   - endpoint: What the channel is connected to; its host is the default server name.
    ///   - context: A context from ``makeContext()``; built from these settings when `nil`.
    ///   - handshakeTimeout: Limit for the handshake.
    /// - Returns: The ALPN protocol the server chose, if any.
    /// - Throws: ``ConnectError/tls(underlying:)``, ``ConnectError/timedOut(_:)`` or
    ///   ``ConnectError/invalidTLSConfiguration(underlying:)``; the channel is closed on failure.
    public func startTLS(
        on channel: any Channel,
        endpoint: Endpoint,
        context: NIOSSLContext? = nil,
        handshakeTimeout: Duration = .seconds(10)
    ) async throws -> String? {
        let sslContext: NIOSSLContext
        do {
            sslContext = try context ?? makeContext()
        } catch {
            try? await channel.close()
            throw error
        }
        let future = channel.eventLoop.flatSubmit { () -> EventLoopFuture<String?> in
            do {
                return try self.addClientHandler(
                    to: channel, context: sslContext, hostname: endpoint.host, handshakeTimeout: handshakeTimeout)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
        do {
            return try await future.get()
        } catch {
            try? await channel.close()
            throw ConnectError.mappingHandshake(error, endpoint: endpoint)
        }
    }
}

extension ConnectError {
    /// Maps an error seen while waiting for the TLS handshake.
    static func mappingHandshake(_ error: any Error, endpoint: Endpoint) -> ConnectError {
        switch error {
        case let error as ConnectError: error
        case is TLSHandshakeTimedOut: .timedOut(endpoint)
        default: .tls(underlying: error)
        }
    }
}
