import NIOCore

/// A message compression algorithm named in `grpc-encoding` / `grpc-accept-encoding`.
public struct CompressionAlgorithm: Sendable, Hashable, CustomStringConvertible {
    /// The name on the wire: `identity`, `gzip` or `deflate`.
    public let name: String

    private init(name: String) { self.name = name }

    /// No compression.
    public static let identity = CompressionAlgorithm(name: "identity")
    /// gzip (RFC 1952).
    public static let gzip = CompressionAlgorithm(name: "gzip")
    /// deflate in the zlib format (RFC 1950), as gRPC defines it.
    public static let deflate = CompressionAlgorithm(name: "deflate")

    /// The algorithms this library can compress and decompress.
    public static var supported: [CompressionAlgorithm] {
        MessageCompressor.isAvailable ? [.gzip, .deflate] : []
    }

    /// The algorithm for a `grpc-encoding` name, when supported (or identity).
    public init?(wireName: String) {
        switch wireName {
        case "identity": self = .identity
        case "gzip" where MessageCompressor.isAvailable: self = .gzip
        case "deflate" where MessageCompressor.isAvailable: self = .deflate
        default: return nil
        }
    }

    /// The wire name.
    public var description: String { name }

    /// The `grpc-accept-encoding` value advertising `algorithms` (identity is always accepted).
    static func acceptEncodingValue(_ algorithms: [CompressionAlgorithm]) -> String {
        // The usual values as literals: nothing is built per call.
        if algorithms.isEmpty || algorithms == [.identity] { return "identity" }
        if algorithms == [.gzip, .deflate] { return "identity,gzip,deflate" }
        var names = ["identity"]
        for algorithm in algorithms where algorithm != .identity && !names.contains(algorithm.name) {
            names.append(algorithm.name)
        }
        return names.joined(separator: ",")
    }

    /// Parses a `grpc-accept-encoding` value into the algorithms this library supports.
    static func parseAcceptEncoding(_ value: String) -> [CompressionAlgorithm] {
        value.split(separator: ",").compactMap {
            CompressionAlgorithm(wireName: String($0).trimmingCharacters(in: " "))
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
