import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import SwiftProtobuf
import Synchronization

/// A live real-time connection (WebSocket, protobuf binary frames): requests with responses, and
/// the stream of ``Chatwire_ListenNotification``s pushed by the server. When `connect` returns, the
/// server has registered the connection: everything sent to the user from then on reaches it.
public final class ChatRealtimeConnection: Sendable {
    /// A request between its write and its response.
    private enum Slot {
        /// Written; nobody waits yet.
        case sent
        /// The caller waits for the response.
        case waiting(CheckedContinuation<Chatwire_ServerFrame, any Error>)
        /// The response came before the caller waited.
        case answered(Chatwire_ServerFrame)
    }

    private struct State {
        var nextRequestID: UInt64 = 1
        var pending: [UInt64: Slot] = [:]
        var writer: WebSocketOutboundWriter?
        var closed = false
    }

    /// Every notification the server pushes, in order. Finishes when the connection closes.
    public let notifications: AsyncStream<Chatwire_ListenNotification>
    private let notificationSink: AsyncStream<Chatwire_ListenNotification>.Continuation
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    private init() {
        (notifications, notificationSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    static func connect(host: String, port: Int, accessToken: String, group: any EventLoopGroup, logger: Logger) async throws -> ChatRealtimeConnection {
        let connection = ChatRealtimeConnection()
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(accessToken)"
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            let readySignal = Mutex<CheckedContinuation<Void, any Error>?>(ready)
            let task = Task {
                do {
                    try await WebSocketClient.connect(url: "ws://\(host):\(port)/api/realtime?format=binary", configuration: configuration, eventLoopGroup: group, logger: logger) { inbound, outbound, _ in
                        connection.state.withLock { $0.writer = outbound }
                        do {
                            for try await message in inbound.messages(maxSize: 1 << 20) {
                                guard case .binary(let buffer) = message,
                                      let frame = try? Chatwire_ServerFrame(serializedBytes: Array(buffer.readableBytesView)) else { continue }
                                // The server's first frame (request ID 0) says the connection is
                                // registered: connect returns only then, so nothing sent to the user
                                // afterwards can miss this connection.
                                if frame.requestID == 0, case .ack = frame.payload {
                                    readySignal.withLock { $0?.resume(); $0 = nil }
                                    continue
                                }
                                connection.handle(frame)
                            }
                        }
                    }
                    readySignal.withLock { $0?.resume(throwing: ChatClientError.connectionClosed); $0 = nil }
                } catch {
                    readySignal.withLock { $0?.resume(throwing: ChatClientError.transport("WebSocket connect failed: \(error)")); $0 = nil }
                }
                connection.finish()
            }
            connection.task.withLock { $0 = task }
        }
        return connection
    }

    private func handle(_ frame: Chatwire_ServerFrame) {
        if case .notification(let notification) = frame.payload {
            notificationSink.yield(notification)
            return
        }
        let waiter = state.withLock { state -> CheckedContinuation<Chatwire_ServerFrame, any Error>? in
            switch state.pending[frame.requestID] {
            case .waiting(let continuation):
                state.pending[frame.requestID] = nil
                return continuation
            case .sent:
                state.pending[frame.requestID] = .answered(frame)
                return nil
            case .answered, nil:
                return nil
            }
        }
        waiter?.resume(returning: frame)
    }

    private func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Chatwire_ServerFrame, any Error>] in
            state.closed = true
            state.writer = nil
            defer { state.pending.removeAll() }
            return state.pending.values.compactMap { slot in
                if case .waiting(let continuation) = slot { return continuation }
                return nil
            }
        }
        for waiter in waiters { waiter.resume(throwing: ChatClientError.connectionClosed) }
        notificationSink.finish()
    }

    /// Sends one request frame and waits for its response frame. The caller writes its frame
    /// itself (the WebSocket writer takes frames from several tasks at once), so a request costs
    /// no hop through a writer task.
    public func request(_ request: Chatwire_ClientFrame.OneOf_Request) async throws -> Chatwire_ServerFrame {
        let registered: (UInt64, WebSocketOutboundWriter)? = state.withLock { state in
            guard !state.closed, let writer = state.writer else { return nil }
            let id = state.nextRequestID
            state.nextRequestID += 1
            state.pending[id] = .sent
            return (id, writer)
        }
        guard let (id, writer) = registered else { throw ChatClientError.connectionClosed }
        var out = Chatwire_ClientFrame()
        out.requestID = id
        out.request = request
        do {
            let bytes: [UInt8] = try out.serializedBytes()
            try await writer.writeBinaryMessage(ByteBuffer(bytes: bytes))
        } catch {
            state.withLock { _ = $0.pending.removeValue(forKey: id) }
            throw ChatClientError.transport("write failed: \(error)")
        }
        let frame: Chatwire_ServerFrame = try await withCheckedThrowingContinuation { continuation in
            let ready: Result<Chatwire_ServerFrame, any Error>? = state.withLock { state in
                switch state.pending[id] {
                case .answered(let frame):
                    state.pending[id] = nil
                    return .success(frame)
                case .sent:
                    state.pending[id] = .waiting(continuation)
                    return nil
                case .waiting, nil:
                    // The connection closed (and dropped every request) after the write.
                    return .failure(ChatClientError.connectionClosed)
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
        if case .error(let error) = frame.payload {
            throw ChatClientError.rejected(code: Int(error.code), message: error.message, errors: error.errors)
        }
        return frame
    }

    /// Sends a plain-text message; returns its snowflake ID.
    public func sendPlainText(to receiverID: Int64, text: String) async throws -> Int64 {
        var r = Chatwire_SendPlainTextRequest()
        r.receiverID = receiverID
        r.text = text
        let frame = try await request(.sendPlainText(r))
        guard case .sendPlainText(let response) = frame.payload else { throw ChatClientError.invalidResponse("expected SendPlainTextResponse") }
        return response.messageID
    }

    /// Sends a file message (the file must have been uploaded); returns its snowflake ID.
    public func sendFile(to receiverID: Int64, text: String, bucket: String, path: String) async throws -> Int64 {
        var r = Chatwire_SendFileRequest()
        r.receiverID = receiverID
        r.text = text
        r.bucket = bucket
        r.path = path
        let frame = try await request(.sendFile(r))
        guard case .sendFile(let response) = frame.payload else { throw ChatClientError.invalidResponse("expected SendFileResponse") }
        return response.messageID
    }

    /// Reacts to a message of the chat between `senderID` and `receiverID`.
    public func react(messageID: Int64, senderID: Int64, receiverID: Int64, reaction: String) async throws {
        var r = Chatwire_ReactRequest()
        r.messageID = messageID
        r.senderID = senderID
        r.receiverID = receiverID
        r.reaction = reaction
        _ = try await request(.react(r))
    }

    /// Removes the caller's reaction.
    public func unreact(messageID: Int64, senderID: Int64, receiverID: Int64) async throws {
        var r = Chatwire_UnReactRequest()
        r.messageID = messageID
        r.senderID = senderID
        r.receiverID = receiverID
        _ = try await request(.unReact(r))
    }

    /// Acknowledges a received message as delivered or seen.
    public func acknowledge(messageID: Int64, senderID: Int64, status: Chatwire_DeliveryStatus) async throws {
        var r = Chatwire_AckRequest()
        r.messageID = messageID
        r.senderID = senderID
        r.status = status
        _ = try await request(.ack(r))
    }

    /// Closes the connection.
    public func close() async {
        let writer = state.withLock { $0.writer }
        try? await writer?.close(.normalClosure, reason: nil)
        task.withLock { $0 }?.cancel()
    }
}
