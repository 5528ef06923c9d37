import NIOCore

/// The request messages of a client-streaming or bidirectional call, as an `AsyncSequence`.
/// Iteration ends when the client ends its request stream. Iterate it once.
public struct RequestStream<Request: Sendable>: AsyncSequence, Sendable {
    /// The element type.
    public typealias Element = Request

    let call: ServerCallStream
    let deserialize: @Sendable (ByteBuffer) throws -> Request

    /// Creates the iterator.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call, deserialize: deserialize) }

    /// The iterator.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: ServerCallStream
        let deserialize: @Sendable (ByteBuffer) throws -> Request

        /// The next request message, or nil at the end of the request stream.
        public mutating func next() async throws -> Request? {
            guard let bytes = try await call.readMessage() else { return nil }
            do {
                return try deserialize(bytes)
            } catch {
                throw RPCError(code: .invalidArgument, message: "failed to deserialize a request: \(error)")
            }
        }
    }
}

/// Writes the response messages of a server-streaming or bidirectional call, with
/// back-pressure: `write` suspends while the client's flow-control window is exhausted.
public struct ResponseWriter<Response: Sendable>: Sendable {
    let call: ServerCallStream
    let serialize: @Sendable (Response) throws -> ByteBuffer

    /// Writes one response message (the response headers go first, with the context's initial
    /// metadata).
    public func write(_ message: Response) async throws {
        let bytes: ByteBuffer
        do {
            bytes = try serialize(message)
        } catch {
            throw RPCError(code: .internal, message: "failed to serialize a response: \(error)")
        }
        try await call.writeMessage(bytes)
    }

    /// Writes several response messages.
    public func write(contentsOf messages: some Sequence<Response>) async throws {
        for message in messages { try await write(message) }
    }
    /// Sends the response headers (with the context's initial metadata) at once, so the client
    /// sees them before the first message, e.g. to learn that a long-lived stream is ready.
    /// Does nothing once the headers went out.
    public func writeInitialMetadata() async throws {
        try await call.writeHead()
    }
}
