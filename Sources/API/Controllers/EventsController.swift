import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Settings
import Store
import Webhooks

/// `GET /v1/events`: the caller's alerts (admin: everyone's), in the order they were committed, so a client that only
/// polls sees every alert a webhook would have delivered.
struct EventsController {
    let store: any Store
    let settings: Settings

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("events", use: list)
    }

    struct EventListResponse: Encodable {
        /// Each as webhooks deliver it (``AlertEventJSON``).
        let items: [AlertEventJSON]
        /// Always present: the position after the last event listed (or the cursor given, when none was). Poll with it.
        let next_cursor: String
        /// True when more events are waiting after this page.
        let has_more: Bool
    }

    /// GET /v1/events?entry=&cursor=&limit= → the events after the cursor, oldest first.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let limit = try Paging.limit(request, settings: settings)
        let cursor = try Paging.cursor(request) { text -> Int64? in
            guard let value = Int64(text), value >= 0 else { return nil }
            return value
        }
        var entry: UUID?
        if let text = request.uri.queryParameters["entry"] {
            guard let id = UUID(uuidString: String(text)) else {
                throw APIError.badRequest("entry must be a watchlist entry id", code: "invalid_parameter")
            }
            // Someone else's entry is answered as missing, as on every entry route.
            guard try await store.read({ try await $0.entry(id: id, visibleTo: caller) }) != nil else {
                throw APIError.notFound("no watchlist entry with id \(id.lowercased)")
            }
            entry = id
        }
        let filter = entry
        let rows = try await store.read { try await $0.alertEvents(visibleTo: caller, entry: filter, after: cursor, limit: limit + 1) }
        let items = Array(rows.prefix(limit))
        let next = items.last.map { String($0.sequence) } ?? cursor.map(String.init) ?? "0"
        return try JSONResponse.make(.ok, EventListResponse(items: items.map(AlertEventJSON.init), next_cursor: next, has_more: rows.count > limit))
    }
}
