import NIOCore
import NIOHTTP2
import Synchronization

/// The inbound frames of one HTTP/2 stream, handed from the event loop to the one task that
/// reads them, with back-pressure.
///
/// It replaces a `NIOAsyncChannel` per stream: no generic sequence-producer machinery (whose
/// runtime generic-metadata lookups and per-stream allocations showed in profiles of many small
/// calls), no outbound writer (frames go out through ``StreamFrameWriter``), and nothing to wait
/// for when the call ends.
///
/// Back-pressure: while `highWatermark` frames are buffered the ``StreamInboxHandler`` holds
/// back the stream channel's `read()`, so no more frames are delivered and HTTP/2 sends no
/// WINDOW_UPDATE: a slow reader stops the peer. Reading resumes once the buffer drops to
/// `lowWatermark`.
final class StreamInbox: Sendable {
    private enum End {
        case finished
        case failed(any Error)
    }

    private struct State {
        var frames = CircularBuffer<HTTP2Frame.FramePayload>(initialCapacity: 2)
        var end: End?
        var waiter: CheckedContinuation<HTTP2Frame.FramePayload?, any Error>?
        /// A `read()` is held back by the handler.
        var readPaused = false
        /// The reading task was cancelled while waiting: the inbox is done.
        var cancelled = false
    }

    private let state = Mutex(State())
    private let eventLoop: any EventLoop
    /// The handler, to resume a held-back read; cleared when the handler goes away.
    let handler: NIOLoopBoundBox<StreamInboxHandler?>

    static let highWatermark = 10
    static let lowWatermark = 2

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.handler = NIOLoopBoundBox(nil, eventLoop: eventLoop)
    }

    // MARK: event loop side

    /// Buffers a frame or hands it to the waiting reader.
    func deliver(_ frame: HTTP2Frame.FramePayload) {
        let waiter = state.withLock { state -> CheckedContinuation<HTTP2Frame.FramePayload?, any Error>? in
            if state.cancelled || state.end != nil { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.frames.append(frame)
            return nil
        }
        waiter?.resume(returning: frame)
    }

    /// Ends the frames: `error` nil for a clean end (after the buffered frames, `next()` returns
    /// nil), or the error `next()` throws after the buffered frames.
    func finish(_ error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<HTTP2Frame.FramePayload?, any Error>? in
            if state.end == nil { state.end = error.map { .failed($0) } ?? .finished }
            defer { state.waiter = nil }
            return state.waiter
        }
        if let waiter {
            if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
        }
    }

    /// Whether a `read()` must be held back now (the buffer is full); records that it was.
    func shouldPauseRead() -> Bool {
        state.withLock { state in
            if state.frames.count >= Self.highWatermark {
                state.readPaused = true
                return true
            }
            return false
        }
    }

    // MARK: reader side

    private enum Step {
        case frame(HTTP2Frame.FramePayload, resumeReading: Bool)
        case end(Result<HTTP2Frame.FramePayload?, any Error>)
        case wait
    }

    private func take(_ state: inout State) -> Step? {
        if let frame = state.frames.popFirst() {
            var resume = false
            if state.readPaused && state.frames.count <= Self.lowWatermark {
                state.readPaused = false
                resume = true
            }
            return .frame(frame, resumeReading: resume)
        }
        if state.cancelled { return .end(.success(nil)) }
        switch state.end {
        case .finished: return .end(.success(nil))
        case .failed(let error): return .end(.failure(error))
        case nil: return nil
        }
    }

    private func resumeReading() {
        let handler = self.handler
        eventLoop.execute { handler.value?.resumeReading() }
    }

    /// The next frame; nil once the stream ended cleanly; throws the stream's error, or
    /// `CancellationError` when the reading task is cancelled while waiting.
    func next() async throws -> HTTP2Frame.FramePayload? {
        if let step = state.withLock({ take(&$0) }) {
            switch step {
            case .frame(let frame, let resume):
                if resume { resumeReading() }
                return frame
            case .end(let result):
                return try result.get()
            case .wait:
                break
            }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTP2Frame.FramePayload?, any Error>) in
                let step = state.withLock { state -> Step in
                    if let step = take(&state) { return step }
                    if Task.isCancelled {
                        state.cancelled = true
                        return .end(.failure(CancellationError()))
                    }
                    state.waiter = continuation
                    return .wait
                }
                switch step {
                case .frame(let frame, let resume):
                    if resume { resumeReading() }
                    continuation.resume(returning: frame)
                case .end(let result):
                    continuation.resume(with: result)
                case .wait:
                    break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<HTTP2Frame.FramePayload?, any Error>? in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// The stream channel's handler that feeds a ``StreamInbox`` and holds back `read()` while the
/// inbox is full. Outbound data passes through untouched.
final class StreamInboxHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundIn = Any

    private let inbox: StreamInbox
    private var context: ChannelHandlerContext?
    private var readHeld = false

    init(inbox: StreamInbox) {
        self.inbox = inbox
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        inbox.handler.value = self
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        inbox.finish(nil)
        inbox.handler.value = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbox.deliver(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish(nil)
        inbox.handler.value = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.finish(error)
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { inbox.finish(nil) }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if inbox.shouldPauseRead() {
            readHeld = true
        } else {
            context.read()
        }
    }

    /// The reader drained the inbox: perform the held-back read.
    func resumeReading() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }
}
