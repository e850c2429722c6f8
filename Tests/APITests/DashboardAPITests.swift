import Crypto
import Domain
import Foundation
import HTTPTypes
import NIOCore
import Queue
import Store
import TestSupport
import Testing

/// The dashboard's sessions, forms and badges over real HTTP, on both engines. (The pages in a real browser:
/// `DashboardBrowserTests`.)
@Suite("Dashboard over HTTP")
struct DashboardAPITests {
    /// A client that keeps cookies like a browser (name → value; expired ones dropped).
    final class Browser: @unchecked Sendable {
        let api: APIHarness
        var cookies: [String: String] = [:]
        var lastSetCookies: [String] = []

        init(_ api: APIHarness) { self.api = api }

        @discardableResult
        func send(_ method: HTTPRequest.Method, _ path: String, form: [String: String]? = nil, headers extra: HTTPFields = [:]) async throws -> APIHarness.Reply {
            var headers = extra
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            var body: String?
            if let form {
                headers[.contentType] = "application/x-www-form-urlencoded"
                body = form.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }.joined(separator: "&")
            }
            let reply = try await api.request(method, path, json: body, contentType: nil, headers: headers)
            lastSetCookies = reply.headers[values: .setCookie]
            for header in lastSetCookies {
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                guard pair.count == 2 else { continue }
                if header.contains("Max-Age=0") { cookies[pair[0]] = nil } else { cookies[pair[0]] = pair[1] }
            }
            return reply
        }

        static func encode(_ text: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
        }

        /// The page's first CSRF token (every form of a page carries the same one).
        func csrf(_ reply: APIHarness.Reply) -> String? {
            let html = String(buffer: reply.body)
            guard let range = html.range(of: #"name="csrf_token" value=""#) else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }

        /// Signs in with `key` as the sign-in form does; returns the watchlist page's reply.
        @discardableResult
        func signIn(_ key: String) async throws -> APIHarness.Reply {
            let form = try await send(.get, "/sign-in")
            let token = try #require(csrf(form))
            let reply = try await send(.post, "/sign-in", form: ["api_key": key, "csrf_token": token])
            #expect(reply.status == .seeOther && reply.headers[.location] == "/watchlist", "\(reply.status) \(String(buffer: reply.body))")
            return try await send(.get, "/watchlist")
        }
    }

    static func html(_ reply: APIHarness.Reply) -> String { String(buffer: reply.body) }

    /// Sees every entry (for reading what a page wrote).
    static let admin = Caller(userID: UUID(), userName: "test", keyID: UUID(), isAdmin: true)

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    @Test(arguments: Engine.allCases)
    func aSessionIsAHashedTokenInAStrictCookieAndEndsWithItsKeyOrSignOut(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let key = try await api.key(for: "alice")
            let browser = Browser(api)
            // Without a session every page leads to the sign-in form.
            let before = try await browser.send(.get, "/watchlist")
            #expect(before.status == .seeOther && before.headers[.location] == "/sign-in")
            let page = try await browser.signIn(key)
            #expect(page.status == .ok && Self.html(page).contains("Signed in as <strong>alice</strong>"))
            // The cookie: HttpOnly, SameSite=Strict, whole site, not Secure on plain HTTP (dashboard.secure_cookie=auto).
            let signIn = try await { () async throws -> [String] in
                let b = Browser(api)
                let form = try await b.send(.get, "/sign-in")
                _ = try await b.send(.post, "/sign-in", form: ["api_key": key, "csrf_token": try #require(b.csrf(form))])
                return b.lastSetCookies
            }()
            let cookie = try #require(signIn.first { $0.hasPrefix("rw_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/") && !cookie.contains("Secure"), "\(cookie)")
            // Behind a TLS-terminating proxy the cookie is Secure.
            let proxied = Browser(api)
            let proxiedForm = try await proxied.send(.get, "/sign-in", headers: [.init("X-Forwarded-Proto")!: "https"])
            _ = try await proxied.send(
                .post, "/sign-in", form: ["api_key": key, "csrf_token": try #require(proxied.csrf(proxiedForm))],
                headers: [.init("X-Forwarded-Proto")!: "https"])
            #expect(proxied.lastSetCookies.first { $0.hasPrefix("rw_session=") }?.contains("Secure") == true)

            // Only the token's hash is stored.
            let token = try #require(browser.cookies["rw_session"])
            let stored = try await api.store.read { try await $0.query("SELECT token_hash FROM dashboard_sessions").map { try $0.require("token_hash", $0.string) } }
            #expect(stored.count == 3 && stored.contains(DashboardSessions.hash(token)) && !stored.contains(token))

            // A cookie never authenticates the JSON API.
            let json = try await browser.send(.get, "/v1/watchlist")
            #expect(json.status == .unauthorized)

            // Revoking the key ends its sessions at once.
            let keyID = try #require(try await api.store.read { try await $0.caller(presenting: key) }?.keyID)
            #expect(try await api.store.transaction { try await $0.revokeAPIKey(keyID.lowercased) } == 1)
            let revoked = try await browser.send(.get, "/watchlist")
            #expect(revoked.status == .seeOther && revoked.headers[.location] == "/sign-in")

            // Sign-out deletes the session: the old cookie is worth nothing afterwards.
            let bob = Browser(api)
            try await bob.signIn(try await api.key(for: "bob"))
            let bobToken = try #require(bob.cookies["rw_session"])
            let watchlist = try await bob.send(.get, "/watchlist")
            let out = try await bob.send(.post, "/sign-out", form: ["csrf_token": try #require(bob.csrf(watchlist))])
            #expect(out.status == .seeOther && out.headers[.location] == "/sign-in?signed_out=1")
            #expect(bob.cookies["rw_session"] == nil, "the cookie is cleared")
            bob.cookies["rw_session"] = bobToken
            #expect(try await bob.send(.get, "/watchlist").status == .seeOther)
            #expect(try await api.store.read { try await $0.caller(session: bobToken) } == nil)
        }
    }

    @Test(arguments: Engine.allCases)
    func formsWithoutTheirCSRFTokenAreRefusedAndChangeNothing(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let browser = Browser(api)
            try await browser.signIn(try await api.key(for: "alice"))
            let entries = try await api.count("watchlist_entries")
            for form in [["repo_url": "https://github.com/a/b"], ["repo_url": "https://github.com/a/b", "csrf_token": "0" + String(repeating: "a", count: 63)]] {
                let refused = try await browser.send(.post, "/watchlist", form: form)
                #expect(refused.status == .forbidden && Self.html(refused).contains("CSRF"), "\(refused.status)")
            }
            #expect(try await api.count("watchlist_entries") == entries)
            // Sign-out too (else a page elsewhere could sign a user out).
            #expect(try await browser.send(.post, "/sign-out", form: [:]).status == .forbidden)
            #expect(try await browser.send(.get, "/watchlist").status == .ok)
            // Another session's token does not pass: tokens are bound to their session.
            let other = Browser(api)
            let otherPage = try await other.signIn(try await api.key(for: "bob"))
            let foreign = try #require(other.csrf(otherPage))
            #expect(try await browser.send(.post, "/watchlist", form: ["repo_url": "https://github.com/a/b", "csrf_token": foreign]).status == .forbidden)
            // The sign-in form is bound to its own cookie.
            let fresh = Browser(api)
            #expect(try await fresh.send(.post, "/sign-in", form: ["api_key": try await api.key(for: "carol")]).status == .forbidden)
        }
    }

    @Test(arguments: Engine.allCases)
    func addingShowsTheAPIsMessagesNextToTheFieldsAndSavesAlertRules(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let browser = Browser(api)
            let page = try await browser.signIn(try await api.key(for: "alice"))
            let csrf = try #require(browser.csrf(page))
            // Refused: the URL's and the rule's messages, each next to its field; the form keeps what was typed.
            let refused = try await browser.send(
                .post, "/watchlist", form: ["csrf_token": csrf, "repo_url": "ftp://example.com/x", "notes": "keep <me>", "score_below": "500"])
            let html = Self.html(refused)
            #expect(refused.status == .unprocessableContent)
            #expect(html.contains(#"<p class="field-error" id="repo_url-error">"#) && html.contains(#"<p class="field-error" id="score_below-error">"#))
            #expect(html.contains("keep &lt;me&gt;") && html.contains(#"value="500""#))
            #expect(try await api.count("watchlist_entries") == 0)
            let notNumber = Self.html(try await browser.send(.post, "/watchlist", form: ["csrf_token": csrf, "repo_url": "https://github.com/a/b", "inactive_days": "soon"]))
            #expect(notNumber.contains(#"id="inactive_days-error""#))

            // Accepted: 303 to the watchlist, with the rules as the API stores them.
            let added = try await browser.send(
                .post, "/watchlist",
                form: ["csrf_token": csrf, "repo_url": "https://github.com/Pallets/Flask", "score_below": "55", "check_regressed": "any", "failed": "on"])
            #expect(added.status == .seeOther && added.headers[.location] == "/watchlist?done=added")
            let list = try await api.store.read { try await $0.listEntries(visibleTo: Self.admin, status: nil, after: nil, limit: 10) }
            let entry = try #require(list.first)
            #expect(JSONValue.parse(Data(entry.entry.alertsJSON.utf8)) == .object([
                "score_below": .int(55), "check_regressed": .string("any"), "failed": .bool(true), "processing": .bool(false),
            ]) || entry.entry.alertsJSON.contains("\"score_below\":55"), "\(entry.entry.alertsJSON)")
            let id = entry.entry.id.lowercased
            let watchlist = Self.html(try await browser.send(.get, "/watchlist?done=added"))
            #expect(watchlist.contains(#"<tr data-entry-id="\#(id)" data-status="processing">"#))
            #expect(watchlist.contains(#"<p id="flash" class="notice" role="status">Added: it is being processed.</p>"#))

            // The editor shows the stored rules and saves new ones.
            let repository = try await browser.send(.get, "/watchlist/\(id)")
            #expect(repository.status == .ok && Self.html(repository).contains(#"name="score_below" inputmode="decimal" value="55""#))
            let saved = try await browser.send(.post, "/watchlist/\(id)/alerts", form: ["csrf_token": csrf, "metric": "scorecard", "score_below": "6.5"])
            #expect(saved.status == .seeOther && saved.headers[.location] == "/watchlist/\(id)?done=saved")
            let stored = try #require(try await api.store.read { try await $0.listEntries(visibleTo: Self.admin, status: nil, after: nil, limit: 1) }.first)
            #expect(stored.entry.alertsJSON.contains("\"metric\":\"scorecard\"") && stored.entry.alertsJSON.contains("6.5"), "\(stored.entry.alertsJSON)")
            let invalid = try await browser.send(.post, "/watchlist/\(id)/alerts", form: ["csrf_token": csrf, "metric": "scorecard", "score_below": "60"])
            #expect(invalid.status == .unprocessableContent && Self.html(invalid).contains(#"id="score_below-error""#))
            let unchanged = try #require(try await api.store.read { try await $0.listEntries(visibleTo: Self.admin, status: nil, after: nil, limit: 1) }.first)
            #expect(unchanged.entry.alertsJSON == stored.entry.alertsJSON)

            // Delete, with its confirmation page.
            let confirm = try await browser.send(.get, "/watchlist/\(id)/delete")
            #expect(confirm.status == .ok && Self.html(confirm).contains(#"<form id="delete-entry" method="post" action="/watchlist/\#(id)/delete">"#))
            let deleted = try await browser.send(.post, "/watchlist/\(id)/delete", form: ["csrf_token": csrf])
            #expect(deleted.status == .seeOther && deleted.headers[.location] == "/watchlist?done=deleted")
            #expect(try await api.count("watchlist_entries") == 0)
        }
    }

    @Test(arguments: Engine.allCases)
    func anotherUsersEntryAndTheAdminPageAreNotFound(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let aliceKey = try await api.key(for: "alice", admin: true)
            let created = try await api.request(.post, "/v1/watchlist", key: aliceKey, json: #"{"repo_url": "https://github.com/a/b"}"#)
            let id = try #require(created.string("id"))
            let bob = Browser(api)
            let page = try await bob.signIn(try await api.key(for: "bob"))
            let csrf = try #require(bob.csrf(page))
            for path in ["/watchlist/\(id)", "/watchlist/\(id)/row", "/watchlist/\(id)/delete", "/watchlist/\(id)/events", "/admin"] {
                let reply = try await bob.send(.get, path)
                #expect(reply.status == .notFound && Self.html(reply).contains("<h1 id=\"message-heading\">Not found</h1>"), "\(path): \(reply.status)")
            }
            for path in ["/watchlist/\(id)/delete", "/watchlist/\(id)/alerts", "/watchlist/\(id)/recheck", "/admin/jobs/1/retry"] {
                #expect(try await bob.send(.post, path, form: ["csrf_token": csrf]).status == .notFound, "\(path)")
            }
            #expect(try await api.count("watchlist_entries") == 1)
            // Alice, an admin, sees the queues, and her page.
            let alice = Browser(api)
            try await alice.signIn(aliceKey)
            let admin = try await alice.send(.get, "/admin")
            #expect(admin.status == .ok && Self.html(admin).contains(#"<tr data-queue="repository-setup">"#))
            #expect(try await alice.send(.get, "/watchlist/\(id)").status == .ok)
        }
    }

    @Test(arguments: Engine.allCases)
    func anAdminRetriesADiscardedJobFromTheAdminPage(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            var options = JobOptions()
            options.maxAttempts = 1
            let job = try await api.queue.enqueue(NoopJob(), options: options).jobID
            let claimed = try #require(try await api.queue.claim(queue: NoopJob.queue, limit: 1, owner: "test").first)
            #expect(try await api.queue.fail(claimed, error: Failure(description: "boom <b>")) == .discarded)
            let alice = Browser(api)
            let page = try await alice.signIn(try await api.key(for: "alice", admin: true))
            let admin = Self.html(try await alice.send(.get, "/admin"))
            #expect(admin.contains(#"<tr data-job-id="\#(job)">"#) && admin.contains("boom &lt;b&gt;"), "\(admin)")
            let retried = try await alice.send(.post, "/admin/jobs/\(job)/retry", form: ["csrf_token": try #require(alice.csrf(page))])
            #expect(retried.status == .seeOther && retried.headers[.location] == "/admin?done=job")
            #expect(try await api.queue.job(id: job)?.state == .available)
        }
    }

    @Test(arguments: Engine.allCases)
    func aBadgeIsServedForWatchedPublicRepositoriesOnly(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let key = try await api.key(for: "alice")
            let added = try await api.request(.post, "/v1/watchlist", key: key, json: #"{"repo_url": "https://github.com/Pallets/Flask"}"#)
            let repositoryID = try #require(added.string("repository_id").flatMap(UUID.init(uuidString:)))
            try await api.store.transaction { try await $0.execute("UPDATE repositories SET health_score = 83.4 WHERE id = \(repositoryID)") }
            // Paths on github.com ignore case, as when the repository was added.
            for path in ["/badge/github.com/pallets/flask.svg", "/badge/github.com/Pallets/Flask.svg"] {
                let badge = try await api.request(.get, path)
                #expect(badge.status == .ok && badge.headers[.contentType] == "image/svg+xml; charset=utf-8", "\(path)")
                #expect(String(buffer: badge.body).contains(">83<"))
                #expect(badge.headers[.cacheControl] == "public, max-age=300")
                let etag = try #require(badge.headers[.eTag])
                #expect(try await api.request(.get, path, headers: [.ifNoneMatch: etag]).status == .notModified)
            }
            // A private repository (watched with a token), an unwatched one, and nonsense: the same 404.
            let secret = try await api.request(.post, "/v1/watchlist", key: key, json: #"{"repo_url": "https://github.com/secret/thing", "token": "ghp_x"}"#)
            #expect(secret.status == .accepted, "the private repository is watched, so its 404 is for being private")
            let secretID = try #require(secret.string("repository_id").flatMap(UUID.init(uuidString:)))
            // Scored too: a score is not what keeps its badge away.
            try await api.store.transaction { try await $0.execute("UPDATE repositories SET health_score = 91.0 WHERE id = \(secretID)") }
            for path in ["/badge/github.com/secret/thing.svg", "/badge/github.com/nobody/watches.svg", "/badge/github.com/pallets/flask",
                         "/badge/github.com:99999/pallets/flask.svg", "/badge/gitlab.com/pallets/flask.svg"] {
                #expect(try await api.request(.get, path).status == .notFound, "\(path)")
            }
            // Once nobody watches it, its badge is gone too.
            let id = try #require(added.string("id"))
            #expect(try await api.request(.delete, "/v1/watchlist/\(id)", key: key).status == .noContent)
            #expect(try await api.request(.get, "/badge/github.com/pallets/flask.svg").status == .notFound)
        }
    }
}
