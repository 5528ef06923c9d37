/// A CQL native protocol version this client speaks.
public enum CQLProtocolVersion: UInt8, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Protocol v4 (Cassandra 2.2+): frame-level compression, byte-wide query flags.
    case v4 = 4
    /// Protocol v5 (Cassandra 4.0+): segment framing with checksums, per-query keyspace,
    /// `now_in_seconds`, result metadata ids, int-wide query flags.
    case v5 = 5

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "v\(self.rawValue)" }

    /// Whether frames travel inside v5 segments once the connection is established.
    public var usesSegments: Bool { self >= .v5 }
}
