import Domain
import Foundation
import Hummingbird
import Settings
import Store

/// `/v1/repositories/{id}/…`: what was learnt about a repository, for the users who watch it.
/// A repository nobody of the caller's watches is a 404, like an entry of another user.
struct RepositoryController {
    let store: any Store
    let settings: Settings

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("repositories/{id}/activity", use: activity)
        group.get("repositories/{id}/commits", use: commits)
        group.get("repositories/{id}/health", use: health)
        group.get("repositories/{id}/health/history", use: healthHistory)
    }

    /// GET /v1/repositories/{id}/health — the latest health report (404 `no_report` before the first).
    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try repositoryID(context)
        let report = try await store.read { db -> HealthReportRecord?? in
            guard try await db.canSee(repository: id, caller: caller) else { return nil }
            return .some(try await db.latestHealthReport(repository: id))
        }
        guard let report else { throw APIError.notFound("no repository with id \(id.lowercased)") }
        guard let report else {
            throw APIError(.notFound, code: "no_report", "no health report yet: the repository is still being processed, or failed")
        }
        return JSONResponse.make(.ok, data: try Self.reportBody(report))
    }

    /// GET /v1/repositories/{id}/health/history?limit=&cursor= — every report, newest first.
    @Sendable func healthHistory(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try repositoryID(context)
        let limit = try Paging.limit(request, settings: settings)
        let cursor = try Paging.cursor(request) { UUID(uuidString: $0) }
        let rows = try await store.read { db -> [HealthReportRecord]? in
            guard try await db.canSee(repository: id, caller: caller) else { return nil }
            return try await db.healthReports(repository: id, before: cursor, limit: limit + 1)
        }
        guard let rows else { throw APIError.notFound("no repository with id \(id.lowercased)") }
        let (items, next) = Paging.page(rows, limit: limit) { $0.id.lowercased }
        var body: [String: Any] = ["items": try items.map { try JSONSerialization.jsonObject(with: try Self.reportBody($0)) }]
        body["next_cursor"] = next ?? NSNull()
        return JSONResponse.make(.ok, data: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// The stored report with its id, repository, score and time.
    static func reportBody(_ report: HealthReportRecord) throws -> Data {
        var object = (try JSONSerialization.jsonObject(with: Data(report.reportJSON.utf8)) as? [String: Any]) ?? [:]
        object["id"] = report.id.lowercased
        object["repository_id"] = report.repositoryID.lowercased
        object["health_score"] = report.healthScore
        object["confidence"] = report.confidence
        object["created_at"] = Timestamp.format(report.createdAt)
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// GET /v1/repositories/{id}/activity — metrics computed from the stored commits of the window.
    @Sendable func activity(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try repositoryID(context)
        let window = settings.git.historyWindow
        let response = try await store.read { db -> ActivityResponse? in
            guard try await db.canSee(repository: id, caller: caller), let work = try await db.repositoryWork(id: id) else { return nil }
            return ActivityResponse(try await db.activity(of: work, window: window, now: Date()), work: work)
        }
        guard let response else { throw APIError.notFound("no repository with id \(id.lowercased)") }
        return try JSONResponse.make(.ok, response)
    }

    /// GET /v1/repositories/{id}/commits?limit=&cursor= — stored commits, newest first.
    @Sendable func commits(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = try repositoryID(context)
        let limit = try Paging.limit(request, settings: settings)
        let cursor = try Paging.cursor(request, Self.parseCursor)
        let rows = try await store.read { db -> [Commit]? in
            guard try await db.canSee(repository: id, caller: caller) else { return nil }
            return try await db.commits(repository: id, after: cursor, limit: limit + 1)
        }
        guard let rows else { throw APIError.notFound("no repository with id \(id.lowercased)") }
        let (items, next) = Paging.page(rows, limit: limit) { Self.cursor(for: $0) }
        return try JSONResponse.make(.ok, CommitListResponse(items: items.map(CommitResponse.init), next_cursor: next))
    }

    private func repositoryID(_ context: AppRequestContext) throws -> UUID {
        let text = context.parameters.get("id")
        guard let text, let id = UUID(uuidString: text) else { throw APIError.notFound("no repository with id \(text ?? "")") }
        return id
    }

    /// `<microseconds since 1970>.<sha>`: the position after the last commit of a page.
    static func cursor(for commit: Commit) -> String {
        "\(Int64((commit.committedAt.timeIntervalSince1970 * 1_000_000).rounded())).\(commit.sha)"
    }

    static func parseCursor(_ text: String) -> (committedAt: Date, sha: String)? {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let micros = Int64(parts[0]), parts[1].count == 40 || parts[1].count == 64,
            parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        return (Date(timeIntervalSince1970: Double(micros) / 1_000_000), String(parts[1]))
    }
}

/// The metrics (named by ``Activity``'s coding keys) and what the endpoint adds about the repository.
struct ActivityResponse: Encodable, Sendable {
    let activity: Activity
    let repository_id: String
    /// True when the window had no commit (the clone fell back to the newest commit alone).
    let window_empty: Bool
    /// True once the backfill stored the whole window up to the current head.
    let complete: Bool
    let head_commit: String?  // encoded as null when absent (below)

    init(_ activity: Activity, work: RepositoryWork) {
        self.activity = activity
        repository_id = work.repository.id.lowercased
        window_empty = work.windowEmpty
        complete = work.backfilledHead != nil && work.backfilledHead == work.repository.headCommit
        head_commit = work.repository.headCommit
    }

    enum CodingKeys: String, CodingKey { case repository_id, window_empty, complete, head_commit }

    func encode(to encoder: any Encoder) throws {
        // One JSON object: the metrics' keys and these side by side.
        try activity.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(repository_id, forKey: .repository_id)
        try container.encode(window_empty, forKey: .window_empty)
        try container.encode(complete, forKey: .complete)
        try container.encode(head_commit, forKey: .head_commit)
    }
}

struct CommitResponse: Encodable {
    let sha: String
    let parents: [String]
    let author_name: String
    let author_email: String
    let authored_at: Date
    let committed_at: Date
    let summary: String
    /// Null for a commit at the shallow boundary: its diff is unknown.
    @NullEncodable var files_changed: Int?
    @NullEncodable var additions: Int?
    @NullEncodable var deletions: Int?

    init(_ c: Commit) {
        sha = c.sha
        parents = c.parents
        author_name = c.authorName
        author_email = c.authorEmail
        authored_at = c.authoredAt
        committed_at = c.committedAt
        summary = c.summary
        files_changed = c.stats?.filesChanged
        additions = c.stats?.additions
        deletions = c.stats?.deletions
    }
}

struct CommitListResponse: Encodable {
    let items: [CommitResponse]
    @NullEncodable var next_cursor: String?
}
