#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore

/// Turns `Codable` values into the bytes stored in Redis and back. Pick one per call site
/// (``JSONRedisCoder`` is provided; wrap a property-list, MessagePack or protobuf coder the same way).
public protocol RedisValueCoder: Sendable {
    /// Encodes a value into bytes.
    func encode<T: Encodable>(_ value: T) throws -> ByteBuffer
    /// Decodes bytes into a value.
    func decode<T: Decodable>(_ type: T.Type, from bytes: ByteBuffer) throws -> T
}

/// Stores values as JSON (Foundation's `JSONEncoder` / `JSONDecoder`).
public struct JSONRedisCoder: RedisValueCoder {
    /// Creates a JSON coder.
    public init() {}

    /// Encodes `value` as JSON.
    public func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONEncoder().encode(value))
    }

    /// Decodes JSON bytes.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: ByteBuffer) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes.readableBytesView))
    }
}

extension RedisCommandExecutor {
    /// `SET key <encoded value>` using `coder`.
    @discardableResult
    public func set<T: Encodable>(_ key: String, encoding value: T, coder: any RedisValueCoder = JSONRedisCoder(),
                                  expiration: RedisExpiration? = nil, condition: RedisSetCondition = .always) async throws -> Bool {
        try await set(key, to: try coder.encode(value), expiration: expiration, condition: condition)
    }

    /// `GET key` decoded with `coder`; nil when the key does not exist.
    public func get<T: Decodable>(_ key: String, decoding type: T.Type, coder: any RedisValueCoder = JSONRedisCoder()) async throws -> T? {
        guard let bytes = try await getBytes(key) else { return nil }
        return try coder.decode(type, from: bytes)
    }

    /// `HSET key field <encoded value>` using `coder`.
    @discardableResult
    public func hset<T: Encodable>(_ key: String, field: String, encoding value: T, coder: any RedisValueCoder = JSONRedisCoder()) async throws -> Bool {
        try await hset(key, field: field, to: try coder.encode(value))
    }

    /// `HGET key field` decoded with `coder`.
    public func hget<T: Decodable>(_ key: String, field: String, decoding type: T.Type, coder: any RedisValueCoder = JSONRedisCoder()) async throws -> T? {
        let reply = try await send(RedisCommand("HGET", [.string(key), .string(field)], keyIndices: [0], isReadOnly: true))
        guard let bytes = try ByteBuffer?(fromRESP: reply) else { return nil }
        return try coder.decode(type, from: bytes)
    }
}
