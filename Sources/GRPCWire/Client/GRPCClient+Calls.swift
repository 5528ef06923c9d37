import NIOCore

extension GRPCClient {
    private func serialize<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>, _ request: Request
    ) throws(RPCError) -> ByteBuffer {
        do {
            return try descriptor.serializeRequest(request)
        } catch {
            throw RPCError(code: .internal, message: "failed to serialize the request: \(error)")
        }
    }

    private static func readSingleResponse<Response>(
        _ stream: ClientCallStream, _ deserialize: (ByteBuffer) throws -> Response
    ) async throws -> ClientResponse<Response> {
        let head = try await stream.receiveHead()
        guard let bytes = try await stream.nextMessage() else {
            throw RPCError(code: .unimplemented, message: "the server ended the call without a response message")
        }
        // Drain to the trailers: a second message is a protocol violation.
        if try await stream.nextMessage() != nil {
            stream.cancel()
            throw RPCError(code: .unimplemented, message: "the server sent more than one response message")
        }
        let response: Response
        do {
            response = try deserialize(bytes)
        } catch {
            throw RPCError(code: .internal, message: "failed to deserialize the response: \(error)")
        }
        return ClientResponse(
            message: response, initialMetadata: head.metadata,
            trailingMetadata: stream.trailers?.metadata ?? [:])
    }

    /// Makes a unary call and returns the response message.
    ///
    /// - Throws: ``RPCError`` when the call ends with a status other than OK.
    public func unary<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> Response {
        try await unaryCall(descriptor, request, options: options).message
    }

    /// Makes a unary call and returns the response with its initial and trailing metadata.
    public func unaryCall<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> ClientResponse<Response> {
        let bytes = try serialize(descriptor, request)
        return try await perform(descriptor, options: options) { stream in
            try await stream.sendMessage(bytes, endStream: true)
            return try await Self.readSingleResponse(stream, descriptor.deserializeResponse)
        }
    }

    /// Makes a server-streaming call; `handle` iterates the responses. The stream is cancelled
    /// (RST_STREAM) if `handle` returns or throws before the end.
    ///
    /// `handle` runs in the caller's isolation (the method is `nonisolated(nonsending)`): called
    /// from an actor, it may read and change the actor's state directly.
    public nonisolated(nonsending) func serverStreaming<Request, Response, Result: Sendable>(
        _ descriptor: MethodDescriptor<Request, Response>, _ request: Request, options: CallOptions = CallOptions(),
        handle: (ResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        let bytes = try serialize(descriptor, request)
        return try await perform(descriptor, options: options) { stream in
            try await stream.sendMessage(bytes, endStream: true)
            // Known to be on the wire before `handle` runs, so a refused stream can be retried.
            try await stream.sendHead()
            stream.handedToCaller = true
            return try await handle(ResponseStream(stream: stream, deserialize: descriptor.deserializeResponse))
        }
    }

    /// Makes a client-streaming call: `requests` writes the request messages (the request stream
    /// ends when it returns), then the single response is returned. `requests` runs in the
    /// caller's isolation.
    public nonisolated(nonsending) func clientStreaming<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>, options: CallOptions = CallOptions(),
        requests: (RequestWriter<Request>) async throws -> Void
    ) async throws -> ClientResponse<Response> {
        try await perform(descriptor, options: options) { stream in
            try await stream.sendHead()
            stream.handedToCaller = true
            try await requests(RequestWriter(stream: stream, serialize: descriptor.serializeRequest))
            try await stream.finishSending()
            return try await Self.readSingleResponse(stream, descriptor.deserializeResponse)
        }
    }

    /// Makes a bidirectional-streaming call. `requests` runs concurrently with `onResponse`; the
    /// request stream ends when `requests` returns. The call ends when `onResponse` returns.
    /// `requests` runs concurrently (it is `@Sendable`); `onResponse` runs in the caller's isolation.
    public nonisolated(nonsending) func bidirectionalStreaming<Request, Response, Result: Sendable>(
        _ descriptor: MethodDescriptor<Request, Response>, options: CallOptions = CallOptions(),
        requests: @escaping @Sendable (RequestWriter<Request>) async throws -> Void,
        onResponse: (ResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await perform(descriptor, options: options) { stream in
            try await stream.sendHead()
            stream.handedToCaller = true
            return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
                group.addTask {
                    do {
                        try await requests(RequestWriter(stream: stream, serialize: descriptor.serializeRequest))
                        try await stream.finishSending()
                    } catch {
                        // A failed request side ends the call.
                        stream.cancel()
                        throw error
                    }
                }
                let result = try await onResponse(
                    ResponseStream(stream: stream, deserialize: descriptor.deserializeResponse))
                try await group.waitForAll()
                return result
            }
        }
    }
}
