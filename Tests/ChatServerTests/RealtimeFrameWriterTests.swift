@testable import ChatServer
import ChatWire
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// The real-time connection's frame writer: a batch of server frames leaves as one buffer of
/// unmasked WebSocket frames that NIO's own decoder reads back unchanged.
@Suite struct RealtimeFrameWriterTests {
    func frame(text: String) -> Chatwire_ServerFrame {
        var notification = Chatwire_ListenNotification()
        notification.messageID = 42
        notification.type = .plainText
        notification.plainText.text = text
        var frame = Chatwire_ServerFrame()
        frame.payload = .notification(notification)
        return frame
    }

    /// Decodes every WebSocket frame in `buffer` with NIO's decoder.
    func decode(_ buffer: ByteBuffer) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try channel.writeInbound(buffer)
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        _ = try channel.finish()
        return frames
    }

    @Test func aBatchIsOneBufferOfFramesOfEveryLengthClass() throws {
        let channel = EmbeddedChannel()
        let writer = RealtimeFrameWriter(eventLoop: channel.eventLoop)
        try channel.pipeline.syncOperations.addHandler(writer)
        // Payloads below 126 bytes, of 126...65535 (16-bit length) and above (64-bit length).
        let frames = [frame(text: "hi"), frame(text: String(repeating: "a", count: 300)), frame(text: String(repeating: "b", count: 70_000))]
        let written = writer.write(frames, binary: true, logger: Logger(label: "test"))
        channel.embeddedEventLoop.run()
        try written.wait()
        let buffer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        let decoded = try decode(buffer)
        #expect(decoded.count == 3)
        for (sent, received) in zip(frames, decoded) {
            #expect(received.fin && received.opcode == .binary && received.maskKey == nil)
            #expect(try Chatwire_ServerFrame(serializedBytes: Array(received.data.readableBytesView)) == sent)
        }
        _ = try channel.finish()
    }

    @Test func jsonFramesAreTextMessages() throws {
        let channel = EmbeddedChannel()
        let writer = RealtimeFrameWriter(eventLoop: channel.eventLoop)
        try channel.pipeline.syncOperations.addHandler(writer)
        let sent = frame(text: "quote \" and \u{1}")
        let written = writer.write([sent], binary: false, logger: Logger(label: "test"))
        channel.embeddedEventLoop.run()
        try written.wait()
        let decoded = try decode(try #require(try channel.readOutbound(as: ByteBuffer.self)))
        #expect(decoded.count == 1)
        #expect(decoded.first?.opcode == .text)
        #expect(try Chatwire_ServerFrame(jsonString: String(buffer: try #require(decoded.first).data)) == sent)
        _ = try channel.finish()
    }
}
