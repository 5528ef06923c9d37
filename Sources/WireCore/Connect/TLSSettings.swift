import NIOCore
import NIOSSL

/// Client-side TLS settings, turned into a NIOSSL context and handler.
///
/// The defaults verify the server's chain against the system trust roots and check that the
/// certificate names the host connected to (or ``serverName`` when set).
public struct TLSSettings: Sendable {
    /// Which certificate authorities the client trusts.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's trust store.
        case system
        /// A PEM file of CA certificates.
        case file(String)
        /// CA certificates as PEM text.
        case pem(String)
    }

    /// How much of the server's certificate the client checks.
    public enum Verification: Sendable, Hashable {
        /// The chain must lead to a trusted root and the certificate must name the server.
        ///
        /// As in NIOSSL, a certificate whose IP-address subject alternative name equals the
        /// connected address also passes, whatever the server name.
        case full
        /// The chain must lead to a trusted root; the name is not checked.
        case noHostname
        /// Nothing is checked. Only for tests and trusted networks: this is open to interception.
        case none
    }

    /// Which certificate authorities the client trusts.
    public var trustRoots: TrustRoots
    /// Path of the client certificate chain (PEM), for servers that require client certificates.
    public var certificateChainFile: String?
    /// Path of the client certificate's private key (PEM).
    public var privateKeyFile: String?
    /// How much of the server's certificate is checked.
    public var verification: Verification
    /// The name sent in SNI and checked against the certificate; defaults to the endpoint's host.
    ///
    /// Set it for TLS over a Unix socket (which has no host name) and when connecting to an IP
    /// address whose certificate names a host.
    public var serverName: String?
    /// ALPN protocols offered, most preferred first (for example `["h2"]`).
    public var applicationProtocols: [String]
    /// The lowest TLS version the client accepts.
    public var minimumTLSVersion: TLSVersion

    /// Creates TLS settings; the defaults are system trust roots and full verification.
    public init(
        trustRoots: TrustRoots = .system,
        certificateChainFile: String? = nil,
        privateKeyFile: String? = nil,
        verification: Verification = .full,
        serverName: String? = nil,
        applicationProtocols: [String] = [],
        minimumTLSVersion: TLSVersion = .tlsv12
    ) {
        self.trustRoots = trustRoots
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
        self.verification = verification
        self.serverName = serverName
        self.applicationProtocols = applicationProtocols
        self.minimumTLSVersion = minimumTLSVersion
    }

    /// The NIOSSL client configuration these settings describe.
    ///
    /// - Throws: ``ConnectError/invalidTLSConfiguration(underlying:)`` when a certificate or key
    ///   cannot be loaded.
    public func makeConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = minimumTLSVersion
        configuration.applicationProtocols = applicationProtocols
        switch verification {
        case .full: configuration.certificateVerification = .fullVerification
        case .noHostname: configuration.certificateVerification = .noHostnameVerification
        case .none: configuration.certificateVerification = .none
        }
        do {
            switch trustRoots {
            case .system:
                configuration.trustRoots = .default
            case .file(let path):
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            case .pem(let text):
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(text.utf8)))
            }
            switch (certificateChainFile, privateKeyFile) {
            case (nil, nil):
                break
            case (let chain?, let key?):
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(chain).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            case (.some, nil):
                throw TLSSettingsError("a client certificate chain needs privateKeyFile as well")
            case (nil, .some):
                throw TLSSettingsError("a private key needs certificateChainFile as well")
            }
        } catch let error as ConnectError {
            throw error
        } catch {
            throw ConnectError.invalidTLSConfiguration(underlying: error)
        }
        return configuration
    }

    /// Builds the NIOSSL context (loads trust roots, certificate and key). Build it once and reuse
    /// it for every connection with these settings.
    ///
    /// - Throws: ``ConnectError/invalidTLSConfiguration(underlying:)``.
    public func makeContext() throws -> NIOSSLContext {
        let configuration = try makeConfiguration()
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConnectError.invalidTLSConfiguration(underlying: error)
        }
    }

    /// The name to send in SNI and verify: ``serverName`` if set, else `hostname`; IP literals
    /// are never sent as SNI (the certificate is then checked against the peer's IP address).
    public func effectiveServerName(hostname: String?) -> String? {
        guard let name = serverName ?? hostname, !name.isEmpty, !name.isIPAddressLiteral else { return nil }
        return name
    }

    /// Creates a client handler for one connection.
    ///
    /// - Parameters:
    ///   - context: A context from ``makeContext()``.
    ///   - hostname: The host connected to; ``serverName`` overrides it.
    /// - Throws: ``ConnectError/invalidTLSConfiguration(underlying:)`` for a server name that
    ///   cannot be used in SNI.
    public func makeClientHandler(context: NIOSSLContext, hostname: String?) throws -> NIOSSLClientHandler {
        do {
            return try NIOSSLClientHandler(context: context, serverHostname: effectiveServerName(hostname: hostname))
        } catch {
            throw ConnectError.invalidTLSConfiguration(underlying: error)
        }
    }
}

/// A TLS settings combination that cannot work.
struct TLSSettingsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
