import NIOCore

/// The listener's handler that asks a ``ServerConnectionDelegate`` before every accept and tells
/// it about each accepted connection and its close.
///
/// Accepting is paused by holding back the listening channel's `read()` (with auto-read on, NIO
/// asks for the next accept by calling `read()`); a held-back read is performed once the delegate
/// says yes again, checked when one of this listener's connections closes and every
/// `recheckInterval` while paused. The listener is set to accept one connection per read, so it
/// never takes more than the delegate allows.
final class AcceptGateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel
    typealias OutboundIn = Never
    typealias OutboundOut = Never

    private let delegate: any ServerConnectionDelegate
    private let recheckInterval: TimeAmount
    private var context: ChannelHandlerContext?
    /// A `read()` is held back until the delegate accepts again.
    private var readHeld = false
    private var recheck: Scheduled<Void>?

    init(delegate: any ServerConnectionDelegate, recheckInterval: TimeAmount) {
        self.delegate = delegate
        self.recheckInterval = recheckInterval
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        recheck?.cancel()
        recheck = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        recheck?.cancel()
        recheck = nil
        readHeld = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = unwrapInboundIn(data)
        delegate.connectionOpened()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let delegate = self.delegate
        let eventLoop = context.eventLoop
        child.closeFuture.whenComplete { _ in
            delegate.connectionClosed()
            eventLoop.execute { loopBound.value.resumeIfAccepting() }
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        if delegate.isAcceptingConnections() {
            context.read()
        } else {
            readHeld = true
            scheduleRecheck()
        }
    }

    /// Performs the held-back read if the delegate accepts again; otherwise keeps checking.
    private func resumeIfAccepting() {
        guard readHeld, let context else { return }
        if delegate.isAcceptingConnections() {
            readHeld = false
            recheck?.cancel()
            recheck = nil
            context.read()
        } else {
            scheduleRecheck()
        }
    }

    private func scheduleRecheck() {
        guard recheck == nil, let context, context.channel.isActive else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        recheck = context.eventLoop.scheduleTask(in: recheckInterval) {
            let handler = loopBound.value
            handler.recheck = nil
            handler.resumeIfAccepting()
        }
    }
}
