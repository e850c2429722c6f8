import Domain
import Foundation
import Store

/// Per-queue figures for `GET /v1/queues` and the metrics: seed 002's "queue length", and how long
/// the oldest due job has waited (a queue nobody works shows here first).
public struct QueueStats: Sendable, Equatable {
    public let queue: String
    public let counts: [JobState: Int]
    /// Seconds since the oldest due, not yet started job became due; nil when none is waiting.
    public let oldestAvailableAge: Double?
}

/// What the administrator can do to a job.
public enum JobAdminError: Error, Equatable, CustomStringConvertible {
    case notFound(Int64)
    /// The job is in a state the action does not apply to.
    case conflict(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no job \(id)"
        case .conflict(let m): m
        }
    }
}

extension JobQueue {
    /// Counts by queue and state, and the oldest due job's age. `queues` are listed even when empty.
    public func stats(queues: [String] = []) async throws -> [QueueStats] {
        let now = clock()
        let (counts, oldest) = try await store.read { db in
            let counts = try await db.query("SELECT queue, state, COUNT(*) AS n FROM jobs GROUP BY queue, state")
            let oldest = try await db.query("""
                SELECT queue, MIN(run_at) AS oldest FROM jobs
                WHERE state IN ('available', 'retryable') AND run_at <= \(now) GROUP BY queue
                """)
            return (counts, oldest)
        }
        var byQueue: [String: [JobState: Int]] = Dictionary(uniqueKeysWithValues: queues.map { ($0, [:]) })
        for row in counts {
            let queue = try row.require("queue", row.string)
            guard let state = JobState(rawValue: try row.require("state", row.string)) else { continue }
            byQueue[queue, default: [:]][state] = Int(try row.require("n", row.int))
        }
        var ages: [String: Double] = [:]
        for row in oldest {
            if let at = try row.date("oldest") { ages[try row.require("queue", row.string)] = now.timeIntervalSince(at) }
        }
        return byQueue.keys.sorted().map { queue in
            QueueStats(queue: queue, counts: byQueue[queue] ?? [:], oldestAvailableAge: ages[queue])
        }
    }

    /// Jobs finished since `since`, per queue and final state (`completed`, `discarded`, `cancelled`): the throughput
    /// the dashboard's admin page shows for the last hour. Walks the `(state, finalized_at)` index.
    public func finished(since: Date) async throws -> [String: [JobState: Int]] {
        let rows = try await store.read { db in
            try await db.query("""
                SELECT queue, state, COUNT(*) AS n FROM jobs
                WHERE state IN ('completed', 'discarded', 'cancelled') AND finalized_at >= \(since) GROUP BY queue, state
                """)
        }
        var result: [String: [JobState: Int]] = [:]
        for row in rows {
            guard let state = JobState(rawValue: try row.require("state", row.string)) else { continue }
            result[try row.require("queue", row.string), default: [:]][state] = Int(try row.require("n", row.int))
        }
        return result
    }

    /// One job, for inspection.
    public func job(id: Int64) async throws -> JobRecord? {
        try await store.read { try await $0.first("SELECT * FROM jobs WHERE id = \(id)") }.map(Self.decodeRecord)
    }

    /// Jobs matching the filters, newest first, after the cursor `before` (a job id).
    public func list(state: JobState? = nil, queue: String? = nil, kind: String? = nil, before: Int64? = nil, limit: Int = 50) async throws -> [JobRecord] {
        var sql: SQL = "SELECT * FROM jobs WHERE 1 = 1"
        if let state { sql = sql + " AND state = \(state.rawValue)" }
        if let queue { sql = sql + " AND queue = \(queue)" }
        if let kind { sql = sql + " AND kind = \(kind)" }
        if let before { sql = sql + " AND id < \(before)" }
        sql = sql + " ORDER BY id DESC LIMIT \(limit)"
        let finalSQL = sql
        return try await store.read { try await $0.query(finalSQL) }.map(Self.decodeRecord)
    }

    /// Puts a finished job (discarded, cancelled or completed) back in the queue, with its attempts
    /// renewed and its error history kept. Conflicts when an unfinished job holds its unique key.
    public func retry(id: Int64) async throws -> JobRecord {
        let now = clock()
        let updated: Bool
        do {
            updated = try await store.transaction { tx in
                let rows = try await tx.query("""
                    UPDATE jobs SET state = 'available', run_at = \(now), max_attempts = attempt + \(configuration.maxAttempts),
                        finalized_at = NULL, progress = 0, progress_message = NULL, updated_at = \(now)
                    WHERE id = \(id) AND state IN ('discarded', 'cancelled', 'completed')
                    RETURNING queue
                    """)
                if let queue = try rows.first?.string("queue"), tx.dialect == .postgres {
                    try await tx.execute("SELECT pg_notify(\(Self.channel), \(queue))")
                }
                return !rows.isEmpty
            }
        } catch StoreError.uniqueViolation {
            throw JobAdminError.conflict("another unfinished job holds the unique key of job \(id)")
        }
        guard let job = try await job(id: id) else { throw JobAdminError.notFound(id) }
        guard updated else { throw JobAdminError.conflict("job \(id) is \(job.state.rawValue); only finished jobs can be retried") }
        return job
    }

    /// Cancels a job that has not finished. A running job's lease is revoked at once: its worker's
    /// next heartbeat or report finds the lease gone and stops, and nothing it writes about the job counts.
    public func cancel(id: Int64) async throws -> JobRecord {
        let updated = try await store.transaction { tx in try await self.cancelUnfinished(where: "id = \(id)", in: tx) != nil }
        guard let job = try await job(id: id) else { throw JobAdminError.notFound(id) }
        guard updated else { throw JobAdminError.conflict("job \(id) is already \(job.state.rawValue)") }
        return job
    }

    /// Cancels the unfinished job holding `uniqueKey`, if any, inside the caller's transaction (its owner
    /// giving up on work it no longer wants). Finish hooks run as for any cancel.
    /// - Returns: the cancelled job's id.
    @discardableResult
    public func cancelUnfinished(uniqueKey: String, in tx: any SQLExecutor) async throws -> Int64? {
        try await cancelUnfinished(where: "unique_key = \(uniqueKey)", in: tx)
    }

    /// Cancels the unfinished job matching `condition` (one at most) and runs its finish hook, in `tx`.
    private func cancelUnfinished(where condition: SQL, in tx: any SQLExecutor) async throws -> Int64? {
        let now = clock()
        guard let row = try await tx.first("""
            UPDATE jobs SET state = 'cancelled', finalized_at = \(now), lease_token = NULL, lease_expires_at = NULL, updated_at = \(now)
            WHERE \(condition) AND state IN ('available', 'retryable', 'running')
            RETURNING id, kind, args, attempt
            """)
        else { return nil }
        try await Self.runFinishHook(finishHooks, row: row, ending: .cancelled, in: tx)
        return try row.require("id", row.int)
    }

    /// Deletes a job that is not running (cancel it first).
    public func delete(id: Int64) async throws {
        let hooks = finishHooks
        let deleted = try await store.transaction { tx in
            guard let row = try await tx.first("DELETE FROM jobs WHERE id = \(id) AND state <> 'running' RETURNING id, kind, args, attempt, state")
            else { return false }
            // A job that had not finished ends here: its owner hears of it as of any other ending.
            if let state = JobState(rawValue: try row.require("state", row.string)), !state.isFinished {
                try await Self.runFinishHook(hooks, row: row, ending: .deleted, in: tx)
            }
            return true
        }
        if !deleted {
            guard let job = try await job(id: id) else { throw JobAdminError.notFound(id) }
            throw JobAdminError.conflict("job \(id) is \(job.state.rawValue); cancel it before deleting it")
        }
    }

    /// How long finished jobs are kept: completed and cancelled ones briefly, discarded ones (kept for
    /// inspection and retry) longer, but never without bound.
    public struct Retention: Sendable, Equatable {
        public var maxAge: Duration
        public var keep: Int
        public var discardedMaxAge: Duration
        public var discardedKeep: Int

        public init(maxAge: Duration, keep: Int, discardedMaxAge: Duration = .seconds(7 * 86_400), discardedKeep: Int = 10_000) {
            self.maxAge = maxAge
            self.keep = keep
            self.discardedMaxAge = discardedMaxAge
            self.discardedKeep = discardedKeep
        }
    }

    /// Retention: deletes completed and cancelled jobs finished more than `maxAge` ago or beyond the
    /// newest `keep` of them, and discarded jobs by their own age and count.
    /// - Returns: the number of jobs deleted.
    @discardableResult
    public func prune(_ retention: Retention) async throws -> Int {
        let now = clock()
        return try await store.transaction { tx in
            try await Self.prune(states: "'completed', 'cancelled'", olderThan: now.addingTimeInterval(-retention.maxAge.seconds), keep: retention.keep, in: tx)
                + Self.prune(states: "'discarded'", olderThan: now.addingTimeInterval(-retention.discardedMaxAge.seconds), keep: retention.discardedKeep, in: tx)
        }
    }

    /// Completed and cancelled jobs only, discarded ones by the default retention.
    @discardableResult
    public func prune(maxAge: Duration, keep: Int) async throws -> Int {
        try await prune(Retention(maxAge: maxAge, keep: keep))
    }

    private static func prune(states: String, olderThan cutoff: Date, keep: Int, in tx: any SQLExecutor) async throws -> Int {
        let old = try await tx.query("""
            DELETE FROM jobs WHERE state IN (\(raw: states)) AND finalized_at < \(cutoff) RETURNING id
            """).count
        // The newest `keep` survive; the (state, finalized_at) index finds the boundary.
        guard let boundary = try await tx.first("""
            SELECT finalized_at FROM jobs WHERE state IN (\(raw: states))
            ORDER BY finalized_at DESC LIMIT 1 OFFSET \(keep)
            """), let at = try boundary.date("finalized_at")
        else { return old }
        let surplus = try await tx.query("""
            DELETE FROM jobs WHERE state IN (\(raw: states)) AND finalized_at <= \(at) RETURNING id
            """).count
        return old + surplus
    }

    static func runFinishHook(_ hooks: [String: FinishHook], row: any SQLRow, ending: Ending, in tx: any SQLExecutor) async throws {
        let kind = try row.require("kind", row.string)
        guard let hook = hooks[kind] else { return }
        try await hook(
            FinishedJob(
                id: try row.require("id", row.int), kind: kind, argsJSON: try row.require("args", row.string),
                attempt: Int(try row.require("attempt", row.int)), ending: ending), tx)
    }

    static func decodeRecord(_ row: any SQLRow) throws -> JobRecord {
        let errorsText = try row.string("errors") ?? "[]"
        let errors = (try? JSONDecoder.jobs.decode([JobError].self, from: Data(errorsText.utf8))) ?? []
        return JobRecord(
            id: try row.require("id", row.int), queue: try row.require("queue", row.string), kind: try row.require("kind", row.string),
            argsJSON: try row.require("args", row.string), uniqueKey: try row.string("unique_key"),
            state: JobState(rawValue: try row.require("state", row.string)) ?? .discarded,
            priority: Int(try row.require("priority", row.int)), attempt: Int(try row.require("attempt", row.int)),
            maxAttempts: Int(try row.require("max_attempts", row.int)), runAt: try row.require("run_at", row.date),
            leaseOwner: try row.string("lease_owner"), leaseExpiresAt: try row.date("lease_expires_at"),
            heartbeatAt: try row.date("heartbeat_at"), progress: Int(try row.require("progress", row.int)),
            progressMessage: try row.string("progress_message"), errors: errors,
            createdAt: try row.require("created_at", row.date), attemptedAt: try row.date("attempted_at"),
            finalizedAt: try row.date("finalized_at"), updatedAt: try row.require("updated_at", row.date))
    }
}
