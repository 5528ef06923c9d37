import NIOCore
import WireCore

/// How to open one PostgreSQL connection.
public struct PostgresConfiguration: Sendable {
    /// SCRAM channel binding policy (libpq's `channel_binding`).
    public enum ChannelBinding: String, Sendable, Hashable {
        /// Never use channel binding.
        case disable
        /// Use SCRAM-SHA-256-PLUS when TLS is active and the server offers it.
        case prefer
        /// Fail unless SCRAM-SHA-256-PLUS completes.
        case require
    }

    /// Where to connect.
    public var endpoint: Endpoint
    /// Role name.
    public var user: String
    /// Password for cleartext, MD5 or SCRAM authentication.
    public var password: String?
    /// Database name (defaults to the user name on the server).
    public var database: String?
    /// TLS mode (`sslmode`).
    public var tlsMode: PostgresTLSMode
    /// Trust roots and client certificate for TLS. Verification is set from `tlsMode`.
    public var tls: TLSSettings
    /// Channel binding policy.
    public var channelBinding: ChannelBinding
    /// `application_name` reported to the server.
    public var applicationName: String?
    /// Extra startup parameters (e.g. `search_path`, `statement_timeout`).
    public var options: [String: String]
    /// TCP connect plus TLS handshake timeout.
    public var connectTimeout: Duration
    /// Size of the automatic per-connection prepared statement cache. `0` means only unnamed
    /// statements are used (safe behind pgbouncer in transaction pooling mode).
    public var statementCacheCapacity: Int
    /// JSON coders and other codec settings.
    public var codingContext: PostgresCodingContext
    /// Upper bound for one backend message.
    public var maximumMessageSize: Int

    /// Creates a TCP configuration.
    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String? = nil,
                tlsMode: PostgresTLSMode = .prefer, tls: TLSSettings = TLSSettings()) {
        self.init(endpoint: .tcp(host: host, port: port), user: user, password: password, database: database,
                  tlsMode: tlsMode, tls: tls)
    }

    /// Creates a configuration for any endpoint (TCP or Unix socket).
    public init(endpoint: Endpoint, user: String, password: String? = nil, database: String? = nil,
                tlsMode: PostgresTLSMode = .prefer, tls: TLSSettings = TLSSettings()) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        if case .unixSocket = endpoint, tlsMode == .prefer { self.tlsMode = .disable } else { self.tlsMode = tlsMode }
        self.tls = tls
        self.channelBinding = .prefer
        self.applicationName = nil
        self.options = [:]
        self.connectTimeout = .seconds(10)
        self.statementCacheCapacity = 128
        self.codingContext = .default
        self.maximumMessageSize = BackendMessage.defaultMaximumMessageSize
    }

    /// The TLS settings with verification matching `tlsMode`.
    var effectiveTLS: TLSSettings {
        var t = tls
        switch tlsMode {
        case .disable, .prefer, .require: t.verification = .none
        case .verifyCA: t.verification = .noHostname
        case .verifyFull: t.verification = .full
        }
        return t
    }

    var startupParameters: StartupParameters {
        var opts = options
        if let applicationName { opts["application_name"] = applicationName }
        if opts["client_encoding"] == nil { opts["client_encoding"] = "UTF8" }
        return StartupParameters(user: user, database: database, password: password, options: opts,
                                 tlsMode: tlsMode, requireChannelBinding: channelBinding == .require)
    }
}
