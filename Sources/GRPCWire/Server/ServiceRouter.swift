import NIOCore

/// A gRPC service implementation: registers a handler per method.
///
/// ```swift
/// struct EchoService: GRPCService {
///     func register(with router: inout ServiceRouter) {
///         router.unary(Echo.unary) { request, context in request }
///     }
/// }
/// ```
public protocol GRPCService: Sendable {
    /// Registers the service's methods.
    func register(with router: inout ServiceRouter)
}

/// The method table of a server, keyed by `:path`.
public struct ServiceRouter: Sendable {
    struct Route: Sendable {
        let service: String
        let method: String
        let handle: @Sendable (ServerCallStream) async throws -> Void
    }

    var routes: [String: Route] = [:]

    /// An empty router.
    public init() {}

    /// The registered method paths.
    public var paths: [String] { routes.keys.sorted() }

    /// Registers a unary handler.
    public mutating func unary<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        routes[descriptor.path] = Route(service: descriptor.service, method: descriptor.method) { call in
            let request = try await call.readSingleRequest(descriptor.deserializeRequest)
            let response = try await handler(request, call.context)
            try await call.finish(withMessage: try call.serializeResponse(response, descriptor.serializeResponse))
        }
    }

    /// Registers a server-streaming handler: it writes responses to the writer and returns to
    /// end the call with OK.
    public mutating func serverStreaming<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        routes[descriptor.path] = Route(service: descriptor.service, method: descriptor.method) { call in
            let request = try await call.readSingleRequest(descriptor.deserializeRequest)
            try await handler(request, ResponseWriter(call: call, serialize: descriptor.serializeResponse), call.context)
            try await call.finish(withMessage: nil)
        }
    }

    /// Registers a client-streaming handler: it reads the requests and returns the response.
    public mutating func clientStreaming<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) {
        routes[descriptor.path] = Route(service: descriptor.service, method: descriptor.method) { call in
            let response = try await handler(
                RequestStream(call: call, deserialize: descriptor.deserializeRequest), call.context)
            try await call.finish(withMessage: try call.serializeResponse(response, descriptor.serializeResponse))
        }
    }

    /// Registers a bidirectional-streaming handler.
    public mutating func bidirectionalStreaming<Request, Response>(
        _ descriptor: MethodDescriptor<Request, Response>,
        handler: @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        routes[descriptor.path] = Route(service: descriptor.service, method: descriptor.method) { call in
            try await handler(
                RequestStream(call: call, deserialize: descriptor.deserializeRequest),
                ResponseWriter(call: call, serialize: descriptor.serializeResponse), call.context)
            try await call.finish(withMessage: nil)
        }
    }
}
