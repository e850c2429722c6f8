import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error the API reports to its client as `{"error": {"code", "message", "details"?}}`.
///
/// `code` is stable (clients match on it); `message` is for people. Anything thrown in a handler
/// that is not an `APIError` is turned into one by ``ErrorMiddleware`` — a bare 500 only for a bug,
/// never for bad input.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let details: [String: String]?
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, details: [String: String]? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public static func badRequest(_ message: String, code: String = "invalid_request") -> APIError {
        APIError(.badRequest, code: code, message)
    }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }
    public static var unauthorized: APIError {
        APIError(.unauthorized, code: "unauthorized", "a valid API key is required: Authorization: Bearer <key>",
                 headers: [.wwwAuthenticate: "Bearer realm=\"repowatch\""])
    }
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, code: "forbidden", message) }

    struct Body: Encodable {
        struct Inner: Encodable {
            let code: String
            let message: String
            let details: [String: String]?
        }
        let error: Inner
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let data = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message, details: details)))) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
