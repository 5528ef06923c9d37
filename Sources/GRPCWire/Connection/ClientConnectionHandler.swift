import Atomics
import NIOCore
import NIOHTTP2

/// Client connection-level handler: keepalive pings per gRFC A8 and GOAWAY tracking.
///
/// Sends a PING after `interval` without a received frame (only while calls are active unless
/// `permitWithoutCalls`), and closes the connection when the ACK does not arrive within
/// `timeout`. Marks the connection as draining when the server sends GOAWAY, so new calls
/// open a new connection (calls already open finish on this one), and records a GOAWAY
/// `too_many_pings`, after which the client doubles its keepalive interval (gRFC A8).
final class ClientConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    struct Keepalive {
        var interval: TimeAmount
        var timeout: TimeAmount
        var permitWithoutCalls: Bool
    }

    private let keepalive: Keepalive?
    let state: ClientConnectionState
    private var pingTimer: Scheduled<Void>?
    private var timeoutTimer: Scheduled<Void>?
    private static let pingData = HTTP2PingData(withInteger: 0x6772_7063_6b61_6c76)

    init(keepalive: Keepalive?, state: ClientConnectionState) {
        self.keepalive = keepalive
        self.state = state
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedulePing(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        schedulePing(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        pingTimer?.cancel()
        timeoutTimer?.cancel()
        state.closed.store(true, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .goAway(let lastStreamID, let errorCode, let debugData):
            state.draining.store(true, ordering: .relaxed)
            let last = Int(lastStreamID)
            if last < state.goAwayLastStreamID.load(ordering: .relaxed) {
                state.goAwayLastStreamID.store(last, ordering: .relaxed)
            }
            // gRFC A8: the server refused our ping rate; the client doubles its keepalive interval.
            if errorCode == .enhanceYourCalm, let debugData,
                debugData.getString(at: debugData.readerIndex, length: debugData.readableBytes) == "too_many_pings"
            {
                state.tooManyPings.store(true, ordering: .relaxed)
            }
        case .ping(let data, ack: true) where data == Self.pingData:
            timeoutTimer?.cancel()
            timeoutTimer = nil
        default:
            break
        }
        // Any frame proves the connection alive: restart the idle clock.
        if timeoutTimer == nil { schedulePing(context: context) }
        context.fireChannelRead(data)
    }

    private func schedulePing(context: ChannelHandlerContext) {
        guard let keepalive else { return }
        pingTimer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        pingTimer = context.eventLoop.scheduleTask(in: keepalive.interval) {
            let (handler, context) = loopBound.value
            handler.sendPing(context: context)
        }
    }

    private func sendPing(context: ChannelHandlerContext) {
        guard let keepalive else { return }
        if !keepalive.permitWithoutCalls && state.activeCalls.load(ordering: .relaxed) == 0 {
            schedulePing(context: context)
            return
        }
        context.writeAndFlush(NIOAny(HTTP2Frame(streamID: .rootStream, payload: .ping(Self.pingData, ack: false))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeoutTimer = context.eventLoop.scheduleTask(in: keepalive.timeout) {
            loopBound.value.close(promise: nil)
        }
    }
}

/// Shared, thread-safe facts about one client connection.
final class ClientConnectionState: Sendable {
    let draining = ManagedAtomic(false)
    /// The lowest last-stream ID of the GOAWAY frames received: the server processes no stream
    /// above it, so calls on such streams may be retried elsewhere.
    let goAwayLastStreamID = ManagedAtomic(Int.max)
    /// The server sent GOAWAY `ENHANCE_YOUR_CALM` with `too_many_pings`.
    let tooManyPings = ManagedAtomic(false)
    let closed = ManagedAtomic(false)
    let activeCalls = ManagedAtomic(0)
}
