import HTTPTypes
import Hummingbird
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

extension StoreUnavailableError {
    /// Runs `body`; a failure that `classify` names as `store` being unreachable (it returns the
    /// reason) is rethrown as ``StoreUnavailableError``, every other error unchanged.
    static func mapping<T>(store: String, _ classify: (any Error) -> String?, _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch {
            if let reason = classify(error) { throw StoreUnavailableError(store: store, reason: reason) }
            throw error
        }
    }

    /// Why a failure of WireCore's shared transport means the store cannot be reached (a connect
    /// refused or timed out, a pool that gave up waiting or whose breaker is open); nil for
    /// anything else. Each store's classification falls back to it.
    static func transportUnavailability(_ error: any Error) -> String? {
        switch error {
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
