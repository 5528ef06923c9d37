import ChatWire
import Foundation
import HTTPTypes
import Hummingbird

/// An API failure rendered as RFC 7807 `application/problem+json`.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var problem: ProblemDetails

    init(_ status: HTTPResponse.Status, _ title: String, detail: String? = nil, errors: [String: [String]]? = nil) {
        self.status = status
        self.problem = ProblemDetails(type: nil, title: title, status: Int(status.code), detail: detail, errors: errors)
    }

    static func validation(_ failures: [ValidationFailure]) -> APIError {
        var errors: [String: [String]] = [:]
        for failure in failures { errors[failure.property, default: []].append(failure.message) }
        return APIError(.badRequest, "One or more validation errors occurred.", errors: errors)
    }

    static let unauthorized = APIError(.unauthorized, "Unauthorized", detail: "A valid bearer token is required.")

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = ByteBuffer()
        body.writeBytes((try? JSONEncoder().encode(problem)) ?? Data("{}".utf8))
        return Response(status: status, headers: [.contentType: "application/problem+json"], body: .init(byteBuffer: body))
    }
}

/// Turns every error into a problem response: API errors and unavailable stores as they are,
/// framework errors with their status, anything else as a logged 500.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as StoreUnavailableError {
            // Its own response: the problem names the store and carries Retry-After.
            return try error.response(from: request, context: context)
        } catch let error as RemoteRoleError {
            return try APIError(.init(code: error.httpStatus), error.isUnavailable ? "Service unavailable" : "Internal server error", detail: error.description).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            let title = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            return try APIError(error.status, title).response(from: request, context: context)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return try APIError(.internalServerError, "Internal server error").response(from: request, context: context)
        }
    }
}

/// JSON response helper.
func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    var body = ByteBuffer()
    body.writeBytes(try JSONEncoder().encode(value))
    return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
}

/// Reads and decodes a JSON body of at most `limit` bytes: 413 if larger, 415 if not JSON, 400 if malformed.
func decodeJSON<T: Decodable>(_ type: T.Type, from request: Request, limit: Int = 16 * 1024) async throws -> T {
    if let contentType = request.headers[.contentType], !contentType.lowercased().hasPrefix("application/json") {
        throw APIError(.unsupportedMediaType, "Unsupported media type", detail: "Send application/json.")
    }
    let buffer: ByteBuffer
    do {
        buffer = try await request.body.collect(upTo: limit)
    } catch {
        throw APIError(.contentTooLarge, "Request body too large", detail: "At most \(limit) bytes are accepted.")
    }
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
    } catch let DecodingError.keyNotFound(key, _) {
        throw APIError(.badRequest, "Malformed request", detail: "Missing property '\(key.stringValue)'.")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        throw APIError(.badRequest, "Malformed request", detail: "Wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'.")
    } catch let DecodingError.dataCorrupted(context) {
        throw APIError(.badRequest, "Malformed request", detail: "Invalid value at '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
    } catch {
        throw APIError(.badRequest, "Malformed JSON", detail: "The body is not valid JSON.")
    }
}
