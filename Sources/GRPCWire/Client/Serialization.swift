import NIOCore
import SwiftProtobuf

/// Turns messages into bytes. Implement it to use a format other than protobuf.
public protocol MessageSerializer<Message>: Sendable {
    /// The message type.
    associatedtype Message
    /// Serializes a message.
    func serialize(_ message: Message) throws -> ByteBuffer
}

/// Turns bytes into messages. Implement it to use a format other than protobuf.
public protocol MessageDeserializer<Message>: Sendable {
    /// The message type.
    associatedtype Message
    /// Deserializes a message.
    func deserialize(_ bytes: ByteBuffer) throws -> Message
}

/// Serializes swift-protobuf messages in the binary format.
public struct ProtobufSerializer<Message: SwiftProtobuf.Message>: MessageSerializer {
    /// Creates the serializer.
    public init() {}

    /// Serializes `message` in the protobuf binary format.
    public func serialize(_ message: Message) throws -> ByteBuffer {
        let bytes: [UInt8] = try message.serializedBytes()
        return ByteBuffer(bytes: bytes)
    }
}

/// Deserializes swift-protobuf messages from the binary format.
public struct ProtobufDeserializer<Message: SwiftProtobuf.Message>: MessageDeserializer {
    /// Creates the deserializer.
    public init() {}

    /// Parses `bytes` as a protobuf message.
    public func deserialize(_ bytes: ByteBuffer) throws -> Message {
        try Message(serializedBytes: Array(bytes.readableBytesView))
    }
}

/// Passes raw bytes through unchanged: for proxies, tests and hand-rolled formats.
public struct RawBytesCodec: MessageSerializer, MessageDeserializer {
    /// Creates the codec.
    public init() {}
    /// Returns the bytes.
    public func serialize(_ message: ByteBuffer) throws -> ByteBuffer { message }
    /// Returns the bytes.
    public func deserialize(_ bytes: ByteBuffer) throws -> ByteBuffer { bytes }
}
