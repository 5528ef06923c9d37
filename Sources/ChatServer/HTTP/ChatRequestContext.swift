import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the chat API: the caller's identity once authenticated.
public struct ChatRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<ChatRequestContext>
    /// Set by the authentication middleware.
    public var identity: Identity?
    /// The connection's channel (after a WebSocket upgrade, the WebSocket's: its frames are
    /// written straight to it, batched).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        webSocket = .init()
        identity = nil
    }

    /// Uploads are limited to the reference's 540,672 bytes per request.
    public var maxUploadSize: Int { 540_672 }

    /// The authenticated identity, or 401.
    func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError.unauthorized }
        return identity
    }
}

/// Validates the bearer token (header, or `access_token` query parameter for browsers' WebSocket)
/// and stores the identity in the context; 401 otherwise.
struct AuthMiddleware: RouterMiddleware {
    let tokens: TokenService

    func handle(_ request: Request, context: ChatRequestContext, next: (Request, ChatRequestContext) async throws -> Response) async throws -> Response {
        guard let identity = authenticate(request, tokens: tokens) else { throw APIError.unauthorized }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }
}

/// The identity of a request's bearer token, if valid.
func authenticate(_ request: Request, tokens: TokenService) -> Identity? {
    var token: String?
    if let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " {
        token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    } else if let query = request.uri.queryParameters.get("access_token") {
        token = query
    }
    guard let token else { return nil }
    return try? tokens.verify(token)
}
