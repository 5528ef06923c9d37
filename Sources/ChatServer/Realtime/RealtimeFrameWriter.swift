import ChatWire
import Logging
import NIOCore
import SwiftProtobuf

/// Writes a real-time WebSocket connection's outbound batches as one buffer of encoded frames.
///
/// Sits in front of the WebSocket frame encoder (towards the socket), so a batch skips the
/// encoder and every handler behind it: the frames (server frames are unmasked: a 2-10 byte
/// header and the payload) are encoded back to back into one buffer, written and flushed once,
/// which the socket sends with one write of one piece. Everything else written on the channel
/// (pongs, the close handshake) passes through unchanged.
final class RealtimeFrameWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let eventLoop: any EventLoop
    private var context: ChannelHandlerContext?

    /// A writer for a channel on `eventLoop`.
    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// On the event loop: writes `frames` (protobuf binary or proto3 JSON text messages) and
    /// flushes; the future completes when they are written.
    func write(_ frames: [Chatwire_ServerFrame], binary: Bool, logger: Logger) -> EventLoopFuture<Void> {
        guard let context else {
            // Removed: the channel is closing.
            return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        var buffer = context.channel.allocator.buffer(capacity: frames.count * 96)
        for frame in frames {
            do {
                if binary {
                    let bytes: [UInt8] = try frame.serializedBytes()
                    Self.writeHeader(opcode: 0x2, length: bytes.count, to: &buffer)
                    buffer.writeBytes(bytes)
                } else {
                    let text = try frame.jsonString()
                    Self.writeHeader(opcode: 0x1, length: text.utf8.count, to: &buffer)
                    buffer.writeString(text)
                }
            } catch {
                logger.error("realtime frame not encodable", metadata: ["error": "\(error)"])
            }
        }
        guard buffer.readableBytes > 0 else { return context.eventLoop.makeSucceededVoidFuture() }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        return promise.futureResult
    }

    /// The header of a final, unmasked frame (RFC 6455 section 5.2).
    static func writeHeader(opcode: UInt8, length: Int, to buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode)
        switch length {
        case ..<126:
            buffer.writeInteger(UInt8(length))
        case ..<65536:
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }
}
