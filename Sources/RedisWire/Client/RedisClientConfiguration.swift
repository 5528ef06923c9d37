import WireCore

/// Configuration of the opt-in client-side cache (see ``RedisClient``).
public struct RedisClientSideCacheConfiguration: Sendable, Hashable {
    /// Most replies kept; the least recently used keys (with all their cached replies) are
    /// evicted first.
    public var maxEntries: Int
    /// Values larger than this many bytes are not cached.
    public var maxValueBytes: Int

    /// Creates a cache configuration.
    public init(maxEntries: Int = 10_000, maxValueBytes: Int = 64 * 1024) {
        self.maxEntries = maxEntries
        self.maxValueBytes = maxValueBytes
    }
}

/// Configuration of a ``RedisClient``.
public struct RedisClientConfiguration: Sendable {
    /// How each connection is opened (address, TLS, auth, database, protocol).
    public var connection: RedisConnectionConfiguration
    /// The pool of shared, pipelined connections used for ordinary commands.
    public var pool: ConnectionPoolConfiguration
    /// Most connections used exclusively (transactions, blocking commands, `withConnection`).
    public var maxExclusiveConnections: Int
    /// When set, replies of reads are cached locally and kept correct with `CLIENT TRACKING`
    /// invalidation pushes (needs RESP3).
    ///
    /// Cached: reads whose reply depends only on one key's value — strings (`GET`, `MGET` per
    /// key, `STRLEN`, `GETRANGE`, `GETBIT`, `BITCOUNT`), `EXISTS` (per key), `TYPE`, hashes
    /// (`HGET`, `HMGET`, `HGETALL`, `HEXISTS`, `HLEN`, `HKEYS`, `HVALS`, `HSTRLEN`), lists
    /// (`LRANGE`, `LINDEX`, `LLEN`, `LPOS`), sets (`SMEMBERS`, `SISMEMBER`, `SMISMEMBER`,
    /// `SCARD`), sorted sets (`ZSCORE`, `ZMSCORE`, `ZRANGE`…, `ZCARD`, `ZCOUNT`, `ZRANK`…),
    /// `XLEN`/`XRANGE` and geo reads. Never cached: time-dependent (`TTL`), random
    /// (`SRANDMEMBER`) and multi-key computed reads (`SINTER`), and anything sent through
    /// ``RedisClient/withConnection(_:)``. Writes sent by this client (with their keys
    /// declared, as every typed command does) drop their keys locally when they complete, so
    /// the client reads its own writes.
    public var clientSideCache: RedisClientSideCacheConfiguration?
    /// Backoff between attempts to restore the pub/sub connection.
    public var reconnectBackoff: Backoff

    /// Default reply timeout of every command (``RedisConnectionConfiguration/commandTimeout``);
    /// nil waits as long as the connection lives.
    public var commandTimeout: Duration? {
        get { connection.commandTimeout }
        set { connection.commandTimeout = newValue }
    }

    /// Creates a client configuration.
    public init(
        connection: RedisConnectionConfiguration,
        pool: ConnectionPoolConfiguration? = nil,
        maxExclusiveConnections: Int = 8,
        clientSideCache: RedisClientSideCacheConfiguration? = nil,
        reconnectBackoff: Backoff = Backoff(base: .milliseconds(50), cap: .seconds(5))
    ) {
        self.connection = connection
        if let pool {
            self.pool = pool
        } else {
            var p = ConnectionPoolConfiguration()
            p.maxConnections = 4
            p.leasesPerConnection = 64
            self.pool = p
        }
        self.maxExclusiveConnections = maxExclusiveConnections
        self.clientSideCache = clientSideCache
        self.reconnectBackoff = reconnectBackoff
    }

    /// Parses a URL: `redis://[user[:password]@]host[:port][/db]`, `rediss://…` (TLS) or
    /// `unix://[user[:password]@]/path/to/socket`.
    ///
    /// Query parameters: `db=N`, `protocol=2|3`, `name=client-name`, and for `rediss://`
    /// `ca=/path/ca.pem` (trust roots) and `verify=full|nohostname|none`.
    public init(url: String) throws {
        self.init(connection: try RedisConnectionConfiguration(url: url))
    }
}

extension RedisConnectionConfiguration {
    /// Parses a `redis://`, `rediss://` or `unix://` URL (see ``RedisClientConfiguration/init(url:)``).
    public init(url: String) throws {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { throw RedisClientError.invalidURL(url) }
        let scheme = url[..<colon].lowercased()
        var rest = String(url[url.index(colon, offsetBy: 3)...])
        var query: [String: String] = [:]
        if let q = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query[String(kv[0])] = kv.count > 1 ? Self.percentDecode(String(kv[1])) : ""
            }
            rest = String(rest[..<q])
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = String(rest[rest.index(after: at)...])
            if let colon = userinfo.firstIndex(of: ":") {
                let user = Self.percentDecode(String(userinfo[..<colon]))
                username = user.isEmpty ? nil : user
                password = Self.percentDecode(String(userinfo[userinfo.index(after: colon)...]))
            } else if !userinfo.isEmpty {
                // redis://password@host is the common legacy form.
                password = Self.percentDecode(String(userinfo))
            }
        }
        var database = 0
        let endpoint: Endpoint
        var tls: TLSSettings?
        switch scheme {
        case "redis", "rediss":
            var hostPort = rest
            if let slash = rest.firstIndex(of: "/") {
                hostPort = String(rest[..<slash])
                let db = rest[rest.index(after: slash)...]
                if !db.isEmpty {
                    guard let n = Int(db), n >= 0 else { throw RedisClientError.invalidURL(url) }
                    database = n
                }
            }
            var host = hostPort
            var port = 6379
            if hostPort.hasPrefix("[") {
                guard let close = hostPort.firstIndex(of: "]") else { throw RedisClientError.invalidURL(url) }
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let p = Int(after.dropFirst()) else { throw RedisClientError.invalidURL(url) }
                    port = p
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                    throw RedisClientError.invalidURL(url)
                }
                port = p
            }
            guard !host.isEmpty else { throw RedisClientError.invalidURL(url) }
            endpoint = .tcp(host: host, port: port)
            if scheme == "rediss" {
                var settings = TLSSettings()
                if let ca = query["ca"] { settings.trustRoots = .file(ca) }
                switch query["verify"] {
                case nil, "full": break
                case "nohostname": settings.verification = .noHostname
                case "none": settings.verification = .none
                default: throw RedisClientError.invalidURL(url)
                }
                tls = settings
            }
        case "unix", "redis+unix":
            guard rest.hasPrefix("/") else { throw RedisClientError.invalidURL(url) }
            endpoint = .unixSocket(path: rest)
        default:
            throw RedisClientError.invalidURL(url)
        }
        if let db = query["db"] {
            guard let n = Int(db), n >= 0 else { throw RedisClientError.invalidURL(url) }
            database = n
        }
        var version = RESPVersion.resp3
        if let p = query["protocol"] {
            guard let n = Int(p), let v = RESPVersion(rawValue: n) else { throw RedisClientError.invalidURL(url) }
            version = v
        }
        self.init(transport: ConnectionConfiguration(endpoint: endpoint, tls: tls), username: username, password: password,
                  database: database, clientName: query["name"], protocolVersion: version)
    }

    static func percentDecode(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
