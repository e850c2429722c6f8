import Crypto
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Settings
import Store

/// `/v1/watchlist`: a user's entries.
struct WatchlistController {
    let service: WatchlistService
    let statusCache: StatusCache
    var settings: Settings { service.settings }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("watchlist", use: create)
        group.get("watchlist", use: list)
        group.get("watchlist/{id}", use: show)
        group.get("watchlist/{id}/status", use: status)
        group.patch("watchlist/{id}", use: update)
        group.delete("watchlist/{id}", use: delete)
        group.post("watchlist/{id}/retry", use: retry)
        group.post("watchlist/{id}/recheck", use: recheck)
    }

    /// POST /v1/watchlist/{id}/retry → 202 with the entry, processing again; 409 unless it failed.
    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> Response {
        let entry = try await service.restart(context.parameters.get("id"), for: try context.requireCaller(), retry: true)
        return try JSONResponse.make(.accepted, EntryResponse(entry, defaultInterval: settings.recheck.interval))
    }

    /// POST /v1/watchlist/{id}/recheck → 202 with the entry; a ready one stays ready, `refreshing`. 409 when failed.
    @Sendable func recheck(_ request: Request, context: AppRequestContext) async throws -> Response {
        let entry = try await service.restart(context.parameters.get("id"), for: try context.requireCaller(), retry: false)
        return try JSONResponse.make(.accepted, EntryResponse(entry, defaultInterval: settings.recheck.interval))
    }

    /// POST /v1/watchlist {repo_url, alerts?, notes?, token?} → 202 (new) or 200 (already watched), with Location.
    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await JSONBody.read(request, maxBytes: settings.maxBodyBytes, allowed: ["repo_url", "alerts", "notes", "token", "check_interval"])
        let repoURL = try body.requiredString("repo_url")
        let alerts = try body.optionalObject("alerts") ?? nil
        let notes = try body.optionalString("notes") ?? nil
        let token = try body.optionalString("token") ?? nil
        let interval = try service.validInterval(try body.optionalString("check_interval") ?? nil)
        let (entry, created) = try await service.add(
            userID: caller.userID, repoURL: repoURL, alerts: alerts, notes: notes, token: token, checkIntervalSeconds: interval)
        return try JSONResponse.make(
            created ? .accepted : .ok, EntryResponse(entry, defaultInterval: settings.recheck.interval), headers: [.location: "/v1/watchlist/\(entry.entry.id.lowercased)"])
    }

    /// GET /v1/watchlist?status=&limit=&cursor= → one page, oldest first.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let query = request.uri.queryParameters
        var status: ProcessingStatus?
        if let text = query["status"] {
            guard let s = ProcessingStatus(rawValue: String(text)) else {
                throw APIError.badRequest("status must be one of processing, ready, failed", code: "invalid_parameter")
            }
            status = s
        }
        let limit = try Paging.limit(request, settings: settings)
        let cursor = try Paging.cursor(request) { UUID(uuidString: $0) }
        let (filter, after) = (status, cursor)
        let rows = try await service.store.read {
            try await $0.listEntries(visibleTo: caller, status: filter, after: after, limit: limit + 1)
        }
        let (items, next) = Paging.page(rows, limit: limit) { $0.entry.id.lowercased }
        return try JSONResponse.make(.ok, EntryListResponse(items: items.map { EntryResponse($0, defaultInterval: settings.recheck.interval) }, next_cursor: next))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let entry = try await service.entry(context.parameters.get("id"), for: try context.requireCaller())
        return try JSONResponse.make(.ok, EntryResponse(entry, defaultInterval: settings.recheck.interval))
    }

    /// GET /v1/watchlist/{id}/status — cheap to poll: a strong ETag over the body, 304 when unchanged.
    /// Answers come from the ``StatusCache`` while they are current, so polling costs no query.
    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let text = context.parameters.get("id")
        let data: Data
        let etag: String
        if let id = text.flatMap(UUID.init(uuidString:)), let cached = statusCache.answer(for: id),
            caller.isAdmin || cached.owner == caller.userID
        {
            (data, etag) = (cached.body, cached.etag)
        } else {
            let ticket = statusCache.ticket()
            let entry = try await service.entry(text, for: caller)
            data = try JSONResponse.encode(StatusResponse(entry, defaultInterval: settings.recheck.interval))
            etag = "\"" + Self.hex(SHA256.hash(data: data).prefix(12)) + "\""
            statusCache.store(
                entry.entry.id, owner: entry.entry.userID, repositoryID: entry.repository.id, body: data, etag: etag, ticket: ticket)
        }
        if let ifNoneMatch = request.headers[.ifNoneMatch], Self.matches(ifNoneMatch, etag: etag) {
            return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "no-cache"])
        }
        return JSONResponse.make(.ok, data: data, headers: [.eTag: etag, .cacheControl: "no-cache"])
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `If-None-Match` holds `*` or a list of entity tags (weak ones compared weakly, RFC 9110 §13.1.2).
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    /// PATCH /v1/watchlist/{id} {alerts?, notes?, check_interval?}; `notes: null` clears the notes, `alerts: null` (or
    /// `{}`) resets them to the defaults (``AlertRules/seedDefaults``), `check_interval: null` goes back to the
    /// configured interval.
    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let existing = try await service.entry(context.parameters.get("id"), for: caller)
        let body = try await JSONBody.read(request, maxBytes: settings.maxBodyBytes, allowed: ["alerts", "notes", "check_interval"])
        let alerts = try body.optionalObject("alerts").map { try AlertRules.validated($0).json.text }
        let notes = try body.optionalString("notes").map { try service.validNotes($0) }
        let interval = try body.optionalString("check_interval").map { try service.validInterval($0) }
        let id = existing.entry.id
        guard let updated = try await service.store.transaction({
            try await $0.updateEntry(id: id, visibleTo: caller, alertsJSON: alerts, notes: notes, checkIntervalSeconds: interval, now: Date())
        }) else {
            throw APIError.notFound("no watchlist entry with id \(id.lowercased)")
        }
        return try JSONResponse.make(.ok, EntryResponse(updated, defaultInterval: settings.recheck.interval))
    }

    /// DELETE /v1/watchlist/{id} → 204.
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let text = context.parameters.get("id")
        guard let text, let id = UUID(uuidString: text), try await service.delete(id: id, caller: caller) else {
            throw APIError.notFound("no watchlist entry with id \(text ?? "")")
        }
        return Response(status: .noContent)
    }

}
