import CQLClient
import WireCore

/// Which CQLClient failures mean Cassandra cannot serve the request now (nodes down or
/// unreachable, a lost connection, a timeout, too few replicas alive, an overloaded or
/// bootstrapping node). The chat store's queries report them as ``StoreUnavailableError``, so the
/// HTTP API answers 503 with `Retry-After` instead of 500; other errors (bad statements, type
/// mismatches, protocol violations) pass through unchanged.
enum CassandraAvailability {
    /// Runs a query, mapping unavailability to ``StoreUnavailableError``.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        try await StoreUnavailableError.mapping(store: "Cassandra", unavailability, body)
    }

    /// Why `error` means Cassandra cannot serve the request now (nil: some other failure).
    static func unavailability(_ error: any Error) -> String? {
        switch error {
        case let error as CQLConnectionError:
            switch error {
            case .closed, .timedOut, .noHostAvailable: return error.description
            case .protocolViolation: return nil
            }
        case let error as CQLServerError:
            switch error.kind {
            case .unavailable, .overloaded, .isBootstrapping, .readTimeout, .writeTimeout: return error.description
            default: return nil
            }
        default:
            return StoreUnavailableError.transportUnavailability(error)
        }
    }
}
