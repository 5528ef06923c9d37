import ChatWire
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
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
            try await handle(inbound: inbound, outbound: outbound, request: context.request, logger: context.logger)
        })
    }

    func handle(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, request: Request, logger: Logger) async throws {
        guard let identity = authenticate(request, tokens: services.tokens) else {
            try await outbound.close(.policyViolation, reason: "unauthorized")
            return
        }
        // Another instance owns the user's partition (after a reassignment): the client creates a new session, which names it.
        guard services.messaging.serves(identity.userID) else {
            try await outbound.close(.policyViolation, reason: "served by another instance; create a new session")
            return
        }
        let binary = request.uri.queryParameters.get("format") == "binary"
        // Frames are written by a task that exists only while some are queued (an idle listening
        // client has none); a burst costs one wake-up of the writer, not one per frame.
        let outbox = ConnectionOutbox<Chatwire_ServerFrame>(capacity: Self.maxQueued) { frames in
            for frame in frames {
                if binary {
                    try await outbound.writeBinaryMessage(try Self.encode(frame))
                } else {
                    try await outbound.writeTextMessage(try frame.jsonString())
                }
            }
        } close: {
            // The queue overflowed, the reader finished or the server shuts down.
            try? await outbound.close(.goingAway, reason: nil)
        }
        let session = ClientSession(userID: identity.userID, clientID: identity.clientID, connectionID: UUID().uuidString) { frame in
            outbox.push(frame)
        }
        // The first frame (request ID 0, an empty AckResponse) tells the client that the
        // connection is registered (it is queued only after the registration).
        var ready = Chatwire_ServerFrame()
        ready.payload = .ack(Chatwire_AckResponse())
        guard services.registry.add(session, limit: services.config.values.maxDevicesPerUser) else {
            try await outbound.close(.policyViolation, reason: "too many devices")
            return
        }
        outbox.push(ready)
        defer { services.registry.remove(session) }
        // On graceful shutdown the outbox is finished: it closes the socket with "going away"
        // after writing what is queued, and the client reconnects elsewhere.
        await withGracefulShutdownHandler {
            await read(inbound, outbox: outbox, session: session, logger: logger)
        } onGracefulShutdown: {
            outbox.finish()
        }
        outbox.finish()
        await outbox.closed()
    }

    /// Reads requests until the client closes (or the outbox refuses, when the client fell too far
    /// behind), answering each through the outbox. Fragmented messages are joined here (up to
    /// ``maxFrame`` bytes), frame by frame, which keeps the reader's task stack small.
    private func read(_ inbound: WebSocketInboundStream, outbox: ConnectionOutbox<Chatwire_ServerFrame>, session: ClientSession, logger: Logger) async {
        var iterator = inbound.makeAsyncIterator()
        var pending: (binary: Bool, bytes: ByteBuffer)?
        do {
            while let frame = try await iterator.next() {
                var data = frame.data
                switch frame.opcode {
                case .text, .binary:
                    pending = (frame.opcode == .binary, data)
                case .continuation:
                    guard pending != nil, pending!.bytes.readableBytes + data.readableBytes <= Self.maxFrame else {
                        outbox.finish()
                        return
                    }
                    pending!.bytes.writeBuffer(&data)
                }
                guard frame.fin, let (isBinary, bytes) = pending else { continue }
                pending = nil
                let message: WebSocketMessage = isBinary ? .binary(bytes) : .text(String(buffer: bytes))
                guard outbox.push(respond(to: message, session: session)) else { return }
            }
        } catch {
            logger.debug("websocket read ended", metadata: ["error": "\(error)"])
        }
    }

    /// A frame as protobuf binary in a ByteBuffer.
    static func encode(_ frame: Chatwire_ServerFrame) throws -> ByteBuffer {
        let bytes: [UInt8] = try frame.serializedBytes()
        return ByteBuffer(bytes: bytes)
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
