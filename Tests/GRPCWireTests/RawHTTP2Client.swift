import GRPCWire
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Synchronization
import SwiftProtobuf

/// A bare HTTP/2 client for tests that must control connection-level frames exactly (PINGs,
/// GOAWAY observation) while still making gRPC calls by hand on the same connection.
final class RawHTTP2Client: Sendable {
    typealias StreamChannel = NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>

    /// Connection-level frames seen by the client.
    enum Event: Sendable, Equatable {
        case pingAck(UInt64)
        case goAway(lastStreamID: Int, errorCode: UInt32, debugData: String)
        case closed
    }

    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>
    let events: AsyncStream<Event>

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.AsyncStreamMultiplexer<Void>, events: AsyncStream<Event>) {
        self.channel = channel
        self.multiplexer = multiplexer
        self.events = events
    }

    static func connect(port: Int) async throws -> RawHTTP2Client {
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let (channel, multiplexer) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    let multiplexer = try sync.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                        stream.eventLoop.makeSucceededVoidFuture()
                    }
                    try sync.addHandler(EventRecorder(continuation: continuation))
                    return (channel, multiplexer)
                }
            }
        return RawHTTP2Client(channel: channel, multiplexer: multiplexer, events: events)
    }

    /// Sends a PING (not an ACK).
    func ping(_ value: UInt64) async throws {
        try await channel.writeAndFlush(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: value), ack: false)))
    }

    /// Opens a stream; write ``requestHeaders(path:)`` first to start a call on it.
    func openStream() async throws -> StreamChannel {
        try await multiplexer.openStream { channel in
            channel.eventLoop.makeCompletedFuture { try StreamChannel(wrappingChannelSynchronously: channel) }
        }
    }

    /// The request HEADERS of a gRPC call to `path`.
    static func requestHeaders(path: String) -> HTTP2Frame.FramePayload {
        let headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, ":authority": "127.0.0.1",
            "content-type": "application/grpc", "te": "trailers",
        ]
        return .headers(.init(headers: headers))
    }

    /// A length-prefixed, uncompressed gRPC message frame.
    static func grpcData(_ message: some SwiftProtobuf.Message, endStream: Bool = false) throws -> HTTP2Frame.FramePayload {
        let bytes: [UInt8] = try message.serializedBytes()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        return .data(.init(data: .byteBuffer(buffer), endStream: endStream))
    }

    func close() async {
        try? await channel.close()
    }
}

/// Forwards PING ACKs, GOAWAY and the connection's end to an AsyncStream.
private final class EventRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame
    let continuation: AsyncStream<RawHTTP2Client.Event>.Continuation

    init(continuation: AsyncStream<RawHTTP2Client.Event>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .ping(let data, ack: true):
            continuation.yield(.pingAck(data.integer))
        case .goAway(let lastStreamID, let errorCode, let opaqueData):
            let debug = opaqueData.map { String(buffer: $0) } ?? ""
            continuation.yield(.goAway(lastStreamID: Int(lastStreamID), errorCode: UInt32(errorCode.networkCode), debugData: debug))
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.yield(.closed)
        continuation.finish()
        context.fireChannelInactive()
    }
}
