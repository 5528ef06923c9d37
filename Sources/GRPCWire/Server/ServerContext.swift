import Logging
import NIOSSL
import Synchronization
import WireCore

/// What a server handler knows about its call, and the metadata it sends back.
public final class ServerContext: Sendable {
    /// The service name of the called method.
    public let service: String
    /// The method name.
    public let method: String
    /// The request metadata (custom headers).
    public let requestMetadata: Metadata
    /// The call's deadline, from `grpc-timeout`.
    public let deadline: Deadline?
    /// The peer address, e.g. `[IPv4]127.0.0.1/127.0.0.1:53422`.
    public let peer: String
    /// The client's certificate, verified, when the server requires client certificates
    /// (``GRPCServer/ServerTLS/clientCertificateTrustRootsFile``); nil otherwise.
    public let peerCertificate: NIOSSLCertificate?
    /// A logger with the method in its metadata.
    public let logger: Logger

    private struct Outgoing {
        var initial = Metadata()
        var trailing = Metadata()
    }
    private let outgoing = Mutex(Outgoing())

    init(service: String, method: String, requestMetadata: Metadata, deadline: Deadline?, peer: String,
        peerCertificate: NIOSSLCertificate? = nil, logger: Logger
    ) {
        self.service = service
        self.method = method
        self.requestMetadata = requestMetadata
        self.deadline = deadline
        self.peer = peer
        self.peerCertificate = peerCertificate
        self.logger = logger
    }

    /// Metadata sent in the response headers; set it before the first response message.
    public var initialMetadata: Metadata {
        get { outgoing.withLock { $0.initial } }
        set { outgoing.withLock { $0.initial = newValue } }
    }

    /// Metadata sent in the trailers with the status (also when the handler throws).
    public var trailingMetadata: Metadata {
        get { outgoing.withLock { $0.trailing } }
        set { outgoing.withLock { $0.trailing = newValue } }
    }
}

/// Intercepts server calls, e.g. to authenticate or to record metrics.
///
/// Throw an ``RPCError`` to reject a call before its handler runs.
public protocol ServerInterceptor: Sendable {
    /// Runs the call by calling `next` (at most once).
    func intercept(context: ServerContext, next: () async throws -> Void) async throws
}
