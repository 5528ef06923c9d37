import ChatWire
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Metrics

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and the web page at `/`.
struct OperationalRoutes {
    let services: ChatServices
    let metrics: PrometheusMetrics
    /// Throws when a store does not answer.
    let readiness: @Sendable () async throws -> Void

    func register(on router: Router<ChatRequestContext>) {
        let online = Gauge(label: "chat_online_clients", factory: metrics)
        router.get("healthz") { _, _ in
            try json(["status": "healthy", "onlineClients": String(services.registry.onlineClients), "partitions": String(services.backplane.partitionCount)])
        }
        router.get("readyz") { _, _ -> Response in
            do {
                try await readiness()
                return try json(["status": "ready"])
            } catch {
                return try json(["status": "not ready"], status: .serviceUnavailable)
            }
        }
        router.get("metrics") { _, _ -> Response in
            online.record(services.registry.onlineClients)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json(profileCount: services.config.values.profileCount))))
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:"],
                     body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
        }
        router.get("api/realtime") { request, _ -> Response in
            guard authenticate(request, tokens: services.tokens) != nil else { throw APIError.unauthorized }
            throw APIError(.badRequest, "WebSocket upgrade required", detail: "Connect with a WebSocket client.")
        }
    }
}

/// Records `http_request_duration_seconds{method,path,status}` for every request.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: PrometheusMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let path = context.endpointPath ?? "unmatched"
        Timer(label: "http_request_duration_seconds", dimensions: [("method", request.method.rawValue), ("path", path), ("status", String(response.status.code))], factory: metrics)
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return response
    }
}
