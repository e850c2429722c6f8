import Domain
import Foundation
import Store

/// The health report of a completed run: the overall score with its components, the activity of the
/// window, and the Scorecard result for the head.
enum HealthReportBuilder {
    /// - Parameter previous: the repository's newest report before this one.
    static func build(
        _ work: RepositoryWork, head: String, previous: HealthReportRecord?, window: Duration, now: Date, in tx: any SQLExecutor
    ) async throws -> HealthReportRecord {
        let id = work.repository.id
        let activity = try await tx.activity(of: work, window: window, now: now)
        let scorecard = try await tx.latestScorecard(repository: id, head: head)
        let health = HealthScore(
            scorecardAggregate: scorecard?.aggregate, daysSinceLastCommit: activity.daysSinceLastCommit, commits90d: activity.commits90d,
            activeAuthors90d: activity.activeAuthors90d, busFactor: activity.busFactor)
        // Report ids order a repository's history: the new one sorts after the last, even within one millisecond.
        let idTime = previous.map { max(now, Self.millisecond(of: $0.id).addingTimeInterval(0.001)) } ?? now
        return HealthReportRecord(
            id: UUID.v7(at: idTime), repositoryID: id, headCommit: head, scorecardVersion: scorecard?.version, healthScore: health.score,
            confidence: health.confidence,
            reportJSON: try reportJSON(head: head, health: health, activity: activity, scorecard: scorecard), createdAt: now,
            scorecardScore: scorecard?.aggregate)
    }

    /// The instant a version 7 UUID was made at (its first 48 bits, in milliseconds).
    static func millisecond(of id: UUID) -> Date {
        let bytes = id.uuid
        let millis = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    /// The report kept for a check: `{head_commit, health, activity, scorecard, scorecard_errored_checks, scorecard_version}`.
    static func reportJSON(head: String, health: HealthScore, activity: Activity, scorecard: StoredScorecard?) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        func object(_ value: some Encodable) throws -> Any { try JSONSerialization.jsonObject(with: try encoder.encode(value)) }
        var report: [String: Any] = [
            "head_commit": head,
            "health": try object(health),
            "activity": try object(activity),
            "scorecard": NSNull(),
            "scorecard_errored_checks": scorecard?.erroredChecks ?? [],
        ]
        if let scorecard, let parsed = try? JSONSerialization.jsonObject(with: Data(scorecard.reportJSON.utf8)) {
            report["scorecard"] = parsed
            report["scorecard_version"] = scorecard.version
        }
        let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
