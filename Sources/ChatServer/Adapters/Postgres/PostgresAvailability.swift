import PGWire
import WireCore

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
        try await StoreUnavailableError.mapping(store: "PostgreSQL", unavailability, body)
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
        default:
            return StoreUnavailableError.transportUnavailability(error)
        }
    }
}
