import Atomics
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One client call on one HTTP/2 stream: sends the request head and messages, parses the
/// response with a ``ResponseStreamMachine``.
///
/// The sending half may be used from one task while another task receives (bidirectional calls);
/// the receiving half has a single consumer.
final class ClientCallStream: @unchecked Sendable {
    /// Why the stream was torn down locally, to report the right status.
    enum LocalEnd: Int, AtomicValue {
        case none = 0
        case deadline = 1
        case cancelled = 2
    }

    let channel: any Channel
    private let writer: StreamFrameWriter
    private let inbox: StreamInbox
    private var machine: ResponseStreamMachine
    private let requestHead: HPACKHeaders
    private let compression: CompressionAlgorithm
    private let maxSendMessageSize: Int
    private let headSent = ManagedAtomic(false)
    let localEnd = ManagedAtomic(LocalEnd.none)
    /// The stream's HTTP/2 ID once its head was written; 0 before.
    let streamID = ManagedAtomic(0)
    /// Completes once the HTTP/2 layer has decided the fate of the request HEADERS: succeeded when
    /// they were written to the connection, failed when they never were (the stream was refused
    /// after a GOAWAY, or the connection or stream closed first).
    private var headOutcome: EventLoopFuture<Void>?
    /// The server reset the stream with REFUSED_STREAM (it did not process the call).
    private var refusedByServer = false
    /// Whether any HEADERS or DATA frame arrived on the stream.
    private(set) var receivedAnyFrame = false
    /// Set before the caller's own code (request writer, response handler) runs: from then on a
    /// retry would run that code twice, so none is made.
    var handedToCaller = false
    private let connection: ClientConnectionState
    /// Completes when the request head has been written to the connection (fails when it was not).
    private var headWritten: EventLoopFuture<Void>?

    private var head: ResponseHead?
    /// The trailers, once the call has ended.
    private(set) var trailers: ResponseTrailers?
    private var pendingEnd: ResponseTrailers?

    init(
        channel: any Channel,
        inbox: StreamInbox,
        requestHead: RequestHead,
        connection: ClientConnectionState,
        batcher: ConnectionWriteBatcher? = nil,
        maxReceiveMessageSize: Int,
        maxSendMessageSize: Int
    ) {
        self.channel = channel
        self.connection = connection
        // RFC 9113 6.8: no new stream after GOAWAY. Checked on the event loop that also reads the
        // GOAWAY, right before the HEADERS go out, so a call that picked this connection just
        // before the GOAWAY arrived never opens a stream the server would not process.
        self.writer = StreamFrameWriter(channel: channel, batcher: batcher, gate: {
            connection.draining.load(ordering: .relaxed) ? ConnectionGoingAway() : nil
        })
        self.inbox = inbox
        self.machine = ResponseStreamMachine(maxMessageSize: maxReceiveMessageSize)
        self.requestHead = requestHead.encode()
        self.compression = requestHead.encoding
        self.maxSendMessageSize = maxSendMessageSize
    }

    // MARK: sending

    private func frame(_ message: ByteBuffer) throws(RPCError) -> ByteBuffer {
        guard message.readableBytes <= maxSendMessageSize else {
            throw RPCError(
                code: .resourceExhausted,
                message: "request message of \(message.readableBytes) bytes exceeds the maximum of \(maxSendMessageSize) bytes")
        }
        var buffer = channel.allocator.buffer(capacity: MessageFramer.prefixSize + message.readableBytes)
        try MessageFramer.frame(message, compression: compression, into: &buffer)
        return buffer
    }

    /// Queues the request head (and `then`, e.g. a unary request's only message) for one
    /// event-loop hop and one flush, remembering whether HTTP/2 refused to open the stream
    /// after a GOAWAY.
    private func writeHead(endStream: Bool = false, then data: HTTP2Frame.FramePayload? = nil) throws {
        let head = HTTP2Frame.FramePayload.headers(.init(headers: requestHead, endStream: endStream))
        let headPromise = channel.eventLoop.makePromise(of: Void.self)
        let streamID = self.streamID
        let channel = self.channel
        headPromise.futureResult.whenSuccess {
            if let id = try? channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID) {
                streamID.store(Int(id), ordering: .relaxed)
            }
        }
        headOutcome = headPromise.futureResult
        var items = [StreamFrameWriter.Item(frame: head, promise: headPromise)]
        if let data {
            let last = channel.eventLoop.makePromise(of: Void.self)
            items.append(.init(frame: data, promise: last))
            headWritten = last.futureResult
        } else {
            headWritten = headPromise.futureResult
        }
        do {
            try writer.enqueue(items)
        } catch {
            throw failure(error)
        }
    }

    /// Sends the request head now (streaming calls announce themselves before any message) and
    /// waits until it is on the connection, so a stream refused after a GOAWAY is known before any
    /// request message of the caller's is taken.
    func sendHead() async throws {
        if !headSent.exchange(true, ordering: .relaxed) {
            try writeHead()
        }
        do {
            try await headWritten?.get()
        } catch {
            throw failure(error)
        }
    }

    /// Sends one request message, preceded by the head when it is the first.
    func sendMessage(_ message: ByteBuffer, endStream: Bool = false) async throws {
        if localEnd.load(ordering: .relaxed) != .none || Task.isCancelled {
            throw failure(CancellationError())
        }
        let data = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(try frame(message)), endStream: endStream))
        if !headSent.exchange(true, ordering: .relaxed) {
            try writeHead(then: data)
        } else {
            try await write([data])
        }
    }

    /// Ends the request stream (END_STREAM on an empty DATA frame, or on the head when no
    /// message was sent).
    func finishSending() async throws {
        if headSent.exchange(true, ordering: .relaxed) {
            try await write([.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))])
        } else {
            try writeHead(endStream: true)
        }
    }

    private func write(_ frames: [HTTP2Frame.FramePayload]) async throws {
        do {
            try await writer.write(frames.map { StreamFrameWriter.Item(frame: $0) })
        } catch {
            throw failure(error)
        }
    }

    /// Tears the stream down locally (RST_STREAM CANCEL to the server).
    func cancel(reason: LocalEnd = .cancelled) {
        _ = localEnd.compareExchange(expected: .none, desired: reason, ordering: .relaxed)
        channel.close(promise: nil)
    }

    // MARK: receiving

    /// Receives the response head. A call that ended without one (trailers-only) throws its error,
    /// or returns an empty head when it ended OK.
    @discardableResult
    func receiveHead() async throws -> ResponseHead {
        if let head { return head }
        if let trailers {
            if let error = trailers.error { throw error }
            return ResponseHead()
        }
        while true {
            guard let frame = try await nextFrame() else { throw endedWithoutTrailers() }
            switch frame {
            case .headers(let headers):
                switch machine.receiveHeaders(headers.headers, endStream: headers.endStream) {
                case .head(let head):
                    self.head = head
                    return head
                case .end(let trailers):
                    self.trailers = trailers
                    if let error = trailers.error { throw error }
                    let empty = ResponseHead()
                    self.head = empty
                    return empty
                }
            case .data:
                let trailers = machine.receiveData(ByteBuffer(), endStream: false)
                    ?? ResponseTrailers(status: Status(code: .internal, message: "DATA before HEADERS"))
                self.trailers = trailers
                throw trailers.error ?? RPCError(code: .internal, message: "DATA before HEADERS")
            case .rstStream(let code):
                throw reset(code)
            default:
                continue
            }
        }
    }

    /// The next response message; nil when the call ended OK; throws the call's error otherwise.
    func nextMessage() async throws -> ByteBuffer? {
        if head == nil {
            try await receiveHead()
        }
        while true {
            if let message = try nextBuffered() { return message }
            if let trailers {
                if let error = trailers.error { throw error }
                return nil
            }
            if let pendingEnd {
                self.trailers = pendingEnd
                continue
            }
            guard let frame = try await nextFrame() else { throw endedWithoutTrailers() }
            switch frame {
            case .data(let data):
                if case .byteBuffer(let bytes) = data.data,
                    let end = machine.receiveData(bytes, endStream: data.endStream)
                {
                    pendingEnd = end
                }
            case .headers(let headers):
                if case .end(let trailers) = machine.receiveHeaders(headers.headers, endStream: headers.endStream) {
                    pendingEnd = trailers
                }
            case .rstStream(let code):
                throw reset(code)
            default:
                continue
            }
        }
    }

    private func nextBuffered() throws(RPCError) -> ByteBuffer? {
        do {
            return try machine.nextMessage()
        } catch {
            trailers = ResponseTrailers(error: error)
            cancel()
            throw error
        }
    }

    private func nextFrame() async throws -> HTTP2Frame.FramePayload? {
        do {
            let frame = try await inbox.next()
            switch frame {
            case .headers, .data: receivedAnyFrame = true
            default: break
            }
            return frame
        } catch {
            throw failure(error)
        }
    }

    /// Whether the server provably never processed this call and the caller's code has not run,
    /// so it may be retried on another connection (gRFC A6 transparent retry): the request HEADERS
    /// never reached the connection (HTTP/2 refused to open the stream after a GOAWAY, or the
    /// connection closed first), the server refused the stream (REFUSED_STREAM), or the stream was
    /// above the last stream ID of a GOAWAY and nothing came back on it.
    ///
    /// Call it once the call has failed. It first waits for the outcome of the HEADERS write: the
    /// response side can end before that write is even attempted (a connection that closes right
    /// after its GOAWAY ends the streams opened on it at once, while their frames still wait for
    /// the event loop), and deciding before it would take a never-sent call for a lost one.
    func neverProcessed() async -> Bool {
        if handedToCaller || localEnd.load(ordering: .relaxed) != .none { return false }
        if let headOutcome {
            do {
                try await headOutcome.get()
            } catch {
                // The HEADERS never went out: the server cannot have seen the call.
                return true
            }
        }
        if refusedByServer && !receivedAnyFrame { return true }
        let id = streamID.load(ordering: .relaxed)
        return !receivedAnyFrame && id > 0 && id > connection.goAwayLastStreamID.load(ordering: .relaxed)
    }

    private func endedWithoutTrailers() -> RPCError {
        switch localEnd.load(ordering: .relaxed) {
        case .deadline: return RPCError(code: .deadlineExceeded, message: "deadline exceeded")
        case .cancelled: return RPCError(code: .cancelled, message: "the call was cancelled")
        case .none: return RPCError(code: .unavailable, message: "the stream closed before the call ended")
        }
    }

    private func reset(_ code: HTTP2ErrorCode) -> RPCError {
        // RFC 9113 8.7: REFUSED_STREAM means the server did no application processing.
        if code == .refusedStream { refusedByServer = true }
        switch localEnd.load(ordering: .relaxed) {
        case .deadline: return RPCError(code: .deadlineExceeded, message: "deadline exceeded")
        case .cancelled: return RPCError(code: .cancelled, message: "the call was cancelled")
        case .none: break
        }
        switch code {
        case .cancel: return RPCError(code: .cancelled, message: "the server cancelled the stream")
        case .refusedStream: return RPCError(code: .unavailable, message: "the server refused the stream")
        case .enhanceYourCalm: return RPCError(code: .resourceExhausted, message: "the server answered ENHANCE_YOUR_CALM")
        case .inadequateSecurity: return RPCError(code: .permissionDenied, message: "inadequate security")
        default: return RPCError(code: .internal, message: "the server reset the stream (\(code))")
        }
    }

    /// Maps a channel error to the call's status.
    func failure(_ error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        if let closed = error as? NIOHTTP2Errors.StreamClosed { return reset(closed.errorCode) }
        switch localEnd.load(ordering: .relaxed) {
        case .deadline: return RPCError(code: .deadlineExceeded, message: "deadline exceeded")
        case .cancelled: return RPCError(code: .cancelled, message: "the call was cancelled")
        case .none: return RPCError(code: .unavailable, message: "stream failed: \(error)")
        }
    }
}

/// A stream was not opened because its connection had received GOAWAY.
struct ConnectionGoingAway: Error, CustomStringConvertible {
    var description: String { "the connection received GOAWAY before the call started" }
}
