/// Per-call options.
public struct CallOptions: Sendable {
    /// The call's timeout, sent as `grpc-timeout`; the call fails with
    /// ``StatusCode/deadlineExceeded`` when it expires.
    public var timeout: Duration?
    /// Request metadata.
    public var metadata: Metadata
    /// The compression of request messages; nil uses the client's configured default.
    public var compression: CompressionAlgorithm?

    /// Creates options.
    public init(timeout: Duration? = nil, metadata: Metadata = [:], compression: CompressionAlgorithm? = nil) {
        self.timeout = timeout
        self.metadata = metadata
        self.compression = compression
    }
}

/// A unary or client-streaming response with its metadata.
public struct ClientResponse<Message: Sendable>: Sendable {
    /// The response message.
    public var message: Message
    /// The initial metadata (response headers).
    public var initialMetadata: Metadata
    /// The trailing metadata.
    public var trailingMetadata: Metadata
}

/// What a client interceptor sees of a call, and may change before passing it on.
public struct ClientCallInfo: Sendable {
    /// The method's service name.
    public let service: String
    /// The method name.
    public let method: String
    /// The call kind.
    public let kind: CallKind
    /// The options the call will be made with; interceptors may add metadata or change the timeout.
    public var options: CallOptions
}

/// Intercepts client calls, e.g. to add authentication metadata or record metrics.
///
/// ```swift
/// struct Auth: ClientInterceptor {
///     func intercept(_ call: ClientCallInfo, next: (ClientCallInfo) async throws -> Void) async throws {
///         var call = call
///         call.options.metadata.add("authorization", "Bearer t")
///         try await next(call)
///     }
/// }
/// ```
public protocol ClientInterceptor: Sendable {
    /// Runs the call by calling `next` (exactly once), optionally with changed call info.
    /// Errors thrown by `next` are the call's errors (usually ``RPCError``).
    ///
    /// `nonisolated(nonsending)`: it runs in the isolation of the code making the call, like the
    /// call's own closures. Conformances may be plain `func intercept(...)` as well.
    nonisolated(nonsending) func intercept(_ call: ClientCallInfo, next: (ClientCallInfo) async throws -> Void) async throws
}
