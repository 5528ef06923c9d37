import WireCore

/// Where a broker listens.
public struct KafkaBrokerAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// Creates an address.
    public init(host: String, port: Int) { self.host = host; self.port = port }
    /// Parses `host:port`.
    public init?(_ string: String) {
        guard let colon = string.lastIndex(of: ":"), let port = Int(string[string.index(after: colon)...]) else { return nil }
        self.host = String(string[..<colon])
        self.port = port
    }
    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}

/// SASL authentication settings.
public enum KafkaSASLMechanism: Sendable, Hashable {
    /// SASL/PLAIN (RFC 4616). Use only over TLS.
    case plain(username: String, password: String)
    /// SCRAM-SHA-256 (RFC 5802, RFC 7677).
    case scramSHA256(username: String, password: String)
    /// SCRAM-SHA-512.
    case scramSHA512(username: String, password: String)

    /// The mechanism name sent in SaslHandshake.
    public var name: String {
        switch self {
        case .plain: "PLAIN"
        case .scramSHA256: "SCRAM-SHA-256"
        case .scramSHA512: "SCRAM-SHA-512"
        }
    }
}

/// Settings shared by producers, consumers and admin clients.
public struct KafkaClientConfiguration: Sendable {
    /// Brokers to bootstrap from; the first that answers is used to learn the cluster.
    public var bootstrapServers: [KafkaBrokerAddress]
    /// Client id sent in every request header.
    public var clientID: String = "kafkawire"
    /// Timeout for establishing a TCP (and TLS) connection.
    public var connectTimeout: Duration = .seconds(10)
    /// Timeout for one request; on expiry the connection is closed and its requests fail.
    public var requestTimeout: Duration = .seconds(30)
    /// TLS settings (WireCore's: trust roots, client certificate, verification, SNI); nil means plaintext.
    public var tls: TLSSettings? = nil
    /// SASL mechanism and credentials; nil means no authentication.
    public var sasl: KafkaSASLMechanism? = nil
    /// Metadata older than this is refreshed before use.
    public var metadataMaxAge: Duration = .seconds(300)
    /// Largest response frame accepted.
    public var maxResponseSize: Int = KafkaFraming.defaultMaxFrameSize
    /// Backoff between retries of failed requests.
    public var retryBackoff: Duration = .milliseconds(100)
    /// Pacing of reconnects to a broker that refused or dropped connections (Java's
    /// `reconnect.backoff.ms` / `reconnect.backoff.max.ms`): WireCore's jittered exponential
    /// backoff, applied by the broker's connection pool.
    public var reconnectBackoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
    /// A broker connection unused this long is closed (Java's `connections.max.idle.ms`).
    public var connectionsMaxIdle: Duration = .seconds(540)
    /// Rewrites a broker address (bootstrap or advertised in metadata) before connecting, for brokers
    /// reachable under another address than they advertise (port forwarding, NAT, a proxy).
    /// nil connects to addresses as given.
    public var addressTranslator: (@Sendable (KafkaBrokerAddress) -> KafkaBrokerAddress)? = nil
    /// Metrics factory and tracer (default: the process-wide swift-metrics and swift-distributed-tracing systems).
    public var observability = KafkaObservability()

    /// Creates a configuration for `bootstrapServers`.
    public init(bootstrapServers: [KafkaBrokerAddress]) {
        self.bootstrapServers = bootstrapServers
    }

    /// Creates a configuration from a `host:port,host:port` list.
    public init(bootstrap: String) {
        self.bootstrapServers = bootstrap.split(separator: ",").compactMap { KafkaBrokerAddress(String($0).trimmingCharacters(in: " ")) }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
