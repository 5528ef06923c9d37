import GRPCWire
import Logging
import NIOCore
import Synchronization

/// A live real-time connection over gRPC (service `chatwire.Messaging`, one HTTP/2 connection):
/// a `Listen` server stream feeding ``notifications``, and unary calls for the requests.
///
/// Get one from ``ChatClient/connectRealtime(over:)`` with ``ChatRealtimeTransport/grpc(port:)``.
/// When `connect` returns, the server has registered the stream: everything sent to the user
/// from then on is pushed to it.
public final class ChatGRPCRealtimeConnection: ChatRealtime, Sendable {
    /// Every notification the server pushes, in order. Finishes when the listen call ends.
    public let notifications: AsyncStream<Chatwire_ListenNotification>
    /// The listen stream's connection ID assigned by the server.
    public let connectionID: String
    private let client: GRPCClient
    private let options: CallOptions
    private let listen: Mutex<Task<Void, Never>?>

    private init(notifications: AsyncStream<Chatwire_ListenNotification>, connectionID: String, client: GRPCClient, options: CallOptions,
                 listen: Task<Void, Never>) {
        self.notifications = notifications
        self.connectionID = connectionID
        self.client = client
        self.options = options
        self.listen = Mutex(listen)
    }

    static func connect(host: String, port: Int, accessToken: String, group: any EventLoopGroup, logger: Logger) async throws -> ChatGRPCRealtimeConnection {
        var configuration = GRPCClient.Configuration(host: host, port: port, transportSecurity: .plaintext)
        configuration.connectTimeout = .seconds(10)
        let client = GRPCClient(configuration: configuration, eventLoopGroup: group, logger: logger)
        var metadata = Metadata()
        metadata.add("authorization", "Bearer \(accessToken)")
        let listenOptions = CallOptions(metadata: metadata)
        let (notifications, sink) = AsyncStream<Chatwire_ListenNotification>.makeStream(bufferingPolicy: .unbounded)
        let (ready, readySink) = AsyncStream<Result<String, ChatClientError>>.makeStream(bufferingPolicy: .bufferingOldest(1))
        let task = Task {
            do {
                try await client.serverStreaming(MessagingMethods.listen, Chatwire_ListenRequest(), options: listenOptions) { responses in
                    let head = try await responses.initialMetadata
                    readySink.yield(.success(head.first(MessagingMethods.connectionIDKey) ?? ""))
                    for try await notification in responses { sink.yield(notification) }
                }
                readySink.yield(.failure(.connectionClosed))
            } catch let error as RPCError {
                readySink.yield(.failure(Self.clientError(error)))
            } catch {
                readySink.yield(.failure(.transport("gRPC listen failed: \(error)")))
            }
            readySink.finish()
            sink.finish()
        }
        var iterator = ready.makeAsyncIterator()
        switch await iterator.next() {
        case .success(let id)?:
            var unaryMetadata = metadata
            unaryMetadata.add(MessagingMethods.connectionIDKey, id)
            return ChatGRPCRealtimeConnection(notifications: notifications, connectionID: id, client: client,
                                              options: CallOptions(timeout: .seconds(30), metadata: unaryMetadata), listen: task)
        case .failure(let error)?:
            task.cancel()
            await client.close()
            throw error
        case nil:
            task.cancel()
            await client.close()
            throw ChatClientError.connectionClosed
        }
    }

    static func clientError(_ error: RPCError) -> ChatClientError {
        switch error.code {
        case .unavailable where error.message.contains("connect"):
            return .transport("gRPC: \(error.message)")
        default:
            let errors = error.metadata[MessagingMethods.errorsKey].map(\.description)
            // Another instance serves the user: 421, as the WebSocket endpoint answers.
            let misdirected = error.metadata.first(MessagingMethods.misdirectedKey) != nil
            return .rejected(code: misdirected ? 421 : MessagingMethods.httpCode(for: error.code), message: error.message, errors: errors)
        }
    }

    private func call<Request, Response>(_ method: MethodDescriptor<Request, Response>, _ request: Request) async throws -> Response {
        do {
            return try await client.unary(method, request, options: options)
        } catch let error as RPCError {
            throw Self.clientError(error)
        }
    }

    /// Sends a plain-text message; returns its snowflake ID.
    public func sendPlainText(to receiverID: Int64, text: String) async throws -> Int64 {
        var r = Chatwire_SendPlainTextRequest()
        r.receiverID = receiverID
        r.text = text
        return try await call(MessagingMethods.sendPlainText, r).messageID
    }

    /// Sends a file message (the file must have been uploaded and shared); returns its snowflake ID.
    public func sendFile(to receiverID: Int64, text: String, bucket: String, path: String) async throws -> Int64 {
        var r = Chatwire_SendFileRequest()
        r.receiverID = receiverID
        r.text = text
        r.bucket = bucket
        r.path = path
        return try await call(MessagingMethods.sendFile, r).messageID
    }

    /// Reacts to a message of the chat between `senderID` and `receiverID`.
    public func react(messageID: Int64, senderID: Int64, receiverID: Int64, reaction: String) async throws {
        var r = Chatwire_ReactRequest()
        r.messageID = messageID
        r.senderID = senderID
        r.receiverID = receiverID
        r.reaction = reaction
        _ = try await call(MessagingMethods.react, r)
    }

    /// Removes the caller's reaction.
    public func unreact(messageID: Int64, senderID: Int64, receiverID: Int64) async throws {
        var r = Chatwire_UnReactRequest()
        r.messageID = messageID
        r.senderID = senderID
        r.receiverID = receiverID
        _ = try await call(MessagingMethods.unReact, r)
    }

    /// Acknowledges a received message as delivered or seen.
    public func acknowledge(messageID: Int64, senderID: Int64, status: Chatwire_DeliveryStatus) async throws {
        var r = Chatwire_AckRequest()
        r.messageID = messageID
        r.senderID = senderID
        r.status = status
        _ = try await call(MessagingMethods.ack, r)
    }

    /// Ends the listen call and closes the HTTP/2 connection.
    public func close() async {
        let task = listen.withLock { $0 }
        task?.cancel()
        await task?.value
        await client.close()
    }
}
