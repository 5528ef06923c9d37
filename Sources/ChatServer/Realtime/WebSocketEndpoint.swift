import ChatWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import SwiftProtobuf

/// The real-time API over WebSocket at `/api/realtime`.
///
/// Authenticate with `Authorization: Bearer <token>` or, from browsers, `?access_token=<token>`.
/// Frames are ``Chatwire_ClientFrame`` / ``Chatwire_ServerFrame``: protobuf binary when the URL
/// has `format=binary`, otherwise proto3 JSON text frames. The server's first frame (request ID 0,
/// an empty `ack`) says the connection is registered. Each connection has a bounded outbound
/// queue; a client that falls that far behind is disconnected (it catches up from history).
struct WebSocketEndpoint {
    let services: ChatServices
    /// Pings the connections and sets their TCP keep-alive (the library's per-connection ping task is off).
    let keepalive: WebSocketKeepalive
    /// Largest accepted inbound frame.
    static let maxFrame = 16 * 1024
    /// Notifications queued for one slow client before it is disconnected.
    static let maxQueued = 4096

    func register(on router: Router<ChatRequestContext>) {
        let tokens = services.tokens
        let messaging = services.messaging
        router.ws("api/realtime", shouldUpgrade: { request, _ in
            guard let identity = authenticate(request, tokens: tokens) else { throw APIError.unauthorized }
            // Another instance owns the user's partition: the client creates a new session, which names it.
            guard messaging.serves(identity.userID) else {
                throw APIError(.misdirectedRequest, "Misdirected Request", detail: "Another messaging instance serves this user; create a new session.")
            }
            return .upgrade([:])
        }, onUpgrade: { inbound, outbound, context in
            try await handle(inbound: inbound, outbound: outbound, request: context.request, channel: context.requestContext.channel, logger: context.logger)
        })
    }

    func handle(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, channel: any Channel, logger: Logger) async throws {
        // Set-up and request handling are synchronous functions kept out of line, so their
        // locals live on the thread's stack while they run instead of in this connection's task
        // frames, which a listening client holds for as long as it is connected.
        let connection: WebSocketConnection
        switch open(request: request, channel: channel, outbound: outbound, logger: logger) {
        case .success(let opened): connection = opened
        case .failure(let refusal):
            try await outbound.close(.policyViolation, reason: refusal.reason)
            return
        }
        // Requests are answered on the event loop from here on (RealtimeRequestHandler); the
        // first frame, which clients wait for before sending, is queued only after that.
        await RealtimeRequestHandler.install(on: channel, endpoint: self, connection: connection)
        var ready = Chatwire_ServerFrame()
        ready.payload = .ack(Chatwire_AckResponse())
        connection.outbox.push(ready)
        // Data frames that arrived before the handler was installed, then control frames and
        // the close handshake, come through here.
        await read(inbound, connection: connection)
        connection.end()
        await connection.outbox.closed()
    }

    /// Why a connection was refused (closed with "policy violation").
    struct Refusal: Error {
        var reason: String
    }

    /// Authenticates the upgrade, registers the connection (with the client registry and the
    /// keep-alive) and queues its first frame; or says why not.
    @inline(never)
    func open(request: Request, channel: any Channel, outbound: WebSocketOutboundWriter, logger: Logger) -> Result<WebSocketConnection, Refusal> {
        guard let identity = authenticate(request, tokens: services.tokens) else { return .failure(Refusal(reason: "unauthorized")) }
        // Another instance owns the user's partition (after a reassignment): the client creates a new session, which names it.
        guard services.messaging.serves(identity.userID) else {
            return .failure(Refusal(reason: "served by another instance; create a new session"))
        }
        let binary = request.uri.queryParameters.get("format") == "binary"
        // Frames are written on the connection's event loop straight to its channel, one flush
        // per batch (see ConnectionOutbox); no task exists for writing while nothing is queued.
        let allocator = channel.allocator
        // Once installed (RealtimeRequestHandler.install), the frame writer takes each batch as
        // one buffer of encoded frames; until then frames go through the pipeline's encoder.
        let writer = NIOLoopBoundBox<RealtimeFrameWriter?>.makeEmptyBox(valueType: RealtimeFrameWriter.self, eventLoop: channel.eventLoop)
        let outbox = ConnectionOutbox<Chatwire_ServerFrame>(capacity: Self.maxQueued, eventLoop: channel.eventLoop) { frames in
            if let writer = writer.value {
                return writer.write(frames, binary: binary, logger: logger)
            }
            return Self.write(frames, binary: binary, to: channel, allocator: allocator, logger: logger)
        } close: {
            // The queue overflowed, the reader finished or the server shuts down.
            try? await outbound.close(.goingAway, reason: nil)
        }
        let session = ClientSession(userID: identity.userID, clientID: identity.clientID, connectionID: makeConnectionID(prefix: "w")) { frame in
            outbox.push(frame)
        }
        guard services.registry.add(session, limit: services.config.values.maxDevicesPerUser) else {
            return .failure(Refusal(reason: "too many devices"))
        }
        // On graceful shutdown the keep-alive finishes the outbox: it closes the socket with
        // "going away" after writing what is queued, and the client reconnects elsewhere.
        let token = keepalive.add(channel) { outbox.finish() }
        // The caller queues the first frame (request ID 0, an empty AckResponse), which tells the
        // client that the connection is registered and its requests are answered.
        return .success(WebSocketConnection(session: session, outbox: outbox, writer: writer, keepaliveToken: token, services: services, keepalive: keepalive, logger: logger))
    }

    /// Reads requests until the client closes (or the outbox refuses, when the client fell too far
    /// behind), answering each through the outbox.
    private func read(_ inbound: WebSocketInboundStream, connection: WebSocketConnection) async {
        var iterator = inbound.makeAsyncIterator()
        var assembler = MessageAssembler()
        do {
            while let frame = try await iterator.next() {
                guard receive(frame.opcode, fin: frame.fin, data: frame.data, assembler: &assembler, connection: connection) else { return }
            }
        } catch {
            connection.logger.debug("websocket read ended", metadata: ["error": "\(error)"])
        }
    }

    /// Joins fragmented messages (up to ``maxFrame`` bytes).
    struct MessageAssembler {
        var pending: (binary: Bool, bytes: ByteBuffer)?
    }

    /// Takes one frame: once a message is complete, answers it through the outbox. `false` ends
    /// the connection (an oversized message, or the outbox refused: the client fell too far behind).
    @inline(never)
    func receive(_ opcode: WebSocketDataFrame.Opcode, fin: Bool, data: ByteBuffer, assembler: inout MessageAssembler, connection: WebSocketConnection) -> Bool {
        var data = data
        switch opcode {
        case .text, .binary:
            assembler.pending = (opcode == .binary, data)
        case .continuation:
            guard assembler.pending != nil, assembler.pending!.bytes.readableBytes + data.readableBytes <= Self.maxFrame else {
                connection.outbox.finish()
                return false
            }
            assembler.pending!.bytes.writeBuffer(&data)
        }
        guard fin, let (isBinary, bytes) = assembler.pending else { return true }
        assembler.pending = nil
        let message: WebSocketMessage = isBinary ? .binary(bytes) : .text(String(buffer: bytes))
        return connection.outbox.push(respond(to: message, session: connection.session))
    }

    /// On the channel's event loop: writes `frames` as WebSocket messages (protobuf binary or
    /// proto3 JSON text) and flushes once; the future completes when the last one is written.
    static func write(_ frames: [Chatwire_ServerFrame], binary: Bool, to channel: any Channel, allocator: ByteBufferAllocator,
                      logger: Logger) -> EventLoopFuture<Void> {
        let pipeline = channel.pipeline.syncOperations
        var last: WebSocketFrame?
        for frame in frames {
            let message: WebSocketFrame
            do {
                message = binary ? WebSocketFrame(fin: true, opcode: .binary, data: try encode(frame, allocator: allocator))
                    : WebSocketFrame(fin: true, opcode: .text, data: allocator.buffer(string: try frame.jsonString()))
            } catch {
                logger.error("realtime frame not encodable", metadata: ["error": "\(error)"])
                continue
            }
            if let previous = last { pipeline.write(NIOAny(previous), promise: nil) }
            last = message
        }
        guard let last else { return channel.eventLoop.makeSucceededVoidFuture() }
        return pipeline.writeAndFlush(NIOAny(last))
    }

    /// A frame as protobuf binary in a ByteBuffer.
    static func encode(_ frame: Chatwire_ServerFrame, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws -> ByteBuffer {
        let bytes: [UInt8] = try frame.serializedBytes()
        var buffer = allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }

    func respond(to message: WebSocketMessage, session: ClientSession) -> Chatwire_ServerFrame {
        var response = Chatwire_ServerFrame()
        let frame: Chatwire_ClientFrame
        do {
            switch message {
            case .binary(let buffer): frame = try Self.decodeFrame(binary: buffer)
            case .text(let text): frame = try Self.decodeFrame(text: text)
            }
        } catch {
            var e = Chatwire_ErrorResponse()
            e.code = 400
            e.message = "Malformed frame: \(error)"
            response.payload = .error(e)
            return response
        }
        response.requestID = frame.requestID
        do throws(MessagingError) {
            response.payload = try dispatch(frame, session: session)
        } catch {
            response.payload = .error(error.frame)
        }
        return response
    }

    /// Decodes a binary frame (protobuf).
    static func decodeFrame(binary buffer: ByteBuffer) throws -> Chatwire_ClientFrame {
        try Chatwire_ClientFrame(serializedBytes: Array(buffer.readableBytesView))
    }

    /// Decodes a text frame (proto3 JSON).
    static func decodeFrame(text: String) throws -> Chatwire_ClientFrame {
        try Chatwire_ClientFrame(jsonString: text)
    }

    func dispatch(_ frame: Chatwire_ClientFrame, session: ClientSession) throws(MessagingError) -> Chatwire_ServerFrame.OneOf_Payload {
        let messaging = services.messaging
        switch frame.request {
        case .sendPlainText(let r):
            var out = Chatwire_SendPlainTextResponse()
            out.messageID = try messaging.sendPlainText(r, from: session)
            return .sendPlainText(out)
        case .sendFile(let r):
            var out = Chatwire_SendFileResponse()
            out.messageID = try messaging.sendFile(r, from: session)
            return .sendFile(out)
        case .react(let r):
            try messaging.react(r, from: session)
            return .react(Chatwire_ReactResponse())
        case .unReact(let r):
            try messaging.unreact(r, from: session)
            return .unReact(Chatwire_UnReactResponse())
        case .ack(let r):
            try messaging.acknowledge(r, from: session)
            return .ack(Chatwire_AckResponse())
        case .none:
            throw MessagingError(code: 400, message: "The frame carries no request.", errors: [])
        }
    }
}

/// A registered real-time WebSocket connection: its session in the client registry and its outbox.
final class WebSocketConnection: Sendable {
    let session: ClientSession
    let outbox: ConnectionOutbox<Chatwire_ServerFrame>
    /// The connection's frame writer once installed (read and set on its event loop).
    let writer: NIOLoopBoundBox<RealtimeFrameWriter?>
    let keepaliveToken: Int
    let services: ChatServices
    let keepalive: WebSocketKeepalive
    let logger: Logger

    init(session: ClientSession, outbox: ConnectionOutbox<Chatwire_ServerFrame>, writer: NIOLoopBoundBox<RealtimeFrameWriter?>, keepaliveToken: Int,
         services: ChatServices, keepalive: WebSocketKeepalive, logger: Logger) {
        self.session = session
        self.outbox = outbox
        self.writer = writer
        self.keepaliveToken = keepaliveToken
        self.services = services
        self.keepalive = keepalive
        self.logger = logger
    }

    /// Unregisters the connection and finishes its outbox (which then closes it).
    func end() {
        services.registry.remove(session)
        keepalive.remove(keepaliveToken)
        outbox.finish()
    }
}
