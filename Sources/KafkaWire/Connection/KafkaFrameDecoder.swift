import NIOCore

/// Splits the inbound byte stream into frames: a 4-byte big-endian size, then that many bytes.
struct KafkaFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxFrameSize: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 0, Int(size) <= maxFrameSize else {
            throw KafkaConnectionError.protocolViolation("frame size \(size) outside 0...\(maxFrameSize)")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        context.fireChannelRead(NIOAny(buffer.readSlice(length: Int(size))!))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// A request frame on its way out, with the promise that receives the response frame.
struct KafkaOutboundRequest: Sendable {
    var frame: ByteBuffer
    var correlationID: Int32
    /// nil for requests without a response (Produce with acks=0).
    var response: EventLoopPromise<ByteBuffer>?
}

/// Runs ``KafkaRequestStateMachine`` on a channel.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = KafkaOutboundRequest
    typealias OutboundOut = ByteBuffer

    private var state = KafkaRequestStateMachine<EventLoopPromise<ByteBuffer>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let response = request.response {
            if let error = state.requestSent(correlationID: request.correlationID, waiter: response) {
                response.fail(error)
                promise?.fail(error)
                return
            }
        }
        context.write(wrapOutboundOut(request.frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        run(state.frameReceived(unwrapInboundIn(data)), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        run(state.fail(.closed("connection closed by peer")), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kafkaError = (error as? KafkaConnectionError) ?? .closed(String(describing: error))
        run(state.fail(kafkaError), context: context)
    }

    private func run(_ action: KafkaRequestStateMachine<EventLoopPromise<ByteBuffer>>.Action, context: ChannelHandlerContext) {
        switch action {
        case .deliver(let promise, let frame):
            promise.succeed(frame)
        case .failAllAndClose(let waiters, let error):
            for w in waiters { w.fail(error) }
            context.close(promise: nil)
        case .none:
            break
        }
    }
}
