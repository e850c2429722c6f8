import Foundation
import Pipeline
import Queue
import Settings
import Store

/// Whether scheduled re-checks are happening: when the leader last looked for due repositories, and how
/// many are overdue. A scheduler that silently stopped is the failure users of other systems found too
/// late; here it shows in `GET /v1/queues` and `GET /health/ready`.
struct SchedulerHealth: Encodable {
    /// `ok`; `late` (no pass for three periods while repositories are due); `never_ran` (repositories wait
    /// for a first pass); `idle` (nothing to re-check yet).
    let status: String
    @NullEncodable var last_run_at: Date?
    let period_seconds: Double
    /// Repositories whose check is due for longer than three periods.
    let overdue_repositories: Int

    static func read(store: any Store, settings: Settings, now: Date = Date()) async throws -> SchedulerHealth {
        let schedule = (try? Schedule(parsing: settings.recheck.schedule)) ?? (try! Schedule(parsing: "@every 1m"))
        let first = schedule.next(after: now)
        let period = max(1, schedule.next(after: first).timeIntervalSince(first))
        let (lastRun, overdue) = try await store.read { db in
            (try await db.lastPeriodicRun(ScheduleRechecksJob.periodicName),
             try await db.overdueRepositories(now: now, grace: .seconds(3 * period)))
        }
        let status: String
        switch (lastRun, overdue) {
        case (nil, 0): status = "idle"
        case (nil, _): status = "never_ran"
        case (let last?, let overdue) where overdue > 0 && now.timeIntervalSince(last) > 3 * period: status = "late"
        default: status = "ok"
        }
        return SchedulerHealth(status: status, last_run_at: lastRun, period_seconds: period, overdue_repositories: overdue)
    }
}

/// The pipeline's stall gauge, as `GET /v1/queues` and `/health/ready` show it.
struct PipelineHealth: Encodable {
    /// Repositories `processing` or `refreshing` with no unfinished stage job (the leader's reconcile pass repairs them).
    let stalled: Int
    /// Seconds since the longest-stalled one last changed; null when none is.
    @NullEncodable var oldest_stalled_seconds: Double?

    init(_ stats: StallStats) {
        stalled = stats.stalled
        oldest_stalled_seconds = stats.oldestSeconds
    }
}
