import NIOCore
import NIOHPACK

/// The client side of one call's inbound half, without I/O: HTTP/2 HEADERS and DATA payloads in,
/// response head, messages and trailers out, in the order gRPC allows.
struct ResponseStreamMachine: Sendable {
    enum HeadersEvent: Sendable {
        /// The response head (initial metadata); messages may follow.
        case head(ResponseHead)
        /// The call ended (trailers, trailers-only response or invalid response).
        case end(ResponseTrailers)
    }

    private enum State: Sendable {
        case awaitingHead
        case receivingMessages
        case finished
    }

    private var state = State.awaitingHead
    private var deframer: MessageDeframer

    init(maxMessageSize: Int) {
        self.deframer = MessageDeframer(maxMessageSize: maxMessageSize)
    }

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Handles a HEADERS payload.
    mutating func receiveHeaders(_ headers: HPACKHeaders, endStream: Bool) -> HeadersEvent {
        switch state {
        case .awaitingHead:
            let status = headers.first(name: ":status")
            guard status == "200" else {
                state = .finished
                let http = status.flatMap { Int($0) } ?? 0
                return .end(ResponseTrailers(status: Status(
                    code: StatusCode(httpStatus: http), message: "unexpected HTTP status \(status ?? "(none)")")))
            }
            if endStream {
                state = .finished
                return .end(ResponseTrailers.decode(headers))
            }
            guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc")
            else {
                state = .finished
                return .end(ResponseTrailers(status: Status(
                    code: .unknown, message: "response content-type is not application/grpc")))
            }
            var head = ResponseHead()
            if let encodingName = headers.first(name: "grpc-encoding") {
                guard let algorithm = CompressionAlgorithm(wireName: encodingName) else {
                    state = .finished
                    return .end(ResponseTrailers(status: Status(
                        code: .internal, message: "response encoding '\(encodingName)' is not supported")))
                }
                head.encoding = algorithm
                deframer.encoding = algorithm
            }
            if let accept = headers.first(name: "grpc-accept-encoding") {
                head.acceptedEncodings = CompressionAlgorithm.parseAcceptEncoding(accept)
            }
            do {
                head.metadata = try Metadata.fromHeaders(headers)
            } catch {
                state = .finished
                return .end(ResponseTrailers(error: error))
            }
            state = .receivingMessages
            return .head(head)
        case .receivingMessages:
            state = .finished
            if !endStream {
                return .end(ResponseTrailers(status: Status(
                    code: .internal, message: "protocol error: second HEADERS without END_STREAM")))
            }
            if deframer.hasPartialMessage {
                return .end(ResponseTrailers(status: Status(
                    code: .internal, message: "stream ended inside a length-prefixed message")))
            }
            return .end(ResponseTrailers.decode(headers))
        case .finished:
            return .end(ResponseTrailers(status: Status(code: .internal, message: "HEADERS after end of call")))
        }
    }

    /// Handles a DATA payload; read the messages with ``nextMessage()``.
    /// Returns trailers when the DATA is itself a protocol violation.
    mutating func receiveData(_ data: ByteBuffer, endStream: Bool) -> ResponseTrailers? {
        switch state {
        case .receivingMessages:
            deframer.append(data)
            if endStream {
                // Messages already buffered are still delivered; the missing trailers are the error.
                return ResponseTrailers(status: Status(
                    code: .internal, message: "protocol error: stream ended without trailers"))
            }
            return nil
        case .awaitingHead:
            state = .finished
            return ResponseTrailers(status: Status(code: .internal, message: "protocol error: DATA before HEADERS"))
        case .finished:
            return nil
        }
    }

    /// The next complete message buffered.
    mutating func nextMessage() throws(RPCError) -> ByteBuffer? {
        try deframer.next()
    }
}

/// The server side of one call's inbound half, without I/O: request head, then messages, then
/// the end of the request stream.
struct RequestStreamMachine: Sendable {
    private var deframer: MessageDeframer
    private(set) var receivedEnd = false

    init(maxMessageSize: Int, encoding: CompressionAlgorithm) {
        self.deframer = MessageDeframer(maxMessageSize: maxMessageSize, encoding: encoding)
    }

    /// Handles a DATA payload; read messages with ``nextMessage()``.
    mutating func receiveData(_ data: ByteBuffer, endStream: Bool) {
        deframer.append(data)
        if endStream { receivedEnd = true }
    }

    /// Handles trailers sent by a client (allowed by HTTP/2, unused by gRPC): ends the stream.
    mutating func receiveTrailers() {
        receivedEnd = true
    }

    /// The next complete message. After the end of the stream a partial message is an error.
    mutating func nextMessage() throws(RPCError) -> ByteBuffer? {
        if let message = try deframer.next() { return message }
        if receivedEnd && deframer.hasPartialMessage {
            throw RPCError(code: .internal, message: "request stream ended inside a length-prefixed message")
        }
        return nil
    }
}
