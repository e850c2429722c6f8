import Dashboard
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Store

/// Renders the dashboard's views into responses, with the headers every page carries.
struct DashboardPages: Sendable {
    let pages = Pages()

    /// Scripts, styles and images from this origin only (no inline script or style anywhere); no framing.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xFrameOptions: "DENY",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "same-origin",
        .cacheControl: "no-store",
    ]

    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    /// 303 See Other: after a form, the browser GETs the page (a reload does not send the form again).
    static func redirect(_ location: String, cookies: [Cookie] = []) -> Response {
        var response = Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    func sessionView(caller: Caller, token: String) -> SessionView {
        SessionView(userName: caller.userName, isAdmin: caller.isAdmin, csrfToken: DashboardSession.csrfToken(for: token))
    }

    func sessionView(_ context: AppRequestContext) throws -> SessionView {
        guard let caller = context.caller, let token = context.sessionToken else { throw APIError.unauthorized }
        return sessionView(caller: caller, token: token)
    }

    func message(_ status: HTTPResponse.Status, title: String, session: SessionView?, _ text: String) -> Response {
        Self.html(pages.render(MessagePage(title: title, session: session, message: text)), status: status)
    }

    func notFound(_ session: SessionView?) -> Response {
        message(.notFound, title: "Not found", session: session, "There is no such page, or it is not yours to see.")
    }
}

/// The dashboard's pages turn errors into pages, not JSON: an entry of someone else is the same 404 page as a missing
/// one, a refused request says why, and anything unexpected is a 500 page (logged) rather than a broken one.
struct DashboardErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let pages: DashboardPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            // One classification of errors for the API and the pages (a database outage is a 503, a bug a logged 500).
            let error = ErrorMiddleware.apiError(for: error, request: request, logger: context.logger)
            let session = try? pages.sessionView(context)
            switch error.status {
            case .notFound, .methodNotAllowed: return pages.notFound(session)
            case .unauthorized: return DashboardPages.redirect("/sign-in")
            default:
                var response = pages.message(error.status, title: error.status.reasonPhrase, session: session, error.message)
                if let retry = error.headers[.retryAfter] { response.headers[.retryAfter] = retry }
                return response
            }
        }
    }
}
