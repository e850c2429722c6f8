import Crypto
import Dashboard
import Domain
import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import Pipeline
import Queue
import Settings
import Store

/// The dashboard: server-rendered pages at `/` for people, beside the JSON API for programs.
///
/// Every page reads through the same services and store queries as `/v1` (an entry of someone else is a 404 here as
/// there), and every change goes through the same use cases (``WatchlistService``: add, delete, retry, re-check), so
/// the pages cannot do what the API would refuse. Sign-in is the only route that takes an API key; after it a session
/// cookie carries the caller (``DashboardSession``). Forms work without JavaScript; `live.js` only makes progress live.
struct DashboardController {
    let service: WatchlistService
    let session: DashboardSession
    let pages: DashboardPages
    let live: LiveController
    var store: any Store { service.store }
    var settings: Settings { service.settings }
    var queue: JobQueue { service.queue }

    /// Rows on one watchlist page; more pages are linked.
    static let pageSize = 500
    /// Reports the history chart shows (the newest).
    static let historyPoints = 200

    /// - Parameters:
    ///   - router: the public routes (sign-in, assets) are added here.
    ///   - signedIn: the group behind ``SessionMiddleware`` (the pages).
    func addRoutes(to router: Router<AppRequestContext>, signedIn: RouterGroup<AppRequestContext>) {
        router.get("/", use: home)
        router.get("sign-in", use: signInPage)
        router.post("sign-in", use: signIn)
        for asset in Asset.all {
            router.get(RouterPath(asset.path)) { request, _ in asset.response(request) }
        }

        signedIn.post("sign-out", use: signOut)
        signedIn.get("watchlist", use: watchlist)
        signedIn.post("watchlist", use: add)
        signedIn.get("watchlist/{id}", use: repository)
        signedIn.get("watchlist/{id}/row", use: row)
        // The live status stream, the same handler as /v1's, authenticated by the session instead of a key.
        signedIn.get("watchlist/{id}/events", use: live.events)
        signedIn.post("watchlist/{id}/alerts", use: saveAlerts)
        signedIn.post("watchlist/{id}/retry") { request, context in try await restart(request, context, retry: true) }
        signedIn.post("watchlist/{id}/recheck") { request, context in try await restart(request, context, retry: false) }
        signedIn.get("watchlist/{id}/delete", use: confirmDelete)
        signedIn.post("watchlist/{id}/delete", use: delete)
        signedIn.get("admin", use: admin)
        signedIn.post("admin/jobs/{id}/retry", use: retryJob)
    }

    // MARK: Signing in and out

    @Sendable func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        DashboardPages.redirect(try await session.resolve(request) == nil ? "/sign-in" : "/watchlist")
    }

    @Sendable func signInPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try await session.resolve(request) != nil { return DashboardPages.redirect("/watchlist") }
        let (secret, cookie) = signInSecret(request)
        let notice = request.uri.queryParameters["signed_out"] != nil ? "You are signed out." : nil
        let page = pages.pages.render(SignInPage(csrfToken: DashboardSession.csrfToken(for: secret, purpose: "sign-in"), notice: notice))
        return DashboardPages.html(page, cookies: cookie.map { [$0] } ?? [])
    }

    /// The sign-in form's secret: the `rw_signin` cookie's, or a new one (with the cookie to set).
    private func signInSecret(_ request: Request) -> (String, Cookie?) {
        if let value = request.cookies[DashboardSession.signInCookie]?.value, DashboardSessions.looksValid(value) { return (value, nil) }
        let value = DashboardSessions.generate()
        return (value, session.signInCookie(value, request: request))
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await DashboardForm.read(request, maxBytes: settings.maxBodyBytes)
        guard let secret = request.cookies[DashboardSession.signInCookie]?.value, DashboardSessions.looksValid(secret),
            let sent = form[DashboardSession.csrfField],
            DashboardSession.same(sent, DashboardSession.csrfToken(for: secret, purpose: "sign-in"))
        else {
            return pages.message(
                .forbidden, title: "Forbidden", session: nil,
                "The sign-in form was refused: its CSRF token is missing or out of date. Open the sign-in page again and send it from there.")
        }
        let key = (form["api_key"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty, let caller = try await store.read({ try await $0.caller(presenting: key) }) else {
            // The key is never echoed back, nor logged.
            let page = SignInPage(
                csrfToken: DashboardSession.csrfToken(for: secret, purpose: "sign-in"),
                error: key.isEmpty ? "Enter an API key." : "This API key is not valid: it is unknown or was revoked.")
            return DashboardPages.html(pages.pages.render(page), status: .unauthorized)
        }
        let ttl = settings.dashboard.sessionTTL
        let token = try await store.transaction { try await $0.createSession(for: caller, ttl: ttl) }
        context.logger.info("dashboard sign-in", metadata: ["user": "\(caller.userName)", "key_id": "\(caller.keyID.lowercased)"])
        return DashboardPages.redirect(
            "/watchlist",
            cookies: [session.sessionCookie(token, request: request), session.expired(DashboardSession.signInCookie, path: "/sign-in", request: request)])
    }

    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let token = context.sessionToken {
            // Signing out of a session that is already gone (revoked key, expired, another tab) is not an error.
            _ = try await store.transaction { try await $0.deleteSession(token: token) }
        }
        return DashboardPages.redirect("/sign-in?signed_out=1", cookies: [session.expired(DashboardSession.sessionCookie, path: "/", request: request)])
    }

    // MARK: Watchlist

    /// Fixed texts for what a redirect after a form reports (`?done=…`): the page never echoes a parameter.
    static let notices: [String: String] = [
        "added": "Added: it is being processed.", "already": "That repository is already on your watchlist.",
        "deleted": "Removed from your watchlist.", "saved": "Alert rules saved.", "retried": "Started again.",
        "rechecked": "A re-check is under way.", "job": "The job is back in its queue.",
    ]

    static func notice(_ request: Request) -> String? {
        request.uri.queryParameters["done"].flatMap { notices[String($0)] }
    }

    @Sendable func watchlist(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await watchlistPage(request, context, form: EntryForm(), status: .ok)
    }

    private func watchlistPage(_ request: Request, _ context: AppRequestContext, form: EntryForm, status: HTTPResponse.Status) async throws -> Response {
        let caller = try context.requireCaller()
        let query = request.uri.queryParameters
        let filter = query["status"].flatMap { ProcessingStatus(rawValue: String($0)) }
        let cursor = query["cursor"].flatMap { UUID(uuidString: String($0)) }
        let limit = Self.pageSize
        let rows = try await store.read { try await $0.listEntries(visibleTo: caller, status: filter, after: cursor, limit: limit + 1) }
        let now = Date()
        let shown = rows.prefix(limit).map { Self.row($0, settings: settings, now: now) }
        var next: String?
        if rows.count > limit, let last = rows.prefix(limit).last {
            next = "/watchlist?" + (filter.map { "status=\($0.rawValue)&" } ?? "") + "cursor=\(last.entry.id.lowercased)"
        }
        let filters = [("all", "All")] + ProcessingStatus.allCases.map { ($0.rawValue, $0.rawValue.capitalized) }
        let page = WatchlistPage(
            session: try pages.sessionView(context),
            filters: filters.map { status, label in
                FilterLink(
                    status: status, label: label, href: status == "all" ? "/watchlist" : "/watchlist?status=\(status)",
                    current: (filter?.rawValue ?? "all") == status)
            },
            rows: Array(shown), form: form, flash: Self.notice(request), nextPage: next,
            filterLabel: filter.map { "Entries \($0.rawValue)" } ?? "All entries")
        return DashboardPages.html(pages.pages.render(page), status: status)
    }

    static func row(_ e: EntryWithRepository, settings: Settings, now: Date) -> WatchlistRow {
        let r = e.repository
        return WatchlistRow(
            id: e.entry.id.lowercased, url: r.url.canonical, status: r.state.status.rawValue, stage: r.state.stage.rawValue,
            progress: r.state.progress, healthScore: Format.score(r.healthScore),
            lastCommit: r.headCommittedAt.map { Format.ago($0, now: now) } ?? "", lastCommitISO: r.headCommittedAt.map(Format.iso) ?? "",
            refreshing: r.state.refreshing,
            stale: e.entry.isStale(lastCheckedAt: r.lastCheckedAt, defaultInterval: settings.recheck.interval, now: now),
            isPrivate: r.isPrivate, notes: e.entry.notes)
    }

    /// `GET /watchlist/{id}/row`: one row, for the script that refreshes a row when its entry is done.
    @Sendable func row(_ request: Request, context: AppRequestContext) async throws -> Response {
        let entry = try await service.entry(context.parameters.get("id"), for: try context.requireCaller())
        return DashboardPages.html(pages.pages.renderRow(Self.row(entry, settings: settings, now: Date())))
    }

    @Sendable func add(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let fields = context.form
        var form = EntryForm()
        form.repoURL = fields["repo_url"] ?? ""
        form.notes = fields["notes"] ?? ""
        let (alerts, alertFields) = AlertForm.read(fields)
        form.alerts = alertFields
        let url = form.repoURL.trimmingCharacters(in: .whitespaces)
        // Every field is checked before anything is written, so all the messages show at once.
        if url.isEmpty {
            form.repoURLError = "Enter the URL of a repository, such as https://github.com/owner/name."
        } else {
            do { _ = try settings.repositoryURL(url) } catch { form.repoURLError = error.message }
        }
        if let alerts {
            do { _ = try AlertRules.validated(alerts) } catch let error as APIError {
                form.alerts.setError(field: String((error.details?["field"] ?? "alerts").dropFirst("alerts.".count)), message: error.message)
            }
        }
        guard !form.alerts.hasErrors, form.repoURLError == nil, let alerts else {
            return try await watchlistPage(request, context, form: form, status: .unprocessableContent)
        }
        do {
            let (_, created) = try await service.add(
                userID: caller.userID, repoURL: url, alerts: alerts, notes: form.notes.isEmpty ? nil : form.notes)
            return DashboardPages.redirect("/watchlist?done=\(created ? "added" : "already")")
        } catch let error as APIError where error.status == .unprocessableContent {
            // The API's own validation message, next to the field it names.
            switch error.details?["field"] {
            case "repo_url"?: form.repoURLError = error.message
            case "notes"?: form.notesError = error.message
            case let field? where field.hasPrefix("alerts."): form.alerts.setError(field: String(field.dropFirst(7)), message: error.message)
            default: form.repoURLError = error.message
            }
            return try await watchlistPage(request, context, form: form, status: .unprocessableContent)
        }
    }

    @Sendable func confirmDelete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let entry = try await service.entry(context.parameters.get("id"), for: try context.requireCaller())
        return DashboardPages.html(pages.pages.render(ConfirmDeletePage(
            session: try pages.sessionView(context), entryID: entry.entry.id.lowercased, url: entry.repository.url.canonical)))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let text = context.parameters.get("id")
        guard let text, let id = UUID(uuidString: text), try await service.delete(id: id, caller: caller) else {
            throw APIError.notFound("no watchlist entry with id \(text ?? "")")
        }
        return DashboardPages.redirect("/watchlist?done=deleted")
    }

    // MARK: Repository page

    @Sendable func repository(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await repositoryPage(request, context, alerts: nil, status: .ok)
    }

    private func repositoryPage(
        _ request: Request, _ context: AppRequestContext, alerts edited: AlertFields?, status: HTTPResponse.Status
    ) async throws -> Response {
        let caller = try context.requireCaller()
        let entry = try await service.entry(context.parameters.get("id"), for: caller)
        let (repositoryID, entryID) = (entry.repository.id, entry.entry.id)
        let window = settings.git.historyWindow
        let now = Date()
        let historyLimit = Self.historyPoints
        let (activity, history, latest, events) = try await store.read { db in
            var activity: Activity?
            if let work = try await db.repositoryWork(id: repositoryID) { activity = try await db.activity(of: work, window: window, now: now) }
            return (
                activity, try await db.reportHistory(repository: repositoryID, limit: historyLimit),
                try await db.latestHealthReport(repository: repositoryID), try await db.recentAlertEvents(entry: entryID, limit: 20)
            )
        }
        let page = RepositoryView.build(
            entry: entry, session: try pages.sessionView(context), activity: activity, history: history, latest: latest, events: events,
            alerts: edited ?? AlertForm.fields(entry.entry.alertsJSON), flash: Self.notice(request), now: now)
        return DashboardPages.html(pages.pages.render(page), status: status)
    }

    @Sendable func saveAlerts(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let entry = try await service.entry(context.parameters.get("id"), for: caller)
        var (alerts, fields) = AlertForm.read(context.form)
        if let value = alerts, !fields.hasErrors {
            do {
                let text = try AlertRules.validated(value).json.text
                let id = entry.entry.id
                guard try await store.transaction({
                    try await $0.updateEntry(id: id, visibleTo: caller, alertsJSON: text, notes: .none, now: Date())
                }) != nil else {
                    throw APIError.notFound("no watchlist entry with id \(id.lowercased)")
                }
                return DashboardPages.redirect("/watchlist/\(id.lowercased)?done=saved")
            } catch let error as APIError where error.status == .unprocessableContent {
                fields.setError(field: String((error.details?["field"] ?? "alerts").dropFirst("alerts.".count)), message: error.message)
                alerts = nil
            }
        }
        return try await repositoryPage(request, context, alerts: fields, status: .unprocessableContent)
    }

    private func restart(_ request: Request, _ context: AppRequestContext, retry: Bool) async throws -> Response {
        let entry = try await service.restart(context.parameters.get("id"), for: try context.requireCaller(), retry: retry)
        return DashboardPages.redirect("/watchlist/\(entry.entry.id.lowercased)?done=\(retry ? "retried" : "rechecked")")
    }

    // MARK: Admin

    @Sendable func admin(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Not an admin: the page does not exist for them (as /v1's admin routes, but without telling that it exists).
        guard try context.requireCaller().isAdmin else { throw APIError.notFound("no such page") }
        let now = Date()
        let stats = try await queue.stats(queues: PipelineJobs.serviceQueues)
        let lastHour = try await queue.finished(since: now.addingTimeInterval(-3600))
        let discarded = try await queue.list(state: .discarded, limit: 50)
        let scheduler = try await SchedulerHealth.read(store: store, settings: settings, now: now)
        let stallStats = try await Lifecycle.stallStats(store: store, now: now)
        let stalledIDs = try await Lifecycle.stalledRepositories(store: store, limit: 50)
        let stalledRepositories = try await store.read { try await $0.repositories(ids: stalledIDs.map(\.id)) }
        let page = AdminPage(
            session: try pages.sessionView(context),
            queues: stats.map { s in
                QueueRow(
                    name: s.queue, available: s.counts[.available] ?? 0, running: s.counts[.running] ?? 0, retryable: s.counts[.retryable] ?? 0,
                    completed: s.counts[.completed] ?? 0, discarded: s.counts[.discarded] ?? 0, cancelled: s.counts[.cancelled] ?? 0,
                    oldestWaiting: s.oldestAvailableAge.map(Format.duration) ?? "—",
                    completedLastHour: lastHour[s.queue]?[.completed] ?? 0, failedLastHour: lastHour[s.queue]?[.discarded] ?? 0)
            },
            discarded: discarded.map { job in
                JobRow(
                    id: String(job.id), queue: job.queue, kind: job.kind, attempts: "\(job.attempt)/\(job.maxAttempts)",
                    finishedAt: job.finalizedAt.map { Format.dateTime($0) } ?? "—", lastError: job.errors.last?.error ?? "—",
                    subject: String(job.argsJSON.prefix(120)))
            },
            schedulerStatus: scheduler.status, schedulerLastRun: scheduler.last_run_at.map { Format.ago($0, now: now) } ?? "never",
            schedulerPeriod: Format.duration(scheduler.period_seconds), overdue: scheduler.overdue_repositories,
            stalled: stalledRepositories.map { r in
                StalledRow(
                    id: r.id.lowercased, url: r.url.canonical, status: r.state.status.rawValue, stage: r.state.stage.rawValue,
                    since: Format.ago(r.updatedAt, now: now))
            },
            stalledCount: stallStats.stalled, flash: Self.notice(request))
        return DashboardPages.html(pages.pages.render(page))
    }

    @Sendable func retryJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard try context.requireCaller().isAdmin else { throw APIError.notFound("no such page") }
        guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else { throw APIError.notFound("no job") }
        do {
            _ = try await queue.retry(id: id)
        } catch let error as JobAdminError {
            switch error {
            case .notFound: throw APIError.notFound("no job with id \(id)")
            case .conflict(let message): throw APIError(.conflict, code: "conflict", message)
            }
        }
        return DashboardPages.redirect("/admin?done=job")
    }

}

/// The stylesheet, script and icon: compiled in, so each one's ETag is fixed for the binary's life.
struct Asset: Sendable {
    let path: String
    let body: ByteBuffer
    let type: String
    let etag: String

    init(_ path: String, _ text: String, type: String) {
        self.path = path
        self.body = ByteBuffer(string: text)
        self.type = type
        self.etag = "\"" + WatchlistController.hex(SHA256.hash(data: Data(text.utf8)).prefix(12)) + "\""
    }

    static let all = [
        Asset("assets/dashboard.css", Pages.stylesheet, type: "text/css; charset=utf-8"),
        Asset("assets/live.js", Pages.script, type: "text/javascript; charset=utf-8"),
        Asset("assets/icon.svg", Pages.icon, type: "image/svg+xml"),
        // What browsers ask for on their own (a badge opened by itself, say): the same icon.
        Asset("favicon.ico", Pages.icon, type: "image/svg+xml"),
    ]

    func response(_ request: Request) -> Response {
        if let ifNoneMatch = request.headers[.ifNoneMatch], WatchlistController.matches(ifNoneMatch, etag: etag) {
            return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "no-cache"])
        }
        return Response(
            status: .ok, headers: [.contentType: type, .eTag: etag, .cacheControl: "no-cache", .xContentTypeOptions: "nosniff"],
            body: .init(byteBuffer: body))
    }
}
