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
    private struct State {
        var nextRequestID: UInt64 = 1
        var pending: [UInt64: CheckedContinuation<Chatwire_ServerFrame, any Error>] = [:]
        var writer: WebSocketOutboundWriter?
        var closed = false
    }

    /// Every notification the server pushes, in order. Finishes when the connection closes.
    public let notifications: AsyncStream<Chatwire_ListenNotification>
    private let notificationSink: AsyncStream<Chatwire_ListenNotification>.Continuation
    /// Request frames, written in order by the connection's one writer task (no task per request).
    private let outgoing: AsyncStream<Chatwire_ClientFrame>
    private let outgoingSink: AsyncStream<Chatwire_ClientFrame>.Continuation
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    private init() {
        (notifications, notificationSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        (outgoing, outgoingSink) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
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
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { await connection.writeRequests(to: outbound) }
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
                            connection.outgoingSink.finish()
                            group.cancelAll()
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
        let waiter = state.withLock { $0.pending.removeValue(forKey: frame.requestID) }
        waiter?.resume(returning: frame)
    }

    private func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Chatwire_ServerFrame, any Error>] in
            state.closed = true
            state.writer = nil
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for waiter in waiters { waiter.resume(throwing: ChatClientError.connectionClosed) }
        notificationSink.finish()
        outgoingSink.finish()
    }

    /// The writer task: writes queued request frames in order until the connection ends.
    private func writeRequests(to writer: WebSocketOutboundWriter) async {
        for await frame in outgoing {
            do {
                let bytes: [UInt8] = try frame.serializedBytes()
                try await writer.writeBinaryMessage(ByteBuffer(bytes: bytes))
            } catch {
                let waiter = state.withLock { $0.pending.removeValue(forKey: frame.requestID) }
                waiter?.resume(throwing: ChatClientError.transport("write failed: \(error)"))
            }
        }
    }

    /// Sends one request frame and waits for its response frame.
    public func request(_ request: Chatwire_ClientFrame.OneOf_Request) async throws -> Chatwire_ServerFrame {
        let frame: Chatwire_ServerFrame = try await withCheckedThrowingContinuation { continuation in
            let id: UInt64? = state.withLock { state in
                guard !state.closed, state.writer != nil else { return nil }
                let id = state.nextRequestID
                state.nextRequestID += 1
                state.pending[id] = continuation
                return id
            }
            guard let id else {
                continuation.resume(throwing: ChatClientError.connectionClosed)
                return
            }
            var out = Chatwire_ClientFrame()
            out.requestID = id
            out.request = request
            if case .terminated = outgoingSink.yield(out) {
                let waiter = state.withLock { $0.pending.removeValue(forKey: id) }
                waiter?.resume(throwing: ChatClientError.connectionClosed)
            }
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
