import Crypto
import Domain
import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import Settings
import Store

/// The dashboard's sign-in: the session cookie, the CSRF tokens, and the middleware that resolves a session to a
/// ``Caller`` for the pages.
///
/// - The session cookie (`rw_session`) holds 256 random bits; the store keeps only their SHA-256, belonging to the API
///   key signed in with (revoking the key ends the session). `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` per
///   `dashboard.secure_cookie`.
/// - A form's CSRF token is an HMAC of the session's token (so nothing more is stored, and it changes with each
///   sign-in). The sign-in form, before any session, is bound the same way to a short-lived `rw_signin` cookie.
/// - Cookies never authenticate `/v1`: only ``AuthMiddleware`` (bearer keys) guards it.
struct DashboardSession: Sendable {
    let store: any Store
    let settings: Settings

    static let sessionCookie = "rw_session"
    static let signInCookie = "rw_signin"
    /// The form field every dashboard form carries.
    static let csrfField = "csrf_token"

    /// The caller of a request's session cookie, with the token; nil without a valid session.
    func resolve(_ request: Request) async throws -> (caller: Caller, token: String)? {
        guard let token = request.cookies[Self.sessionCookie]?.value, DashboardSessions.looksValid(token) else { return nil }
        guard let caller = try await store.read({ try await $0.caller(session: token) }) else { return nil }
        return (caller, token)
    }

    /// The CSRF token of the forms of a session (or of the sign-in form, from its `rw_signin` cookie).
    static func csrfToken(for secret: String, purpose: String = "session") -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("repowatch-csrf:\(purpose)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return WatchlistController.hex(code)
    }

    /// Compares in time independent of where the texts differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// Whether cookies get `Secure`: always, never, or when a TLS-terminating proxy says the request came over https.
    func secure(_ request: Request) -> Bool {
        switch settings.dashboard.secureCookie {
        case "always": true
        case "never": false
        default: request.headers[.xForwardedProto]?.lowercased() == "https"
        }
    }

    func sessionCookie(_ token: String, request: Request) -> Cookie {
        Cookie(
            name: Self.sessionCookie, value: token, maxAge: Int(settings.dashboard.sessionTTL.components.seconds), path: "/",
            secure: secure(request), httpOnly: true, sameSite: .strict)
    }

    func expired(_ name: String, path: String, request: Request) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: path, secure: secure(request), httpOnly: true, sameSite: .strict)
    }

    func signInCookie(_ value: String, request: Request) -> Cookie {
        Cookie(name: Self.signInCookie, value: value, maxAge: 3600, path: "/sign-in", secure: secure(request), httpOnly: true, sameSite: .strict)
    }
}

extension HTTPField.Name {
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

/// Guards the dashboard's pages: a request without a valid session is sent to the sign-in page; a POST must carry the
/// session's CSRF token in its form (403 otherwise). The parsed form is handed to the route in the context, so no
/// route can read a form that was not checked.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let session: DashboardSession
    let pages: DashboardPages

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (caller, token) = try await session.resolve(request) else {
            return DashboardPages.redirect("/sign-in")
        }
        var context = context
        context.caller = caller
        context.sessionToken = token
        context.logger[metadataKey: "user"] = "\(caller.userName)"
        if request.method == .post {
            let form: [String: String]
            do {
                form = try await DashboardForm.read(request, maxBytes: session.settings.maxBodyBytes)
            } catch let error as APIError {
                return pages.message(error.status, title: "Too large", session: pages.sessionView(caller: caller, token: token), error.message)
            }
            let expected = DashboardSession.csrfToken(for: token)
            guard let sent = form[DashboardSession.csrfField], DashboardSession.same(sent, expected) else {
                return pages.message(
                    .forbidden, title: "Forbidden", session: pages.sessionView(caller: caller, token: token),
                    "The form was refused: its CSRF token is missing or out of date. Go back, reload the page and send it again.")
            }
            context.form = form
        }
        return try await next(request, context)
    }
}

/// An `application/x-www-form-urlencoded` body as name → value (a repeated name: the last value).
enum DashboardForm {
    static func read(_ request: Request, maxBytes: Int) async throws -> [String: String] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw APIError(.contentTooLarge, code: "body_too_large", "the form is larger than \(maxBytes) bytes")
        }
        return parse(String(buffer: buffer))
    }

    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String? {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }
}
