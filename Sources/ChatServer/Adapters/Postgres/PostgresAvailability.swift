import HTTPTypes
import Hummingbird
import PGWire
import WireCore

/// A store could not be reached (its server is down, restarting or refusing connections): the
/// request did not fail because of its input or a bug, and may succeed when retried. The HTTP
/// API answers it with 503 Service Unavailable instead of 500.
public struct StoreUnavailableError: Error, HTTPResponseError, CustomStringConvertible {
    /// Which store (e.g. `PostgreSQL`).
    public var store: String
    /// What failed underneath.
    public var reason: String

    /// An unavailable `store`, because of `reason`.
    public init(store: String, reason: String) {
        self.store = store
        self.reason = reason
    }

    public var description: String { "\(store) is unavailable: \(reason)" }

    /// 503 Service Unavailable.
    public var status: HTTPResponse.Status { .serviceUnavailable }

    /// A problem response naming the store, with `Retry-After: 1`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try APIError(.serviceUnavailable, "Service Unavailable", detail: "\(store) is unavailable; retry shortly.")
            .response(from: request, context: context)
        response.headers[.retryAfter] = "1"
        return response
    }
}

/// PGWire's ``PostgresClient`` for the PostgreSQL adapters: the same calls, with failures to
/// reach the server (refused or lost connections, a server shutting down or still starting, the
/// pool giving up or its breaker open) reported as ``StoreUnavailableError``; every other error
/// (SQLSTATEs the adapters map, bugs) passes through unchanged.
struct PostgresStoreClient: Sendable {
    let client: PostgresClient

    init(_ client: PostgresClient) { self.client = client }

    func query(_ query: PostgresQuery) async throws -> PostgresResult {
        try await Self.mapped { try await client.query(query) }
    }

    func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await Self.mapped { try await client.withTransaction(PostgresTransactionOptions(), body) }
    }

    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch {
            if let reason = unavailability(error) { throw StoreUnavailableError(store: "PostgreSQL", reason: reason) }
            throw error
        }
    }

    /// Why `error` means the server cannot be reached (nil: it is some other failure).
    static func unavailability(_ error: any Error) -> String? {
        switch error {
        case let error as PostgresError:
            switch error {
            case .connectFailed, .connectionClosed, .noSuitableHost: return error.description
            case .server(let server):
                // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now; 53300: too many connections.
                let code = server.code
                if code.errorClass == "08" || [SQLState.adminShutdown, .crashShutdown, .cannotConnectNow, .tooManyConnections].contains(code) {
                    return error.description
                }
                return nil
            default: return nil
            }
        case let error as ConnectionPoolError:
            switch error {
            case .leaseTimedOut, .circuitOpen: return error.description
            case .poolClosed, .cancelled: return nil
            }
        case let error as ConnectError:
            return "\(error)"
        default:
            return nil
        }
    }
}
