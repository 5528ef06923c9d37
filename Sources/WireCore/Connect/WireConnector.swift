import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens client connections (TCP or Unix socket, optionally TLS) for every Wirestack protocol.
public enum WireConnector {
    /// Connects and runs `initializer` on the channel's pipeline (after the TLS handler when
    /// ``ConnectionConfiguration/tls`` is set).
    ///
    /// With TLS, this returns only once the handshake has completed, so certificate and hostname
    /// problems surface here as ``ConnectError/tls(underlying:)``. The connect timeout covers the
    /// TCP connect and the handshake together.
    ///
    /// - Parameters:
    ///   - configuration: Endpoint, timeout, socket options and TLS.
    ///   - eventLoopGroup: The group the channel runs on.
    ///   - initializer: Adds the protocol's handlers; runs on the channel's event loop before connect.
    /// - Returns: The connected channel.
    /// - Throws: ``ConnectError``.
    public static func connect(
        _ configuration: ConnectionConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        let endpoint = configuration.endpoint
        let sslContext = try configuration.tls?.makeContext()
        let eventLoop = eventLoopGroup.next()
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout)
        let handshakePromise: EventLoopPromise<String?>? = sslContext == nil ? nil : eventLoop.makePromise()
        let tls = configuration.tls

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.tcpOption(.tcp_nodelay), value: configuration.tcpNoDelay ? 1 : 0)
            .channelInitializer { channel in
                if let sslContext, let tls, let handshakePromise {
                    do {
                        let handler = try tls.makeClientHandler(context: sslContext, hostname: endpoint.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        try channel.pipeline.syncOperations.addHandler(TLSHandshakeObserver(promise: handshakePromise))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                return initializer(channel).flatMapErrorThrowing { error in
                    throw InitializerFailure(error: error)
                }
            }

        let channel: any Channel
        do {
            switch endpoint {
            case .tcp(let host, let port):
                channel = try await bootstrap.connect(host: host, port: port).get()
            case .unixSocket(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch {
            handshakePromise?.fail(error)
            throw ConnectError.mappingConnect(error, endpoint: endpoint)
        }

        guard let handshakePromise else { return channel }
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            handshakePromise.fail(TLSHandshakeTimedOut())
        }
        handshakePromise.futureResult.whenComplete { _ in timer.cancel() }
        do {
            _ = try await handshakePromise.futureResult.get()
            return channel
        } catch {
            try? await channel.close()
            throw ConnectError.mappingHandshake(error, endpoint: endpoint)
        }
    }

    /// The ALPN protocol the server selected on a TLS channel made by ``connect(_:eventLoopGroup:initializer:)``
    /// or upgraded with ``TLSSettings/startTLS(on:endpoint:context:handshakeTimeout:)``; `nil` when
    /// none was negotiated or the channel has no TLS.
    public static func negotiatedApplicationProtocol(on channel: any Channel) async throws -> String? {
        try await channel.eventLoop.submit {
            guard let observer = try? channel.pipeline.syncOperations.handler(type: TLSHandshakeObserver.self) else {
                return nil
            }
            return observer.negotiatedProtocol
        }.get()
    }
}

/// Marks an error thrown by the caller's initializer, so it is not mistaken for a connect error.
struct InitializerFailure: Error {
    let error: any Error
}

extension ConnectError {
    /// Maps an error from `ClientBootstrap.connect`.
    static func mappingConnect(_ error: any Error, endpoint: Endpoint) -> ConnectError {
        switch error {
        case let error as ConnectError:
            return error
        case let failure as InitializerFailure:
            return .initializerFailed(underlying: failure.error)
        case ChannelError.connectTimeout:
            return .timedOut(endpoint)
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return .refused(endpoint, underlying: error)
        case let error as NIOConnectionError:
            // Happy-eyeballs wraps per-address failures; an initializer or TLS failure is not a connect failure.
            for failure in error.connectionErrors {
                if failure.error is InitializerFailure || failure.error is ConnectError {
                    return mappingConnect(failure.error, endpoint: endpoint)
                }
            }
            if error.connectionErrors.isEmpty == false,
                error.connectionErrors.allSatisfy({ ($0.error as? IOError)?.errnoCode == ECONNREFUSED })
            {
                return .refused(endpoint, underlying: error)
            }
            if error.connectionErrors.contains(where: {
                if case .connectTimeout = $0.error as? ChannelError { return true }
                return false
            }) {
                return .timedOut(endpoint)
            }
            return .unreachable(endpoint, underlying: error)
        case let error as NIOSSLError:
            return .tls(underlying: error)
        default:
            return .unreachable(endpoint, underlying: error)
        }
    }
}
