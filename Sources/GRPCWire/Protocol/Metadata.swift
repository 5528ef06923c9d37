import WireCore
import NIOHPACK

/// gRPC metadata: an ordered multimap of lower-case keys to values, carried in HTTP/2 headers and
/// trailers. Keys ending in `-bin` carry binary values, sent base64-encoded on the wire.
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// A metadata value: text for ordinary keys, bytes for `-bin` keys.
    public enum Value: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
        /// A text value (printable ASCII on the wire).
        case string(String)
        /// A binary value; only valid for keys ending in `-bin`.
        case binary([UInt8])

        /// Creates a text value.
        public init(stringLiteral value: String) { self = .string(value) }

        /// The text form: the string, or the base64 encoding of bytes.
        public var description: String {
            switch self {
            case .string(let s): return s
            case .binary(let b): return Base64.encode(b)
            }
        }
    }

    /// One key/value pair.
    public struct Entry: Sendable, Hashable {
        /// The lower-case key.
        public var key: String
        /// The value.
        public var value: Value
    }

    @usableFromInline var entries: [Entry]

    /// Empty metadata.
    public init() { self.entries = [] }

    /// Creates metadata from literal pairs; keys are lower-cased.
    public init(dictionaryLiteral elements: (String, Value)...) {
        self.entries = elements.map { Entry(key: $0.0.lowercased(), value: $0.1) }
    }

    /// The number of entries.
    public var count: Int { entries.count }
    /// Whether there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// Appends a text value. The key is lower-cased.
    public mutating func add(_ key: String, _ value: String) {
        entries.append(Entry(key: key.lowercased(), value: .string(value)))
    }

    /// Appends a binary value. The key is lower-cased and must end in `-bin`.
    public mutating func add(_ key: String, bytes: [UInt8]) {
        precondition(key.lowercased().hasSuffix("-bin"), "binary metadata keys must end in -bin")
        entries.append(Entry(key: key.lowercased(), value: .binary(bytes)))
    }

    /// Appends a value.
    public mutating func add(_ key: String, value: Value) {
        entries.append(Entry(key: key.lowercased(), value: value))
    }

    /// Replaces all values of `key` with one text value.
    public mutating func replaceOrAdd(_ key: String, _ value: String) {
        let key = key.lowercased()
        entries.removeAll { $0.key == key }
        entries.append(Entry(key: key, value: .string(value)))
    }

    /// Removes every value of `key`.
    public mutating func removeAll(_ key: String) {
        let key = key.lowercased()
        entries.removeAll { $0.key == key }
    }

    /// All values for `key`, in order.
    public subscript(key: String) -> [Value] {
        let key = key.lowercased()
        return entries.compactMap { $0.key == key ? $0.value : nil }
    }

    /// The first text value for `key`.
    public func first(_ key: String) -> String? {
        let key = key.lowercased()
        for entry in entries where entry.key == key {
            if case .string(let s) = entry.value { return s }
        }
        return nil
    }

    /// The first binary value for `key` (which should end in `-bin`).
    public func firstBinary(_ key: String) -> [UInt8]? {
        let key = key.lowercased()
        for entry in entries where entry.key == key {
            if case .binary(let b) = entry.value { return b }
        }
        return nil
    }

    /// Iterates over the entries in order.
    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    /// Whether `key` is reserved by the protocol (pseudo-headers, `grpc-*`, and the transport
    /// headers gRPC sets itself); reserved keys are never surfaced as user metadata.
    static func isReserved(_ key: String) -> Bool {
        if key.hasPrefix(":") || key.hasPrefix("grpc-") { return true }
        switch key {
        case "content-type", "te", "user-agent", "content-length", "connection", "host",
            "transfer-encoding", "upgrade", "keep-alive", "proxy-connection":
            return true
        default:
            return false
        }
    }

    /// Builds metadata from received header fields, decoding `-bin` values and skipping reserved
    /// keys. A `-bin` value that is not valid base64 is an error.
    static func fromHeaders(_ headers: HPACKHeaders) throws(RPCError) -> Metadata {
        var metadata = Metadata()
        for (name, value, _) in headers where !isReserved(name) {
            if name.hasSuffix("-bin") {
                // Multiple values may have been joined with commas by an intermediary.
                for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                    guard let bytes = Base64.decode(part.trimmingSpaces(), requirePadding: false) else {
                        throw RPCError(code: .internal, message: "invalid base64 in metadata key '\(name)'")
                    }
                    metadata.entries.append(Entry(key: name, value: .binary(bytes)))
                }
            } else {
                metadata.entries.append(Entry(key: name, value: .string(value)))
            }
        }
        return metadata
    }

    /// Appends the entries to HTTP/2 header fields, base64-encoding `-bin` values.
    func write(into headers: inout HPACKHeaders) {
        for entry in entries {
            switch entry.value {
            case .string(let s):
                headers.add(name: entry.key, value: s)
            case .binary(let b):
                headers.add(name: entry.key, value: Base64.encode(b, padding: false))
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
