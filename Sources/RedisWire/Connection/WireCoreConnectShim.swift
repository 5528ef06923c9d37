// TEMPORARY: stand-ins for WireCore's Connect/ API (WIRECORE_API.md) until the core-net helper's
// branch lands on main. Same names and shapes as the contract; this file is deleted on merge.
import NIOCore
import NIOPosix
import NIOSSL

/// Where to connect (stand-in for WireCore's `Endpoint`).
public enum Endpoint: Sendable, Hashable {
    case tcp(host: String, port: Int)
    case unixSocket(path: String)
}

/// TLS settings (stand-in for WireCore's `TLSSettings`).
public struct TLSSettings: Sendable {
    public enum TrustRoots: Sendable { case system, file(String), pem(String) }
    public enum Verification: Sendable { case full, noHostname, none }
    public var trustRoots: TrustRoots = .system
    public var certificateChainFile: String? = nil
    public var privateKeyFile: String? = nil
    public var verification: Verification = .full
    public var serverName: String? = nil
    public var applicationProtocols: [String] = []

    public init(trustRoots: TrustRoots = .system, certificateChainFile: String? = nil, privateKeyFile: String? = nil,
                verification: Verification = .full, serverName: String? = nil, applicationProtocols: [String] = []) {
        self.trustRoots = trustRoots
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.verification = verification
        self.serverName = serverName
        self.applicationProtocols = applicationProtocols
    }

    public func makeContext() throws -> NIOSSLContext {
        var c = TLSConfiguration.makeClientConfiguration()
        switch trustRoots {
        case .system: c.trustRoots = .default
        case .file(let path): c.trustRoots = .file(path)
        case .pem(let pem): c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
        }
        switch verification {
        case .full: c.certificateVerification = .fullVerification
        case .noHostname: c.certificateVerification = .noHostnameVerification
        case .none: c.certificateVerification = .none
        }
        if let chain = certificateChainFile {
            c.certificateChain = try NIOSSLCertificate.fromPEMFile(chain).map { .certificate($0) }
        }
        if let key = privateKeyFile { c.privateKey = .file(key) }
        c.applicationProtocols = applicationProtocols
        return try NIOSSLContext(configuration: c)
    }

    public func makeClientHandler(context: NIOSSLContext, hostname: String?) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: serverName ?? hostname)
    }
}

/// How to connect (stand-in for WireCore's `ConnectionConfiguration`).
public struct ConnectionConfiguration: Sendable {
    public var endpoint: Endpoint
    public var connectTimeout: Duration = .seconds(10)
    public var tcpNoDelay: Bool = true
    public var tls: TLSSettings? = nil
    public init(endpoint: Endpoint, connectTimeout: Duration = .seconds(10), tcpNoDelay: Bool = true, tls: TLSSettings? = nil) {
        self.endpoint = endpoint
        self.connectTimeout = connectTimeout
        self.tcpNoDelay = tcpNoDelay
        self.tls = tls
    }
}

/// Connect helper (stand-in for WireCore's `WireConnector`).
public enum WireConnector {
    public static func connect(
        _ configuration: ConnectionConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        let sslContext = try configuration.tls.map { try $0.makeContext() }
        var hostname: String? = nil
        if case .tcp(let host, _) = configuration.endpoint, !host.first!.isNumber, !host.contains(":") { hostname = host }
        let tls = configuration.tls
        let timeoutNanos = Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000
            + configuration.connectTimeout.components.attoseconds / 1_000_000_000
        var bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(.nanoseconds(timeoutNanos))
            .channelInitializer { channel in
                do {
                    if let sslContext, let tls {
                        let handler = try tls.makeClientHandler(context: sslContext, hostname: hostname)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return initializer(channel)
            }
        switch configuration.endpoint {
        case .tcp(let host, let port):
            if configuration.tcpNoDelay {
                bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
            }
            return try await bootstrap.connect(host: host, port: port).get()
        case .unixSocket(let path):
            return try await bootstrap.connect(unixDomainSocketPath: path).get()
        }
    }
}
