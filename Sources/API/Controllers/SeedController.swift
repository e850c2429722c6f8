import Domain
import Foundation
import HTTPTypes
import Hummingbird
import Settings
import Store

/// The routes of the service RepoWatch replaces (seed 004), with their request and response fields,
/// so its clients keep working. Authentication applies here too.
struct SeedController {
    let service: WatchlistService

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("user-watchlist-added", use: add)
        group.get("watchlist/{id}/status", use: status)
    }

    struct AddResponse: Encodable {
        let message: String
        let watchlist_id: String
        let status: String
    }

    /// POST /activity/user-watchlist-added {repo_url, added_by, alerts, notes}.
    /// `added_by` must be the caller's own user name; an admin key may add on behalf of any user.
    @Sendable func add(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await JSONBody.read(
            request, maxBytes: service.settings.maxBodyBytes, allowed: ["repo_url", "added_by", "alerts", "notes"])
        let repoURL = try body.requiredString("repo_url")
        let addedBy = try body.requiredString("added_by")
        let alerts = try body.optionalObject("alerts") ?? nil
        let notes = try body.optionalString("notes") ?? nil
        guard User.isValidName(addedBy) else {
            throw APIError(.unprocessableContent, code: "invalid_field",
                           "field 'added_by' must be 1–64 letters, digits, '.', '_', '-' or '@'", details: ["field": "added_by"])
        }
        let userID: UUID
        if addedBy == caller.userName {
            userID = caller.userID
        } else if caller.isAdmin {
            guard let user = try await service.store.transaction({ try await $0.user(named: addedBy, createIfMissing: true) }) else {
                throw StoreError.corrupt("user \(addedBy) not created")
            }
            userID = user.id
        } else {
            throw APIError.forbidden("added_by must be your own user name (\(caller.userName)); only an admin key may add for others")
        }
        let (entry, created) = try await service.add(userID: userID, repoURL: repoURL, alerts: alerts, notes: notes)
        let message = created
            ? "Repository added to watchlist. Background processing will begin shortly."
            : "Repository is already on this watchlist."
        return try JSONResponse.make(
            created ? .accepted : .ok,
            AddResponse(message: message, watchlist_id: entry.entry.id.lowercased, status: entry.repository.state.status.rawValue),
            headers: [.location: "/activity/watchlist/\(entry.entry.id.lowercased)/status"])
    }

    struct PackageResponse: Encodable {
        let repository_id: String
        let repo_url: String
        let host: String
        let owner: String
        let name: String
        let stage: String
        let progress: Int
        @NullEncodable var last_error: String?
        @NullEncodable var head_commit: String?
        @NullEncodable var default_branch: String?
        /// The latest health report's overall score (0–100).
        @NullEncodable var health_score: Double?
        @NullEncodable var last_checked_at: Date?
    }

    struct UserWatchlistResponse: Encodable {
        let watchlist_id: String
        let user: String
        let alerts: JSONValue
        @NullEncodable var notes: String?
        let created_at: Date
    }

    struct StatusResponse: Encodable {
        let watchlist_id: String
        let status: String
        @NullEncodable var processing_started_at: Date?
        @NullEncodable var processing_completed_at: Date?
        let package: PackageResponse
        let user_watchlists: [UserWatchlistResponse]
    }

    /// GET /activity/watchlist/{id}/status: the seed's fields. `package` describes the repository;
    /// `user_watchlists` lists the entries on it that the caller may see.
    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let entry = try await service.entry(context.parameters.get("id"), for: caller)
        let repository = entry.repository
        let watchers = try await service.store.read { try await $0.entries(onRepository: repository.id, visibleTo: caller) }
        return try JSONResponse.make(.ok, StatusResponse(
            watchlist_id: entry.entry.id.lowercased,
            status: repository.state.status.rawValue,
            processing_started_at: repository.state.startedAt,
            processing_completed_at: repository.state.completedAt,
            package: PackageResponse(
                repository_id: repository.id.lowercased, repo_url: repository.url.canonical, host: repository.url.hostWithPort,
                owner: repository.url.owner, name: repository.url.name, stage: repository.state.stage.rawValue,
                progress: repository.state.progress, last_error: repository.state.lastError, head_commit: repository.headCommit,
                default_branch: repository.defaultBranch, health_score: repository.healthScore, last_checked_at: repository.lastCheckedAt),
            user_watchlists: watchers.map {
                UserWatchlistResponse(
                    watchlist_id: $0.entry.id.lowercased, user: $0.userName,
                    alerts: JSONValue.parse(Data($0.entry.alertsJSON.utf8)) ?? .object([:]), notes: $0.entry.notes,
                    created_at: $0.entry.createdAt)
            }))
    }
}
