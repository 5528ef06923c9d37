#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a connection goes: a TCP host and port, or a Unix-domain socket path.
public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// A TCP endpoint. `host` is a DNS name or an IPv4/IPv6 literal.
    case tcp(host: String, port: Int)
    /// A Unix-domain stream socket at `path`.
    case unixSocket(path: String)

    /// The host name of a TCP endpoint, `nil` for a Unix socket.
    public var host: String? {
        switch self {
        case .tcp(let host, _): host
        case .unixSocket: nil
        }
    }

    /// `host:port` (IPv6 literals in brackets) or `unix:path`.
    public var description: String {
        switch self {
        case .tcp(let host, let port):
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let path):
            "unix:\(path)"
        }
    }
}

extension String {
    /// Whether the string is an IPv4 or IPv6 address literal (those never go into SNI).
    var isIPAddressLiteral: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return self.withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }
}
