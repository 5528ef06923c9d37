import NIOCore
import WireCore

/// Readers and writers for the notations of spec section 3 (`[string]`, `[bytes]`, `[inet]`, ...),
/// built on WireCore's checked readers. Every reader leaves the reader index unchanged on failure.
extension ByteBuffer {
    /// Maximum number of entries accepted in a list or map read from the network before validating
    /// it against the remaining bytes.
    @usableFromInline static let cqlMaxCollectionCount = 1 << 20

    // MARK: [string] / [long string]

    @inlinable
    mutating func readCQLString(field: @autoclosure () -> String = "string") throws(WireDecodingError) -> String {
        try self.readString(prefix: .int16, field: field())
    }

    @inlinable
    mutating func writeCQLString(_ string: String) {
        self.writeString(string, prefix: .int16)
    }

    @inlinable
    mutating func readCQLLongString(field: @autoclosure () -> String = "long string") throws(WireDecodingError) -> String {
        try self.readString(prefix: .int32, field: field())
    }

    @inlinable
    mutating func writeCQLLongString(_ string: String) {
        self.writeString(string, prefix: .int32)
    }

    // MARK: [bytes] / [short bytes] / [value]

    /// `[bytes]`: int32 length, negative = null.
    @inlinable
    mutating func readCQLBytes(field: @autoclosure () -> String = "bytes") throws(WireDecodingError) -> ByteBuffer? {
        var copy = self
        let length = Int(try copy.readCheckedInteger(as: Int32.self, field: field()))
        if length < 0 {
            self = copy
            return nil
        }
        let slice = try copy.readCheckedSlice(length: length, field: field())
        self = copy
        return slice
    }

    @inlinable
    mutating func writeCQLBytes(_ bytes: ByteBuffer?) {
        self.writeBytes(bytes, prefix: .int32)
    }

    @inlinable
    mutating func readCQLShortBytes(field: @autoclosure () -> String = "short bytes") throws(WireDecodingError) -> [UInt8] {
        var copy = self
        let length = Int(try copy.readCheckedInteger(as: UInt16.self, field: field()))
        let bytes = try copy.readCheckedBytes(length: length, field: field())
        self = copy
        return bytes
    }

    @inlinable
    mutating func writeCQLShortBytes(_ bytes: [UInt8]) {
        self.writeInteger(UInt16(truncatingIfNeeded: bytes.count))
        self.writeBytes(bytes)
    }

    // MARK: counts

    /// Reads an int32 element count, rejecting negatives and counts that cannot fit the remaining
    /// bytes given each element needs at least `minimumElementSize` bytes.
    @inlinable
    mutating func readCQLCount(minimumElementSize: Int, field: @autoclosure () -> String) throws(WireDecodingError) -> Int {
        var copy = self
        let count = Int(try copy.readCheckedInteger(as: Int32.self, field: field()))
        guard count >= 0 else { throw .negativeLength(field: field(), length: count) }
        guard count * minimumElementSize <= copy.readableBytes, count <= Self.cqlMaxCollectionCount else {
            throw .truncated(field: field(), needed: count * max(1, minimumElementSize), available: copy.readableBytes)
        }
        self = copy
        return count
    }

    @inlinable
    mutating func readCQLShortCount(minimumElementSize: Int, field: @autoclosure () -> String) throws(WireDecodingError) -> Int {
        var copy = self
        let count = Int(try copy.readCheckedInteger(as: UInt16.self, field: field()))
        guard count * minimumElementSize <= copy.readableBytes else {
            throw .truncated(field: field(), needed: count * max(1, minimumElementSize), available: copy.readableBytes)
        }
        self = copy
        return count
    }

    // MARK: lists and maps

    mutating func readCQLStringList(field: @autoclosure () -> String = "string list") throws(WireDecodingError) -> [String] {
        var copy = self
        let count = try copy.readCQLShortCount(minimumElementSize: 2, field: field())
        var result: [String] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try copy.readCQLString(field: field())) }
        self = copy
        return result
    }

    mutating func writeCQLStringList(_ list: [String]) {
        self.writeInteger(UInt16(truncatingIfNeeded: list.count))
        for item in list { self.writeCQLString(item) }
    }

    mutating func readCQLStringMap(field: @autoclosure () -> String = "string map") throws(WireDecodingError) -> [String: String] {
        var copy = self
        let count = try copy.readCQLShortCount(minimumElementSize: 4, field: field())
        var result: [String: String] = [:]
        for _ in 0..<count {
            let key = try copy.readCQLString(field: field())
            result[key] = try copy.readCQLString(field: field())
        }
        self = copy
        return result
    }

    /// Writes a `[string map]` with keys sorted, so the bytes are deterministic.
    mutating func writeCQLStringMap(_ map: [String: String]) {
        self.writeInteger(UInt16(truncatingIfNeeded: map.count))
        for key in map.keys.sorted() {
            self.writeCQLString(key)
            self.writeCQLString(map[key]!)
        }
    }

    /// Writes a `[string map]` in the given order.
    mutating func writeCQLStringMap(ordered pairs: [(String, String)]) {
        self.writeInteger(UInt16(truncatingIfNeeded: pairs.count))
        for (key, value) in pairs {
            self.writeCQLString(key)
            self.writeCQLString(value)
        }
    }

    mutating func readCQLStringMultimap(field: @autoclosure () -> String = "string multimap") throws(WireDecodingError) -> [String: [String]] {
        var copy = self
        let count = try copy.readCQLShortCount(minimumElementSize: 4, field: field())
        var result: [String: [String]] = [:]
        for _ in 0..<count {
            let key = try copy.readCQLString(field: field())
            result[key] = try copy.readCQLStringList(field: field())
        }
        self = copy
        return result
    }

    mutating func writeCQLStringMultimap(_ map: [String: [String]]) {
        self.writeInteger(UInt16(truncatingIfNeeded: map.count))
        for key in map.keys.sorted() {
            self.writeCQLString(key)
            self.writeCQLStringList(map[key]!)
        }
    }

    mutating func readCQLBytesMap(field: @autoclosure () -> String = "bytes map") throws(WireDecodingError) -> [String: [UInt8]] {
        var copy = self
        let count = try copy.readCQLShortCount(minimumElementSize: 6, field: field())
        var result: [String: [UInt8]] = [:]
        for _ in 0..<count {
            let key = try copy.readCQLString(field: field())
            let value = try copy.readCQLBytes(field: field())
            result[key] = value.map { Array($0.readableBytesView) } ?? []
        }
        self = copy
        return result
    }

    mutating func writeCQLBytesMap(_ map: [String: [UInt8]]) {
        self.writeInteger(UInt16(truncatingIfNeeded: map.count))
        for key in map.keys.sorted() {
            self.writeCQLString(key)
            self.writeBytes(map[key]!, prefix: .int32)
        }
    }

    // MARK: [uuid], [inet], [inetaddr]

    mutating func readCQLUUIDBytes(field: @autoclosure () -> String = "uuid") throws(WireDecodingError) -> [UInt8] {
        try self.readCheckedBytes(length: 16, field: field())
    }

    /// `[inetaddr]`: one length byte (4 or 16) and the address bytes.
    mutating func readCQLInetAddress(field: @autoclosure () -> String = "inetaddr") throws(WireDecodingError) -> CQLInet {
        var copy = self
        let size = Int(try copy.readCheckedInteger(as: UInt8.self, field: field()))
        guard size == 4 || size == 16 else {
            throw .invalidValue(field: field(), reason: "address length \(size) is neither 4 nor 16")
        }
        let bytes = try copy.readCheckedBytes(length: size, field: field())
        self = copy
        return CQLInet(bytes: bytes)!
    }

    mutating func writeCQLInetAddress(_ address: CQLInet) {
        self.writeInteger(UInt8(address.bytes.count))
        self.writeBytes(address.bytes)
    }

    /// `[inet]`: an `[inetaddr]` followed by an int32 port.
    mutating func readCQLInet(field: @autoclosure () -> String = "inet") throws(WireDecodingError) -> CQLSocketAddress {
        var copy = self
        let address = try copy.readCQLInetAddress(field: field())
        let port = try copy.readCheckedInteger(as: Int32.self, field: field())
        self = copy
        return CQLSocketAddress(address: address, port: Int(port))
    }

    mutating func writeCQLInet(_ inet: CQLSocketAddress) {
        self.writeCQLInetAddress(inet.address)
        self.writeInteger(Int32(inet.port))
    }

    mutating func readCQLConsistency(field: @autoclosure () -> String = "consistency") throws(WireDecodingError) -> CQLConsistency {
        var copy = self
        let raw = try copy.readCheckedInteger(as: UInt16.self, field: field())
        guard let level = CQLConsistency(rawValue: raw) else {
            throw .invalidValue(field: field(), reason: "unknown consistency 0x\(String(raw, radix: 16))")
        }
        self = copy
        return level
    }
}

/// An IP address and port as carried by `[inet]` (events, errors).
public struct CQLSocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var address: CQLInet
    public var port: Int
    public init(address: CQLInet, port: Int) {
        self.address = address
        self.port = port
    }
    public var description: String { "\(self.address):\(self.port)" }
}
