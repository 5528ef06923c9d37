import WireCore

/// Which servers a client accepts (libpq's `target_session_attrs`).
public enum PostgresTargetSessionAttributes: String, Sendable, Hashable {
    /// Any server.
    case any
    /// A server accepting writes.
    case readWrite = "read-write"
    /// A server in read-only mode.
    case readOnly = "read-only"
    /// A primary (not in hot standby).
    case primary
    /// A hot standby.
    case standby
    /// A standby if one is available, otherwise any.
    case preferStandby = "prefer-standby"
}

/// Configuration of a ``PostgresClient``: one or more hosts, connection settings and pool settings.
public struct PostgresClientConfiguration: Sendable {
    /// Hosts to try (`host`, `port`).
    public var hosts: [(host: String, port: Int)]
    /// The settings of every connection (its endpoint is replaced per host).
    public var connection: PostgresConfiguration
    /// Spread new connections over all hosts round-robin (YugabyteDB `load_balance=true`,
    /// libpq `load_balance_hosts=random`). When false, hosts are tried in order (failover only).
    public var loadBalanceHosts: Bool
    /// Which servers are acceptable.
    public var targetSessionAttributes: PostgresTargetSessionAttributes
    /// How long a host that failed to connect is skipped.
    public var hostRecheckInterval: Duration
    /// Pool settings.
    public var pool: ConnectionPoolConfiguration

    /// Creates a configuration for one host.
    public init(connection: PostgresConfiguration, pool: ConnectionPoolConfiguration = ConnectionPoolConfiguration()) {
        if case .tcp(let h, let p) = connection.endpoint { hosts = [(h, p)] } else { hosts = [] }
        self.connection = connection
        self.loadBalanceHosts = false
        self.targetSessionAttributes = .any
        self.hostRecheckInterval = .seconds(10)
        self.pool = pool
        if self.pool.keepAliveInterval == nil { self.pool.keepAliveInterval = .seconds(30) }
    }

    /// Parses a libpq connection URL (`postgresql://user:pass@h1:5432,h2:5433/db?sslmode=require&...`)
    /// or key/value string (`host=h1,h2 port=5432 user=u password='p w' dbname=db sslmode=verify-full`).
    ///
    /// Understood keys: host, hostaddr, port, user, password, dbname, sslmode, sslrootcert, sslcert,
    /// sslkey, channel_binding, application_name, connect_timeout, options (`-c k=v`),
    /// target_session_attrs, load_balance_hosts (`random`/`disable`), load_balance (YugabyteDB,
    /// `true`/`false`), statement_cache_capacity (0 = unnamed statements only, for pgbouncer),
    /// pool_max_connections, pool_min_connections; anything else is sent as a startup parameter.
    public init(parsing string: String) throws {
        let pairs: [(String, String)]
        if string.hasPrefix("postgresql://") || string.hasPrefix("postgres://") {
            pairs = try Self.parseURL(string)
        } else {
            pairs = try Self.parseKeyValue(string)
        }
        var values: [String: String] = [:]
        for (k, v) in pairs { values[k] = v }
        let hostList = (values["host"] ?? values["hostaddr"] ?? "localhost").split(separator: ",").map(String.init)
        let portList = (values["port"] ?? "5432").split(separator: ",").map(String.init)
        guard portList.count == 1 || portList.count == hostList.count else {
            throw PostgresError.invalidConfiguration("\(hostList.count) hosts but \(portList.count) ports")
        }
        var hosts: [(String, Int)] = []
        for (i, h) in hostList.enumerated() {
            let ps = portList.count == 1 ? portList[0] : portList[i]
            guard let p = Int(ps), (1...65535).contains(p) else { throw PostgresError.invalidConfiguration("invalid port '\(ps)'") }
            hosts.append((h, p))
        }
        guard let user = values["user"] else { throw PostgresError.invalidConfiguration("no user given") }
        let mode: PostgresTLSMode
        if let m = values["sslmode"] {
            if m == "allow" { mode = .prefer } else {
                guard let parsed = PostgresTLSMode(rawValue: m) else { throw PostgresError.invalidConfiguration("unknown sslmode '\(m)'") }
                mode = parsed
            }
        } else {
            mode = .prefer
        }
        var tls = TLSSettings()
        if let root = values["sslrootcert"] { tls.trustRoots = .file(root) }
        if let cert = values["sslcert"] { tls.certificateChainFile = cert }
        if let key = values["sslkey"] { tls.privateKeyFile = key }
        var conn = PostgresConfiguration(host: hosts[0].0, port: hosts[0].1, user: user, password: values["password"],
                                         database: values["dbname"], tlsMode: mode, tls: tls)
        if let cb = values["channel_binding"] {
            guard let b = PostgresConfiguration.ChannelBinding(rawValue: cb) else { throw PostgresError.invalidConfiguration("unknown channel_binding '\(cb)'") }
            conn.channelBinding = b
        }
        conn.applicationName = values["application_name"]
        if let t = values["connect_timeout"] {
            guard let s = Int(t) else { throw PostgresError.invalidConfiguration("invalid connect_timeout '\(t)'") }
            if s > 0 { conn.connectTimeout = .seconds(s) }
        }
        if let c = values["statement_cache_capacity"] {
            guard let n = Int(c), n >= 0 else { throw PostgresError.invalidConfiguration("invalid statement_cache_capacity '\(c)'") }
            conn.statementCacheCapacity = n
        }
        if let options = values["options"] {
            // "-c key=value -c key2=value2"
            let parts = options.split(separator: " ")
            var i = 0
            while i < parts.count {
                var item = String(parts[i])
                if item == "-c", i + 1 < parts.count { i += 1; item = String(parts[i]) } else if item.hasPrefix("-c") { item = String(item.dropFirst(2)) }
                let kv = item.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { conn.options[String(kv[0])] = String(kv[1]) }
                i += 1
            }
        }
        let known: Set<String> = ["host", "hostaddr", "port", "user", "password", "dbname", "sslmode", "sslrootcert", "sslcert",
                                  "sslkey", "channel_binding", "application_name", "connect_timeout", "options",
                                  "target_session_attrs", "load_balance_hosts", "load_balance", "statement_cache_capacity",
                                  "pool_max_connections", "pool_min_connections", "topology_keys", "yb_servers_refresh_interval"]
        for (k, v) in values where !known.contains(k) { conn.options[k] = v }
        self.init(connection: conn)
        self.hosts = hosts
        if let t = values["target_session_attrs"] {
            guard let a = PostgresTargetSessionAttributes(rawValue: t) else { throw PostgresError.invalidConfiguration("unknown target_session_attrs '\(t)'") }
            targetSessionAttributes = a
        }
        if values["load_balance_hosts"] == "random" || values["load_balance"] == "true" || values["load_balance"] == "any" { loadBalanceHosts = true }
        if let m = values["pool_max_connections"], let n = Int(m), n > 0 { pool.maxConnections = n }
        if let m = values["pool_min_connections"], let n = Int(m), n >= 0 { pool.minConnections = n }
    }

    static func percentDecode(_ s: Substring) throws -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "%") {
                guard it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else {
                    throw PostgresError.invalidConfiguration("bad percent-encoding in '\(s)'")
                }
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        guard let out = String(validating: bytes, as: UTF8.self) else { throw PostgresError.invalidConfiguration("URL is not UTF-8") }
        return out
    }

    static func parseURL(_ url: String) throws -> [(String, String)] {
        var rest = Substring(url.drop { $0 != ":" }.dropFirst(3))
        var pairs: [(String, String)] = []
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") { path = rest[rest.index(after: slash)...]; rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userinfo.firstIndex(of: ":") {
                pairs.append(("user", try percentDecode(userinfo[..<colon])))
                pairs.append(("password", try percentDecode(userinfo[userinfo.index(after: colon)...])))
            } else if !userinfo.isEmpty {
                pairs.append(("user", try percentDecode(userinfo)))
            }
        }
        if !rest.isEmpty {
            var hosts: [String] = [], ports: [String] = []
            for spec in rest.split(separator: ",") {
                if spec.hasPrefix("[") {
                    guard let close = spec.firstIndex(of: "]") else { throw PostgresError.invalidConfiguration("bad IPv6 host '\(spec)'") }
                    hosts.append(String(spec[spec.index(after: spec.startIndex)..<close]))
                    let after = spec[spec.index(after: close)...]
                    ports.append(after.hasPrefix(":") ? String(after.dropFirst()) : "5432")
                } else if let colon = spec.lastIndex(of: ":") {
                    hosts.append(try percentDecode(spec[..<colon]))
                    ports.append(String(spec[spec.index(after: colon)...]))
                } else {
                    hosts.append(try percentDecode(spec))
                    ports.append("5432")
                }
            }
            pairs.append(("host", hosts.joined(separator: ",")))
            pairs.append(("port", ports.joined(separator: ",")))
        }
        if !path.isEmpty { pairs.append(("dbname", try percentDecode(path))) }
        for item in query.split(separator: "&") {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { throw PostgresError.invalidConfiguration("bad URL parameter '\(item)'") }
            pairs.append((try percentDecode(kv[0]), try percentDecode(kv[1])))
        }
        return pairs
    }

    static func parseKeyValue(_ s: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        var chars = Array(s)[...]
        func skipSpaces() { while chars.first?.isWhitespace == true { chars = chars.dropFirst() } }
        while true {
            skipSpaces()
            guard !chars.isEmpty else { break }
            var key = ""
            while let c = chars.first, c != "=", !c.isWhitespace { key.append(c); chars = chars.dropFirst() }
            skipSpaces()
            guard chars.first == "=" else { throw PostgresError.invalidConfiguration("missing '=' after '\(key)'") }
            chars = chars.dropFirst()
            skipSpaces()
            var value = ""
            if chars.first == "'" {
                chars = chars.dropFirst()
                var closed = false
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if c == "\\", let n = chars.first { value.append(n); chars = chars.dropFirst(); continue }
                    if c == "'" { closed = true; break }
                    value.append(c)
                }
                guard closed else { throw PostgresError.invalidConfiguration("unterminated quoted value for '\(key)'") }
            } else {
                while let c = chars.first, !c.isWhitespace {
                    if c == "\\", chars.count > 1 { chars = chars.dropFirst(); value.append(chars.first!); chars = chars.dropFirst(); continue }
                    value.append(c); chars = chars.dropFirst()
                }
            }
            pairs.append((key, value))
        }
        return pairs
    }
}
