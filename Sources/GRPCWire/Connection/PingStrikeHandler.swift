import NIOCore
import NIOHTTP2

/// The server's keepalive enforcement policy of gRFC A8.
///
/// A PING received sooner than `minimumReceivedPingInterval` after the previous one (or at all
/// while no call is active, unless `permitWithoutCalls`) is a strike; strikes reset whenever the
/// server sends headers or data. More than `maxPingStrikes` strikes close the connection with
/// GOAWAY `ENHANCE_YOUR_CALM` and debug data `too_many_pings`.
final class PingStrikeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    struct Policy {
        var minimumReceivedPingInterval: TimeAmount
        var permitWithoutCalls: Bool
        var maxPingStrikes: Int
    }

    /// How long a connection struck out may stay half-closed before it is closed outright.
    static let closeAfterGoAway: TimeAmount = .seconds(5)

    private let policy: Policy
    private let activity: ServerConnectionActivity
    private var strikes = 0
    private var lastPing: NIODeadline?
    private var lastEpoch = -1
    private var closing = false

    init(policy: Policy, activity: ServerConnectionActivity) {
        self.policy = policy
        self.activity = activity
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if case .ping(_, ack: false) = frame.payload {
            receivedPing(context: context)
        }
        context.fireChannelRead(data)
    }

    private func receivedPing(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let epoch = activity.dataEpoch.load(ordering: .relaxed)
        if epoch != lastEpoch {
            // The server sent headers or data since the last ping: pings are welcome again.
            lastEpoch = epoch
            strikes = 0
        }
        let active = activity.activeStreams.load(ordering: .relaxed) > 0
        if !active && !policy.permitWithoutCalls {
            // A8: without calls, pings are allowed at most every two hours.
            if let lastPing, now - lastPing < .hours(2) { strikes += 1 }
        } else if let lastPing, now - lastPing < policy.minimumReceivedPingInterval {
            strikes += 1
        }
        lastPing = now
        if strikes > policy.maxPingStrikes && !closing {
            closing = true
            let lastStream = HTTP2StreamID(activity.lastStreamID.load(ordering: .relaxed))
            var debug = context.channel.allocator.buffer(capacity: 14)
            debug.writeString("too_many_pings")
            let goAway = HTTP2Frame(
                streamID: .rootStream,
                payload: .goAway(lastStreamID: lastStream, errorCode: .enhanceYourCalm, opaqueData: debug))
            // Half-close after the GOAWAY, then wait for the client to close: closing outright
            // while the client's pings are still arriving makes the kernel answer them with a
            // reset, and a client that reads the reset first never sees the GOAWAY (nor learns
            // to slow its pings down). A client that does not close is closed after a while.
            let channel = context.channel
            context.writeAndFlush(NIOAny(goAway)).whenComplete { _ in
                channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
                channel.eventLoop.scheduleTask(in: Self.closeAfterGoAway) { channel.close(promise: nil) }
            }
        }
    }
}
