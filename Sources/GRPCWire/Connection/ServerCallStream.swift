import Atomics
import NIOCore
import NIOHPACK
import NIOHTTP2
import Synchronization

/// One server call on one HTTP/2 stream: reads request messages with a ``RequestStreamMachine``,
/// writes the response head lazily before the first message, and the trailers exactly once.
final class ServerCallStream: @unchecked Sendable {
    let channel: any Channel
    let context: ServerContext
    private let writer: StreamFrameWriter
    private let inbox: StreamInbox
    private var machine: RequestStreamMachine
    private let responseEncoding: CompressionAlgorithm
    private let acceptedEncodings: [CompressionAlgorithm]
    private let maxSendMessageSize: Int
    private let activity: ServerConnectionActivity

    private struct WriteState {
        var headersSent = false
        var finished = false
    }
    private let writeState = Mutex(WriteState())

    init(
        channel: any Channel, context: ServerContext,
        inbox: StreamInbox,
        requestEncoding: CompressionAlgorithm, responseEncoding: CompressionAlgorithm,
        acceptedEncodings: [CompressionAlgorithm],
        maxReceiveMessageSize: Int, maxSendMessageSize: Int, activity: ServerConnectionActivity,
        batcher: ConnectionWriteBatcher? = nil
    ) {
        self.channel = channel
        self.context = context
        self.inbox = inbox
        self.writer = StreamFrameWriter(channel: channel, batcher: batcher)
        self.machine = RequestStreamMachine(maxMessageSize: maxReceiveMessageSize, encoding: requestEncoding)
        self.responseEncoding = responseEncoding
        self.acceptedEncodings = acceptedEncodings
        self.maxSendMessageSize = maxSendMessageSize
        self.activity = activity
    }

    // MARK: reading

    /// Records that the request HEADERS carried END_STREAM (no request messages at all).
    func markRequestEnded() {
        machine.receiveData(ByteBuffer(), endStream: true)
    }

    /// The next request message; nil at the end of the request stream.
    func readMessage() async throws -> ByteBuffer? {
        while true {
            if let message = try machine.nextMessage() { return message }
            if machine.receivedEnd { return nil }
            let frame: HTTP2Frame.FramePayload?
            do {
                frame = try await inbox.next()
            } catch {
                throw RPCError(code: .cancelled, message: "the client reset the stream")
            }
            guard let frame else {
                throw RPCError(code: .cancelled, message: "the stream closed before the request ended")
            }
            switch frame {
            case .data(let data):
                if case .byteBuffer(let bytes) = data.data {
                    machine.receiveData(bytes, endStream: data.endStream)
                } else if data.endStream {
                    machine.receiveData(ByteBuffer(), endStream: true)
                }
            case .headers:
                machine.receiveTrailers()
            case .rstStream:
                throw RPCError(code: .cancelled, message: "the client reset the stream")
            default:
                continue
            }
        }
    }

    /// Reads exactly one request message (unary and server-streaming calls).
    func readSingleRequest<Request>(_ deserialize: (ByteBuffer) throws -> Request) async throws -> Request {
        guard let bytes = try await readMessage() else {
            throw RPCError(code: .unimplemented, message: "the request stream ended without a message")
        }
        guard try await readMessage() == nil else {
            throw RPCError(code: .unimplemented, message: "more than one request message for a single-request method")
        }
        do {
            return try deserialize(bytes)
        } catch {
            throw RPCError(code: .invalidArgument, message: "failed to deserialize the request: \(error)")
        }
    }

    func serializeResponse<Response>(
        _ response: Response, _ serialize: (Response) throws -> ByteBuffer
    ) throws(RPCError) -> ByteBuffer {
        do {
            return try serialize(response)
        } catch {
            throw RPCError(code: .internal, message: "failed to serialize the response: \(error)")
        }
    }

    // MARK: writing

    private func frame(_ message: ByteBuffer) throws(RPCError) -> HTTP2Frame.FramePayload {
        guard message.readableBytes <= maxSendMessageSize else {
            throw RPCError(
                code: .resourceExhausted,
                message: "response message of \(message.readableBytes) bytes exceeds the maximum of \(maxSendMessageSize) bytes")
        }
        var buffer = channel.allocator.buffer(capacity: MessageFramer.prefixSize + message.readableBytes)
        try MessageFramer.frame(message, compression: responseEncoding, into: &buffer)
        return .data(.init(data: .byteBuffer(buffer)))
    }

    private func responseHeaders() -> HTTP2Frame.FramePayload {
        let head = ResponseHead(
            encoding: responseEncoding, acceptedEncodings: acceptedEncodings, metadata: context.initialMetadata)
        return .headers(.init(headers: head.encode()))
    }

    /// Writes one response message, preceded by the response head when it is the first.
    /// Suspends while the stream has too many bytes in flight (see ``StreamFrameWriter``).
    func writeMessage(_ message: ByteBuffer) async throws {
        // The handler task is cancelled when the client resets the stream or the deadline expires;
        // writes must then fail instead of piling frames onto a closed stream.
        if Task.isCancelled || !channel.isActive {
            throw RPCError(code: .cancelled, message: "the call was cancelled")
        }
        let data = try frame(message)
        let sendHeaders = try writeState.withLock { state throws(RPCError) -> Bool in
            if state.finished { throw RPCError(code: .cancelled, message: "the call has already ended") }
            defer { state.headersSent = true }
            return !state.headersSent
        }
        activity.noteDataSent()
        do {
            if sendHeaders {
                try await writer.write([.init(frame: responseHeaders()), .init(frame: data)])
            } else {
                try await writer.write([.init(frame: data)])
            }
        } catch {
            throw RPCError(code: .cancelled, message: "the stream was closed: \(error)")
        }
    }

    /// Sends the response head (with the context's initial metadata) now, before any message;
    /// does nothing if it was already sent.
    func writeHead() async throws {
        if Task.isCancelled || !channel.isActive {
            throw RPCError(code: .cancelled, message: "the call was cancelled")
        }
        let sendHeaders = try writeState.withLock { state throws(RPCError) -> Bool in
            if state.finished { throw RPCError(code: .cancelled, message: "the call has already ended") }
            defer { state.headersSent = true }
            return !state.headersSent
        }
        guard sendHeaders else { return }
        do {
            try await writer.write([.init(frame: responseHeaders())])
        } catch {
            throw RPCError(code: .cancelled, message: "the stream was closed: \(error)")
        }
    }

    /// Claims the right to write the trailers; returns whether the head was already sent, or nil
    /// when the trailers were already written.
    private func claimFinish() -> Bool? {
        writeState.withLock { state -> Bool? in
            if state.finished { return nil }
            state.finished = true
            let sent = state.headersSent
            state.headersSent = true
            return sent
        }
    }

    private func trailersFrame(_ trailers: ResponseTrailers, headersSent: Bool) -> HTTP2Frame.FramePayload {
        .headers(.init(headers: trailers.encode(trailersOnly: !headersSent), endStream: true))
    }

    /// Ends the call with OK, optionally after one last message (unary responses go out in one
    /// flush: head, message, trailers).
    func finish(withMessage message: ByteBuffer?) async throws {
        let data = try message.map { message throws(RPCError) in try frame(message) }
        guard let headersSent = claimFinish() else { return }
        let trailers = ResponseTrailers(status: .ok, metadata: context.trailingMetadata)
        activity.noteDataSent()
        if let data {
            // Unary-style response: head, message and trailers in one event-loop hop and one flush.
            var frames: [HTTP2Frame.FramePayload] = headersSent ? [] : [responseHeaders()]
            frames.append(data)
            frames.append(trailersFrame(trailers, headersSent: true))
            try? await writer.writeAndWait(frames)
        } else {
            await writeFinal(trailersFrame(trailers, headersSent: headersSent))
        }
    }

    /// Ends the call with an error status.
    func finish(with error: RPCError) async {
        guard let headersSent = claimFinish() else { return }
        var trailers = ResponseTrailers(error: error)
        for entry in context.trailingMetadata { trailers.metadata.add(entry.key, value: entry.value) }
        await writeFinal(trailersFrame(trailers, headersSent: headersSent))
    }

    /// Writes the END_STREAM frame and waits until HTTP/2 flow control has let it (and every
    /// DATA frame before it) out, so closing the stream afterwards never drops response bytes.
    private func writeFinal(_ frame: HTTP2Frame.FramePayload) async {
        try? await writer.writeAndWait([frame])
    }

    /// Ends the call with DEADLINE_EXCEEDED from the event loop and resets the stream.
    func expire() {
        guard let headersSent = claimFinish() else { return }
        var trailers = ResponseTrailers(error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
        trailers.metadata = context.trailingMetadata
        let frame = trailersFrame(trailers, headersSent: headersSent)
        let channel = self.channel
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { _ in
            channel.close(promise: nil)
        }
        // Behind any response frames still queued; the write may wait for flow control.
        do {
            try writer.enqueue([.init(frame: frame, promise: promise)])
        } catch {
            channel.close(promise: nil)
        }
    }
}

/// Per-connection facts shared between the stream tasks and the connection handlers.
/// (Atomics stored inline: one allocation per connection, not one per counter.)
final class ServerConnectionActivity: Sendable {
    let activeStreams = Atomic<Int>(0)
    let dataEpoch = Atomic<Int>(0)
    let lastStreamID = Atomic<Int>(0)
    let draining = Atomic<Bool>(false)

    func noteDataSent() {
        dataEpoch.wrappingAdd(1, ordering: .relaxed)
    }
}
