import Domain
import Foundation

/// A Scorecard result as cached: the JSON the command printed, and what the report needs of it.
public struct StoredScorecard: Sendable, Equatable {
    public var headCommit: String
    public var commandKey: String
    public var version: String
    /// The command's JSON v2 output, as printed.
    public var reportJSON: String
    /// The aggregate recomputed from the checks (nil: no conclusive check).
    public var aggregate: Double?
    /// Checks that errored (score -1, reason `internal error: …`).
    public var erroredChecks: [String]
    public var exitCode: Int
    public var createdAt: Date
    public var expiresAt: Date

    public init(
        headCommit: String, commandKey: String, version: String, reportJSON: String, aggregate: Double?, erroredChecks: [String],
        exitCode: Int, createdAt: Date, expiresAt: Date
    ) {
        self.headCommit = headCommit
        self.commandKey = commandKey
        self.version = version
        self.reportJSON = reportJSON
        self.aggregate = aggregate
        self.erroredChecks = erroredChecks
        self.exitCode = exitCode
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// One health report, as kept in the history.
public struct HealthReportRecord: Sendable, Equatable {
    public var id: UUID
    public var repositoryID: UUID
    public var headCommit: String
    public var scorecardVersion: String?
    public var healthScore: Double
    public var confidence: Double
    /// The Scorecard aggregate (0–10) the health score used; nil when the run had no Scorecard result. Kept beside the
    /// report so the history chart does not parse every report.
    public var scorecardScore: Double?
    /// `{head_commit, health, activity, scorecard, scorecard_errored_checks, …}` as JSON text.
    public var reportJSON: String
    public var createdAt: Date

    public init(
        id: UUID, repositoryID: UUID, headCommit: String, scorecardVersion: String?, healthScore: Double, confidence: Double,
        reportJSON: String, createdAt: Date, scorecardScore: Double? = nil
    ) {
        self.id = id
        self.repositoryID = repositoryID
        self.headCommit = headCommit
        self.scorecardVersion = scorecardVersion
        self.healthScore = healthScore
        self.confidence = confidence
        self.scorecardScore = scorecardScore
        self.reportJSON = reportJSON
        self.createdAt = createdAt
    }
}

extension SQLExecutor {
    // MARK: Scorecard cache

    /// A cached result for this head and command that has not expired.
    public func freshScorecard(repository id: UUID, head: String, commandKey: String, now: Date) async throws -> StoredScorecard? {
        try await first("""
            SELECT \(raw: Self.scorecardColumns) FROM scorecard_results
            WHERE repository_id = \(id) AND head_commit = \(head) AND command_key = \(commandKey) AND expires_at > \(now)
            ORDER BY created_at DESC LIMIT 1
            """).map(Self.decodeScorecard)
    }

    /// A result for this head that has not expired, whatever the command that made it.
    public func freshScorecard(repository id: UUID, head: String, now: Date) async throws -> StoredScorecard? {
        try await first("""
            SELECT \(raw: Self.scorecardColumns) FROM scorecard_results
            WHERE repository_id = \(id) AND head_commit = \(head) AND expires_at > \(now)
            ORDER BY created_at DESC LIMIT 1
            """).map(Self.decodeScorecard)
    }

    /// The newest result for this head, whatever the command (what the report shows).
    public func latestScorecard(repository id: UUID, head: String) async throws -> StoredScorecard? {
        try await first("""
            SELECT \(raw: Self.scorecardColumns) FROM scorecard_results
            WHERE repository_id = \(id) AND head_commit = \(head) ORDER BY created_at DESC LIMIT 1
            """).map(Self.decodeScorecard)
    }

    public func storeScorecard(_ result: StoredScorecard, repository id: UUID, durationMilliseconds: Int64) async throws {
        let errored = String(decoding: try JSONEncoder().encode(result.erroredChecks), as: UTF8.self)
        try await execute("""
            INSERT INTO scorecard_results (repository_id, head_commit, command_key, scorecard_version, report, aggregate, errored_checks,
                exit_code, duration_ms, created_at, expires_at)
            VALUES (\(id), \(result.headCommit), \(result.commandKey), \(result.version), \(SQLValue.json(result.reportJSON)),
                \(result.aggregate), \(SQLValue.json(errored)), \(result.exitCode), \(durationMilliseconds), \(result.createdAt),
                \(result.expiresAt))
            """)
    }

    // MARK: Reports

    /// Keeps a report in the repository's history.
    public func insertHealthReport(_ report: HealthReportRecord) async throws {
        try await execute("""
            INSERT INTO health_reports (id, repository_id, head_commit, scorecard_version, health_score, confidence, scorecard_score, report,
                created_at)
            VALUES (\(report.id), \(report.repositoryID), \(report.headCommit), \(report.scorecardVersion), \(report.healthScore),
                \(report.confidence), \(report.scorecardScore), \(SQLValue.json(report.reportJSON)), \(report.createdAt))
            """)
    }

    public func latestHealthReport(repository id: UUID) async throws -> HealthReportRecord? {
        try await healthReports(repository: id, before: nil, limit: 1).first
    }

    /// Reports, newest first, before the cursor (the last page's final report id; ids grow with time).
    public func healthReports(repository id: UUID, before: UUID?, limit: Int) async throws -> [HealthReportRecord] {
        var sql: SQL = """
            SELECT id, repository_id, head_commit, scorecard_version, health_score, confidence, scorecard_score, report, created_at
            FROM health_reports WHERE repository_id = \(id)
            """
        if let before { sql = sql + " AND id < \(before)" }
        sql = sql + " ORDER BY id DESC LIMIT \(limit)"
        return try await query(sql).map { row in
            HealthReportRecord(
                id: try row.require("id", row.uuid), repositoryID: try row.require("repository_id", row.uuid),
                headCommit: try row.require("head_commit", row.string), scorecardVersion: try row.string("scorecard_version"),
                healthScore: try row.require("health_score", row.double), confidence: try row.require("confidence", row.double),
                reportJSON: try row.require("report", row.string), createdAt: try row.require("created_at", row.date),
                scorecardScore: try row.double("scorecard_score"))
        }
    }

    // MARK: Row mapping

    static var scorecardColumns: String {
        "head_commit, command_key, scorecard_version, report, aggregate, errored_checks, exit_code, created_at, expires_at"
    }

    static func decodeScorecard(_ row: any SQLRow) throws -> StoredScorecard {
        let report = try row.require("report", row.string)
        let errored = try row.require("errored_checks", row.string)
        return StoredScorecard(
            headCommit: try row.require("head_commit", row.string), commandKey: try row.require("command_key", row.string),
            version: try row.require("scorecard_version", row.string), reportJSON: report, aggregate: try row.double("aggregate"),
            erroredChecks: (try? JSONDecoder().decode([String].self, from: Data(errored.utf8))) ?? [],
            exitCode: Int(try row.require("exit_code", row.int)), createdAt: try row.require("created_at", row.date),
            expiresAt: try row.require("expires_at", row.date))
    }
}

// MARK: Scheduled re-checks

extension SQLExecutor {
    /// Repositories whose next check is due — ready ones for a re-check, failed ones for an automatic retry
    /// (only a transient failure plans one) — oldest due first: a range scan of the
    /// `repositories_next_check_at` index, not of the table.
    public func dueRepositories(now: Date, limit: Int) async throws -> [UUID] {
        try await query("""
            SELECT id FROM repositories
            WHERE next_check_at IS NOT NULL AND next_check_at <= \(now)
              AND ((status = 'ready' AND refreshing = \(false)) OR status = 'failed')
            ORDER BY next_check_at LIMIT \(limit)
            """).map { try $0.require("id", $0.uuid) }
    }

    /// How many repositories are past their check by more than `grace` (a scheduler that stopped shows here).
    public func overdueRepositories(now: Date, grace: Duration) async throws -> Int {
        let cutoff = now.addingTimeInterval(-grace.seconds)
        return Int(try await first("""
            SELECT COUNT(*) AS n FROM repositories WHERE next_check_at IS NOT NULL AND next_check_at < \(cutoff)
            """)?.int("n") ?? 0)
    }

    /// When the periodic job `name` last fired (its slot), if ever.
    public func lastPeriodicRun(_ name: String) async throws -> Date? {
        try await first("SELECT last_scheduled_at FROM periodic_runs WHERE name = \(name)")?.date("last_scheduled_at")
    }
}
