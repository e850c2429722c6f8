import Foundation
import Hummingbird
import Logging
import NIOCore
import Store

/// Turns every error into the API's JSON error shape, so a client never sees Hummingbird's
/// default body or an empty 500. A database that cannot be reached (or whose disk is full) is a 503 with
/// `Retry-After`, not a 500. Unexpected errors are logged with their detail and reported to the client
/// without it (a database error may name internals).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.apiError(for: error, request: request, logger: context.logger).response(from: request, context: context)
        }
    }

    static func apiError(for error: any Error, request: Request, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            let code: String
            let message: String
            switch error.status {
            case .notFound:
                if let allowed = OpenAPIDocument.allowedMethods(for: request.uri.path) {
                    return APIError(
                        .methodNotAllowed, code: "method_not_allowed",
                        "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))",
                        headers: [.allow: allowed.joined(separator: ", ")])
                }
                code = "not_found"
                message = "no route for \(request.method.rawValue) \(request.uri.path)"
            case .contentTooLarge:
                code = "payload_too_large"
                message = "the request body is too large"
            default:
                code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
                message = error.body ?? error.status.reasonPhrase
            }
            return APIError(error.status, code: code, message, headers: error.headers)
        case is NIOTooManyBytesError:
            return APIError(.contentTooLarge, code: "payload_too_large", "the request body is too large")
        default:
            if let unavailable = StoreUnavailable.classify(error) {
                // The database's state, not the request: the client may try again (nothing was written).
                logger.warning("request refused: \(unavailable.rawValue)", metadata: [
                    "error": "\(String(reflecting: error))", "path": "\(request.uri.path)",
                ])
                return APIError(.serviceUnavailable, code: unavailable.rawValue, unavailable.message, headers: [.retryAfter: "1"])
            }
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return APIError(.internalServerError, code: "internal", "internal error; the server log has the details")
        }
    }
}
