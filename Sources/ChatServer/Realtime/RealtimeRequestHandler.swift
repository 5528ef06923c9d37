import NIOCore
import NIOWebSocket
import HummingbirdWebSocket

/// Answers a real-time WebSocket connection's requests on its event loop, as the frames are
/// decoded, instead of in the connection's task.
///
/// Installed right after the frame decoder once the connection is registered, it takes the data
/// frames (text, binary, continuation) and leaves control frames (ping, pong, close), frames with
/// reserved bits and errors to the WebSocket library's handler behind it. A request then costs
/// no hand-off through the library's inbound stream and no wake-up of the connection's task, and
/// the responses of all requests read in one event-loop tick leave in one socket write (the
/// outbox drains once per tick). Frames that arrived before installation are still read by the
/// connection's task (``WebSocketEndpoint``); clients send only after the first frame, which is
/// queued after installation.
final class RealtimeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private let endpoint: WebSocketEndpoint
    private let connection: WebSocketConnection
    private var assembler = WebSocketEndpoint.MessageAssembler()
    /// Set once a request ended the connection (oversized message, or the client fell behind).
    private var ended = false

    private init(endpoint: WebSocketEndpoint, connection: WebSocketConnection) {
        self.endpoint = endpoint
        self.connection = connection
    }

    /// Installs the handler behind `channel`'s WebSocket frame decoder, and the connection's
    /// ``RealtimeFrameWriter`` in front of its frame encoder; without them (the channel already
    /// closed) the connection's task answers whatever still arrives.
    static func install(on channel: any Channel, endpoint: WebSocketEndpoint, connection: WebSocketConnection) async {
        let installed = channel.eventLoop.submit {
            let operations = channel.pipeline.syncOperations
            let encoder = try operations.handler(type: WebSocketFrameEncoder.self)
            let writer = RealtimeFrameWriter(eventLoop: channel.eventLoop)
            try operations.addHandler(writer, position: .before(encoder))
            connection.writer.value = writer
            let decoder = try operations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try operations.addHandler(RealtimeRequestHandler(endpoint: endpoint, connection: connection), position: .after(decoder))
        }
        do {
            try await installed.get()
        } catch {
            connection.logger.debug("realtime request handler not installed", metadata: ["error": "\(error)"])
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let opcode: WebSocketDataFrame.Opcode
        switch frame.opcode {
        case .text: opcode = .text
        case .binary: opcode = .binary
        case .continuation: opcode = .continuation
        default:
            context.fireChannelRead(data)
            return
        }
        // No extension is negotiated: the library's handler fails the connection.
        guard frame.reservedBits.isEmpty else {
            context.fireChannelRead(data)
            return
        }
        guard !ended else { return }
        if !endpoint.receive(opcode, fin: frame.fin, data: frame.unmaskedData, assembler: &assembler, connection: connection) {
            ended = true
            connection.end()
        }
    }
}
