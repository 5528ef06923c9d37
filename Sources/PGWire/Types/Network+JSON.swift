import Foundation
import NIOCore

/// An `inet` or `cidr` value.
public struct PostgresInet: PostgresCodable, PostgresArrayElement, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6).
    public var address: [UInt8]
    /// Netmask length in bits.
    public var prefixLength: UInt8
    /// True for `cidr`, false for `inet`.
    public var isCIDR: Bool

    /// Creates a value; `address` must have 4 or 16 bytes.
    public init(address: [UInt8], prefixLength: UInt8? = nil, isCIDR: Bool = false) {
        precondition(address.count == 4 || address.count == 16, "an IP address has 4 or 16 bytes")
        self.address = address
        self.prefixLength = prefixLength ?? UInt8(address.count * 8)
        self.isCIDR = isCIDR
    }

    /// Parses `a.b.c.d[/n]` (IPv4) or a full/compressed IPv6 address `x:x::x[/n]`.
    public init?(_ string: String, isCIDR: Bool = false) {
        let parts = string.split(separator: "/", maxSplits: 1)
        guard let host = parts.first else { return nil }
        var bytes: [UInt8] = []
        if host.contains(":") {
            let halves = host.components(separatedBy: "::")
            guard halves.count <= 2 else { return nil }
            func groups(_ s: String) -> [UInt16]? {
                if s.isEmpty { return [] }
                var out: [UInt16] = []
                for part in s.split(separator: ":", omittingEmptySubsequences: false) {
                    guard let g = UInt16(part, radix: 16) else { return nil }
                    out.append(g)
                }
                return out
            }
            guard let head = groups(halves[0]) else { return nil }
            var all = head
            if halves.count == 2 {
                guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
                all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
            }
            guard all.count == 8 else { return nil }
            for g in all { bytes += [UInt8(g >> 8), UInt8(g & 0xFF)] }
        } else {
            let octets = host.split(separator: ".").compactMap { UInt8($0) }
            guard octets.count == 4 else { return nil }
            bytes = octets
        }
        var prefix = UInt8(bytes.count * 8)
        if parts.count == 2 {
            guard let p = UInt8(parts[1]), p <= prefix else { return nil }
            prefix = p
        }
        self.init(address: bytes, prefixLength: prefix, isCIDR: isCIDR)
    }

    public var description: String {
        let host: String
        if address.count == 4 {
            host = address.map(String.init).joined(separator: ".")
        } else {
            host = stride(from: 0, to: 16, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }.joined(separator: ":")
        }
        return prefixLength == UInt8(address.count * 8) && !isCIDR ? host : "\(host)/\(prefixLength)"
    }

    public var postgresType: PostgresDataType { isCIDR ? .cidr : .inet }
    public static var postgresArrayType: PostgresDataType { .inetArray }
    public static var postgresElementType: PostgresDataType { .inet }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) {
        buffer.writeInteger(UInt8(address.count == 4 ? 2 : 3))
        buffer.writeInteger(prefixLength)
        buffer.writeInteger(UInt8(isCIDR ? 1 : 0))
        buffer.writeInteger(UInt8(address.count))
        buffer.writeBytes(address)
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .inet || type == .cidr, format == .binary else { throw mismatch(PostgresInet.self, type, format) }
        guard let family = buffer.readInteger(as: UInt8.self), let bits = buffer.readInteger(as: UInt8.self),
              let cidr = buffer.readInteger(as: UInt8.self), let n = buffer.readInteger(as: UInt8.self),
              (family == 2 && n == 4) || (family == 3 && n == 16), buffer.readableBytes == Int(n), bits <= n * 8 else {
            throw invalid(PostgresInet.self, type, format, "malformed address")
        }
        self.init(address: buffer.readBytes(length: Int(n))!, prefixLength: bits, isCIDR: cidr != 0)
    }
}

/// A `macaddr` value (6 bytes).
public struct PostgresMacAddress: PostgresCodable, PostgresArrayElement, Hashable, CustomStringConvertible {
    /// The six bytes.
    public var bytes: [UInt8]
    /// Creates a value from six bytes.
    public init(_ bytes: [UInt8]) {
        precondition(bytes.count == 6, "a MAC address has 6 bytes")
        self.bytes = bytes
    }
    public var description: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":") }
    public var postgresType: PostgresDataType { .macaddr }
    public static var postgresArrayType: PostgresDataType { .macaddrArray }
    public static var postgresElementType: PostgresDataType { .macaddr }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) { buffer.writeBytes(bytes) }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .macaddr, format == .binary else { throw mismatch(PostgresMacAddress.self, type, format) }
        guard buffer.readableBytes == 6 else { throw invalid(PostgresMacAddress.self, type, format, "expected 6 bytes") }
        self.bytes = buffer.readBytes(length: 6)!
    }
}

/// A Codable value stored as `jsonb` (or read from `json`/`jsonb`).
public struct PostgresJSON<Value: Codable & Sendable>: PostgresCodable, PostgresArrayElement {
    /// The wrapped value.
    public var value: Value
    /// Wraps a value.
    public init(_ value: Value) { self.value = value }
    public var postgresType: PostgresDataType { .jsonb }
    public static var postgresArrayType: PostgresDataType { .jsonbArray }
    public static var postgresElementType: PostgresDataType { .jsonb }
    public func encode(into buffer: inout ByteBuffer, context: PostgresCodingContext) throws {
        buffer.writeInteger(UInt8(1))
        buffer.writeBytes(try context.jsonEncoder(value))
    }
    public init(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresCodingContext) throws {
        guard type == .json || type == .jsonb else { throw mismatch(PostgresJSON.self, type, format) }
        if type == .jsonb && format == .binary {
            guard buffer.readInteger(as: UInt8.self) == 1 else { throw invalid(PostgresJSON.self, type, format, "unknown jsonb version") }
        }
        let data = Data(buffer.readBytes(length: buffer.readableBytes)!)
        do {
            guard let v = try context.jsonDecoder(Value.self, data) as? Value else { throw mismatch(PostgresJSON.self, type, format) }
            self.value = v
        } catch let e as PostgresDecodingError {
            throw e
        } catch {
            throw invalid(PostgresJSON.self, type, format, "JSON: \(error)")
        }
    }
}
