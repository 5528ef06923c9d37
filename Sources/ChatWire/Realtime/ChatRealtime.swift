/// A live real-time connection of one device, over WebSocket (``ChatRealtimeConnection``) or gRPC
/// (``ChatGRPCRealtimeConnection``): the same requests and the same notifications either way.
public protocol ChatRealtime: Sendable {
    /// Every notification the server pushes, in order. Finishes when the connection closes.
    var notifications: AsyncStream<Chatwire_ListenNotification> { get }
    /// Sends a plain-text message; returns its snowflake ID.
    func sendPlainText(to receiverID: Int64, text: String) async throws -> Int64
    /// Sends a file message (the file must have been uploaded and shared); returns its snowflake ID.
    func sendFile(to receiverID: Int64, text: String, bucket: String, path: String) async throws -> Int64
    /// Reacts to a message of the chat between `senderID` and `receiverID`.
    func react(messageID: Int64, senderID: Int64, receiverID: Int64, reaction: String) async throws
    /// Removes the caller's reaction.
    func unreact(messageID: Int64, senderID: Int64, receiverID: Int64) async throws
    /// Acknowledges a received message as delivered or seen.
    func acknowledge(messageID: Int64, senderID: Int64, status: Chatwire_DeliveryStatus) async throws
    /// Closes the connection.
    func close() async
}

/// How a ``ChatClient`` reaches the real-time API.
public enum ChatRealtimeTransport: Sendable, Hashable {
    /// WebSocket at `/api/realtime` on the HTTP port (protobuf binary frames).
    case webSocket
    /// gRPC (HTTP/2, service `chatwire.Messaging`) on the server's gRPC port.
    case grpc(port: Int)
}

extension ChatRealtimeConnection: ChatRealtime {}
