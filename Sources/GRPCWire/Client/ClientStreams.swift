import NIOCore
import NIOHTTP2

/// Writes request messages of a client-streaming or bidirectional call, with back-pressure:
/// `write` suspends while the HTTP/2 flow-control window is exhausted.
public struct RequestWriter<Request: Sendable>: Sendable {
    let stream: ClientCallStream
    let serialize: @Sendable (Request) throws -> ByteBuffer

    /// Writes one request message.
    public func write(_ message: Request) async throws {
        let bytes: ByteBuffer
        do {
            bytes = try serialize(message)
        } catch {
            throw RPCError(code: .internal, message: "failed to serialize the request: \(error)")
        }
        try await stream.sendMessage(bytes)
    }

    /// Writes several request messages.
    public func write(contentsOf messages: some Sequence<Request>) async throws {
        for message in messages { try await write(message) }
    }
}

/// The responses of a server-streaming or bidirectional call, as an `AsyncSequence`.
///
/// Iteration ends when the server ends the call with OK and throws ``RPCError`` for any other
/// status. Iterate it once.
public struct ResponseStream<Response: Sendable>: AsyncSequence, Sendable {
    /// The element type.
    public typealias Element = Response

    let stream: ClientCallStream
    let deserialize: @Sendable (ByteBuffer) throws -> Response

    /// The initial metadata (response headers); waits for them if not yet received.
    public var initialMetadata: Metadata {
        get async throws { try await stream.receiveHead().metadata }
    }

    /// The trailing metadata; available after iteration has finished (empty before).
    public var trailingMetadata: Metadata { stream.trailers?.metadata ?? [:] }

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream, deserialize: deserialize) }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ClientCallStream
        let deserialize: @Sendable (ByteBuffer) throws -> Response

        /// The next response, or nil at the end of an OK call.
        public mutating func next() async throws -> Response? {
            guard let bytes = try await stream.nextMessage() else { return nil }
            do {
                return try deserialize(bytes)
            } catch {
                let rpcError = RPCError(code: .internal, message: "failed to deserialize a response: \(error)")
                stream.cancel()
                throw rpcError
            }
        }
    }
}
