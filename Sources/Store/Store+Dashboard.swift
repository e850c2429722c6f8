import Domain
import Foundation

/// One point of a repository's report history: when, the health score, and the Scorecard aggregate (nil when the
/// report had no Scorecard result).
public struct ReportPoint: Sendable, Equatable {
    public var createdAt: Date
    public var healthScore: Double
    public var scorecardScore: Double?
}

/// What the dashboard's pages read beyond the API's own queries.
extension SQLExecutor {
    /// The newest `limit` reports' scores, oldest first: columns only, no report's JSON is read (dashboard-bench: on
    /// PostgreSQL, extracting the aggregate from 100 reports' JSON took 23–33 ms of a 65 ms page).
    public func reportHistory(repository id: UUID, limit: Int) async throws -> [ReportPoint] {
        try await query("""
            SELECT created_at, health_score, scorecard_score FROM health_reports
            WHERE repository_id = \(id) ORDER BY id DESC LIMIT \(limit)
            """).map { row in
            ReportPoint(
                createdAt: try row.require("created_at", row.date), healthScore: try row.require("health_score", row.double),
                scorecardScore: try row.double("scorecard_score"))
        }.reversed()
    }

    /// An entry's newest alert events, newest first.
    public func recentAlertEvents(entry id: UUID, limit: Int) async throws -> [AlertEventWithRepository] {
        try await query(Self.alertEventSelect + " WHERE ev.entry_id = \(id) ORDER BY ev.seq DESC LIMIT \(limit)").map(Self.decodeAlertEvent)
    }

    /// A watched repository that is read without a token (anyone may see its badge), by host (with its port) and path.
    public func publicWatchedRepository(host: String, port: Int?, owner: String, name: String) async throws -> Repository? {
        var sql: SQL = """
            SELECT \(raw: Self.repositoryColumns) FROM repositories r
            WHERE r.host = \(host) AND r.owner = \(owner) AND r.name = \(name) AND r.private_to IS NULL
              AND EXISTS (SELECT 1 FROM watchlist_entries e WHERE e.repository_id = r.id)
            """
        sql = sql + (port.map { " AND r.port = \($0)" } ?? " AND r.port IS NULL")
        sql = sql + " ORDER BY r.id LIMIT 1"
        return try await first(sql).map(Self.decodeRepository)
    }

    /// Repositories by id (those that exist), for lists that hold ids.
    public func repositories(ids: [UUID]) async throws -> [Repository] {
        var found: [Repository] = []
        for id in ids {
            if let repository = try await repository(id: id) { found.append(repository) }
        }
        return found
    }
}
