import Domain
import Foundation
import Logging
import Store

/// The durable job queue, kept in the same database as the entries it works on.
///
/// Every state change is one statement, and every change to a running job is fenced by its lease
/// token (`WHERE id = ? AND state = 'running' AND lease_token = ?`): a worker that lost its lease
/// (it stalled past the expiry, or the job was cancelled) changes nothing, and learns so.
/// Times come from `clock`, so tests can move time; hosts sharing a PostgreSQL must keep their clocks
/// in step (NTP), which leases measured in tens of seconds tolerate easily.
public struct JobQueue: Sendable {
    public let store: any Store
    public let configuration: Configuration
    let clock: @Sendable () -> Date
    let metrics: QueueMetrics?
    /// Per kind, what else changes when a job of that kind ends (see ``onFinish(kind:_:)``).
    var finishHooks: [String: FinishHook] = [:]

    /// Called in the transaction that ends a job, whatever the ending: the records the job works on
    /// change with it (the work a failed job was for is marked failed in the same commit), so they
    /// cannot drift, and no ending can be missed.
    public typealias FinishHook = @Sendable (FinishedJob, any SQLExecutor) async throws -> Void

    /// How a job ended.
    public enum Ending: Sendable, Equatable {
        /// Its handler succeeded.
        case completed
        /// Out of attempts, failed permanently, or its lease expired on the last attempt; the last error.
        case discarded(error: String)
        /// Cancelled by an administrator (or by the code that owns it).
        case cancelled
        /// Deleted by an administrator before it finished.
        case deleted
    }

    /// A job that just ended, as a finish hook sees it.
    public struct FinishedJob: Sendable {
        public let id: Int64
        public let kind: String
        public let argsJSON: String
        public let attempt: Int
        public let ending: Ending

        /// The arguments, decoded.
        public func arguments<A: JobArguments>(as type: A.Type) throws -> A {
            try JSONDecoder.jobs.decode(A.self, from: Data(argsJSON.utf8))
        }
    }

    /// The queue with `hook` run whenever a job of `kind` ends — completed, discarded, cancelled or
    /// deleted before it finished — inside the transaction that ends it.
    public func onFinish(kind: String, _ hook: @escaping FinishHook) -> JobQueue {
        var copy = self
        copy.finishHooks[kind] = hook
        return copy
    }

    /// The queue's settings.
    public struct Configuration: Sendable {
        /// Attempts before a job is discarded, unless it was enqueued with its own.
        public var maxAttempts: Int
        public var retry: RetryPolicy
        /// How long a claimed job is leased; handlers heartbeat every third of it.
        public var lease: Duration
        /// Per-kind leases (long for clones and backfills, short for probes).
        public var leaseByKind: [String: Duration]
        /// Per-kind retry policies (webhook deliveries back off over hours, not seconds).
        public var retryByKind: [String: RetryPolicy]
        /// Per-kind attempts, for jobs enqueued without their own.
        public var maxAttemptsByKind: [String: Int]

        public init(
            maxAttempts: Int = 3, retry: RetryPolicy = .default, lease: Duration = .seconds(60), leaseByKind: [String: Duration] = [:],
            retryByKind: [String: RetryPolicy] = [:], maxAttemptsByKind: [String: Int] = [:]
        ) {
            self.maxAttempts = maxAttempts
            self.retry = retry
            self.lease = lease
            self.leaseByKind = leaseByKind
            self.retryByKind = retryByKind
            self.maxAttemptsByKind = maxAttemptsByKind
        }

        public func lease(for kind: String) -> Duration { leaseByKind[kind] ?? lease }
        public func retry(for kind: String) -> RetryPolicy { retryByKind[kind] ?? retry }
    }

    /// The notification channel on which enqueues wake idle workers (payload: the queue name).
    public static let channel = "repowatch_jobs"

    public init(store: any Store, configuration: Configuration = .init(), metrics: QueueMetrics? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.clock = clock
    }

    public var now: Date { clock() }

    // MARK: Enqueue

    /// Enqueues a job inside the caller's transaction: it exists if and only if that transaction commits.
    ///
    /// Idempotent by `options.uniqueKey`: a partial unique index over unfinished jobs makes a second
    /// job with the same key impossible, whatever the race; the loser gets the existing job's id.
    @discardableResult
    public func enqueue<A: JobArguments>(_ args: A, options: JobOptions = .init(), in tx: any SQLExecutor) async throws -> EnqueueResult {
        let text = String(decoding: try JSONEncoder.jobs.encode(args), as: UTF8.self)
        return try await enqueue(kind: A.kind, argsJSON: text, queue: options.queue ?? A.queue, options: options, in: tx)
    }

    /// Untyped form, for callers that only have the kind's name (CLI, admin).
    @discardableResult
    public func enqueue(kind: String, argsJSON: String, queue: String, options: JobOptions = .init(), in tx: any SQLExecutor) async throws -> EnqueueResult {
        let now = clock()
        let maxAttempts = options.maxAttempts ?? configuration.maxAttemptsByKind[kind] ?? configuration.maxAttempts
        // Two rounds at most: a conflicting job that finishes between our INSERT and SELECT frees the key.
        for _ in 0..<2 {
            let insert: SQL = """
                INSERT INTO jobs (queue, kind, args, unique_key, state, priority, attempt, max_attempts, run_at, errors, created_at, updated_at)
                VALUES (\(queue), \(kind), \(SQLValue.json(argsJSON)), \(options.uniqueKey), 'available', \(options.priority), 0,
                        \(maxAttempts), \(options.runAt ?? now), \(SQLValue.json("[]")), \(now), \(now))
                ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running', 'retryable') DO NOTHING
                RETURNING id
                """
            let inserted = try await tx.first(insert.prepared())
            if let inserted {
                if tx.dialect == .postgres {
                    // Delivered on commit only; wakes an idle worker at once instead of at its next poll.
                    try await tx.execute("SELECT pg_notify(\(Self.channel), \(queue))")
                }
                metrics?.enqueued(queue: queue, kind: kind)
                return EnqueueResult(jobID: try inserted.require("id", inserted.int), inserted: true)
            }
            if let key = options.uniqueKey, options.replacesWaiting,
                let replaced = try await tx.first("""
                    UPDATE jobs SET args = \(SQLValue.json(argsJSON)), attempt = 0, run_at = \(options.runAt ?? now), updated_at = \(now)
                    WHERE unique_key = \(key) AND state IN ('available', 'retryable') AND kind = \(kind)
                        AND args <> \(sqlite: "", postgres: "CAST(")\(SQLValue.json(argsJSON))\(sqlite: "", postgres: " AS jsonb)")
                    RETURNING id
                    """)
            {
                if tx.dialect == .postgres { try await tx.execute("SELECT pg_notify(\(Self.channel), \(queue))") }
                return EnqueueResult(jobID: try replaced.require("id", replaced.int), inserted: false, replaced: true)
            }
            if let key = options.uniqueKey,
                let existing = try await tx.first(
                    "SELECT id FROM jobs WHERE unique_key = \(key) AND state IN ('available', 'running', 'retryable')")
            {
                return EnqueueResult(jobID: try existing.require("id", existing.int), inserted: false)
            }
        }
        throw StoreError.corrupt("job with unique key \(options.uniqueKey ?? "") neither inserted nor found")
    }

    /// Enqueues in a transaction of its own.
    @discardableResult
    public func enqueue<A: JobArguments>(_ args: A, options: JobOptions = .init()) async throws -> EnqueueResult {
        try await store.transaction { try await self.enqueue(args, options: options, in: $0) }
    }

    // MARK: Claim

    /// Claims up to `limit` due jobs of `queue` for `owner`, highest priority first, then oldest.
    ///
    /// PostgreSQL: one statement, `FOR UPDATE SKIP LOCKED`, so concurrent claimers take disjoint jobs
    /// without waiting on each other; the candidate ids are computed once (`ARRAY(…)`, an InitPlan) so
    /// the planner cannot re-run the LIMIT per row. SQLite: the same statement on the single writer.
    public func claim(queue: String, limit: Int, owner: String, kinds: [String]? = nil) async throws -> [ClaimedJob] {
        guard limit > 0 else { return [] }
        let now = clock()
        let token = UUID()
        // One lease length per claim: the batch is of one queue, whose kinds share a lease unless set per kind.
        let leaseSeconds = kinds.map { $0.map { configuration.lease(for: $0).seconds }.max() ?? configuration.lease.seconds }
            ?? configuration.lease.seconds
        let expires = now.addingTimeInterval(leaseSeconds)
        var filter: SQL = ""
        if let kinds {
            guard !kinds.isEmpty else { return [] }
            filter = " AND kind IN (" + kinds.enumerated().map { i, k -> SQL in i == 0 ? "\(k)" : ", \(k)" }.reduce("", +) + ")"
        }
        let candidates: SQL = """
            SELECT id FROM jobs
            WHERE queue = \(queue) AND state IN ('available', 'retryable') AND run_at <= \(now)\(filter)
            ORDER BY priority, run_at, id
            LIMIT \(limit)
            """
        let claim: SQL = """
            UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = \(now), lease_token = \(token),
                lease_owner = \(owner), lease_expires_at = \(expires), heartbeat_at = \(now), progress = 0,
                progress_message = NULL, updated_at = \(now)
            WHERE \(sqlite: "id IN (", postgres: "id = ANY(ARRAY(")\(candidates)\(sqlite: ")", postgres: " FOR UPDATE SKIP LOCKED))")
            RETURNING id, queue, kind, args, attempt, max_attempts, priority, run_at
            """
        // One statement, so no explicit transaction: one round trip on PostgreSQL.
        let rows = try await store.write(claim.prepared())
        let jobs = try rows.map { row in
            ClaimedJob(
                id: try row.require("id", row.int), queue: try row.require("queue", row.string), kind: try row.require("kind", row.string),
                argsJSON: try row.require("args", row.string), attempt: Int(try row.require("attempt", row.int)),
                maxAttempts: Int(try row.require("max_attempts", row.int)), priority: Int(try row.require("priority", row.int)),
                runAt: try row.require("run_at", row.date), leaseToken: token, leaseExpiresAt: expires)
        }
        // RETURNING does not promise an order.
        return jobs.sorted { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
    }

    // MARK: Fenced transitions of a running job

    /// Extends the lease. False when the lease is lost: stop working on the job.
    public func heartbeat(_ job: ClaimedJob) async throws -> Bool {
        let now = clock()
        let expires = now.addingTimeInterval(configuration.lease(for: job.kind).seconds)
        return try await fenced(job) { "lease_expires_at = \(expires), heartbeat_at = \(now), updated_at = \(now)" }
    }

    /// Records progress (0...100 and a message) for the status endpoint. False when the lease is lost.
    public func reportProgress(_ job: ClaimedJob, percent: Int, message: String?) async throws -> Bool {
        let now = clock()
        let percent = min(max(percent, 0), 100)
        return try await fenced(job) { "progress = \(percent), progress_message = \(message), updated_at = \(now)" }
    }

    /// Marks the job completed. Pass `tx` to complete it in the transaction that records its work
    /// (then the work and the completion commit together). False when the lease was lost: whatever
    /// the caller did in `tx` should be rolled back (throw ``LeaseLost``).
    public func complete(_ job: ClaimedJob, in tx: (any SQLExecutor)? = nil) async throws -> Bool {
        let now = clock()
        let update: SQL = """
            state = 'completed', progress = 100, finalized_at = \(now), lease_token = NULL, lease_expires_at = NULL, updated_at = \(now)
            """
        let done: Bool
        if let hook = finishHooks[job.kind] {
            let finished = FinishedJob(id: job.id, kind: job.kind, argsJSON: job.argsJSON, attempt: job.attempt, ending: .completed)
            let body: @Sendable (any SQLExecutor) async throws -> Bool = { tx in
                guard try await self.fenced(job, in: tx, { update }) else { return false }
                try await hook(finished, tx)
                return true
            }
            if let tx { done = try await body(tx) } else { done = try await store.transaction(body) }
        } else {
            done = try await fenced(job, in: tx) { update }
        }
        if done { metrics?.finished(job, outcome: .completed, at: now) }
        return done
    }

    /// Completes many jobs in one statement (each still fenced by its own lease token): what workers
    /// use, so that a busy queue pays one round trip per batch of completions instead of one per job.
    /// - Returns: the ids that were completed; the others had lost their lease.
    public func complete(_ jobs: [ClaimedJob]) async throws -> Set<Int64> {
        // Kinds with a finish hook end one by one, each in a transaction with its hook.
        var done: Set<Int64> = []
        for job in jobs where finishHooks[job.kind] != nil {
            if try await complete(job) { done.insert(job.id) }
        }
        return done.union(try await completeInOneStatement(jobs.filter { finishHooks[$0.kind] == nil }))
    }

    private func completeInOneStatement(_ jobs: [ClaimedJob]) async throws -> Set<Int64> {
        guard !jobs.isEmpty else { return [] }
        let now = clock()
        var pairs: SQL = ""
        for (i, job) in jobs.enumerated() {
            pairs = pairs + (i == 0 ? "(\(job.id), \(job.leaseToken))" : ", (\(job.id), \(job.leaseToken))")
        }
        let rows = try await store.write("""
            UPDATE jobs SET state = 'completed', progress = 100, finalized_at = \(now), lease_token = NULL, lease_expires_at = NULL,
                updated_at = \(now)
            WHERE state = 'running' AND (id, lease_token) IN (VALUES \(pairs))
            RETURNING id
            """)
        let done = Set(try rows.map { try $0.require("id", $0.int) })
        for job in jobs where done.contains(job.id) { metrics?.finished(job, outcome: .completed, at: now) }
        return done
    }

    /// Records a failed attempt: retryable at `base · 2^attempt` (± jitter) while attempts are left,
    /// else discarded and kept with its errors. A ``JobFailure`` can ask to discard now, to snooze, or for a
    /// later retry (``JobFailure/retry(noSoonerThan:reason:)``).
    /// - Returns: the state the job went to, or nil when the lease was lost.
    @discardableResult
    public func fail(_ job: ClaimedJob, error: any Error) async throws -> JobState? {
        let now = clock()
        let message = String(describing: error)
        if let failure = error as? JobFailure, case .snooze(let delay) = failure.action {
            // Not the job's fault: the attempt is given back.
            let runAt = now.addingTimeInterval(delay.seconds)
            let ok = try await fenced(job) {
                """
                state = 'available', attempt = attempt - 1, run_at = \(runAt), lease_token = NULL, lease_expires_at = NULL,
                progress_message = \(message), updated_at = \(now)
                """
            }
            return ok ? .available : nil
        }
        let permanent = (error as? JobFailure).map { if case .discard = $0.action { true } else { false } } ?? false
        let next: JobState = permanent || job.attempt >= job.maxAttempts ? .discarded : .retryable
        let retry = configuration.retry(for: job.kind)
        var delay = retry.delay(afterAttempt: job.attempt)
        if let failure = error as? JobFailure, case .retryNoSoonerThan(let wait) = failure.action {
            delay = max(delay, min(wait, retry.maximum))
        }
        let runAt = next == .retryable ? now.addingTimeInterval(delay.seconds) : now
        let entry = String(decoding: try JSONEncoder.jobs.encode(JobError(attempt: job.attempt, at: now, error: message)), as: UTF8.self)
        let update: SQL = """
            state = \(next.rawValue), run_at = \(runAt), errors = \(Self.appendError(entry)), lease_token = NULL,
            lease_expires_at = NULL, finalized_at = \(next == .discarded ? now : nil), updated_at = \(now)
            """
        let ok: Bool
        if next == .discarded, let hook = finishHooks[job.kind] {
            let discarded = FinishedJob(id: job.id, kind: job.kind, argsJSON: job.argsJSON, attempt: job.attempt, ending: .discarded(error: message))
            ok = try await store.transaction { tx in
                guard try await self.fenced(job, in: tx, { update }) else { return false }
                try await hook(discarded, tx)
                return true
            }
        } else {
            ok = try await fenced(job, { update })
        }
        guard ok else { return nil }
        metrics?.finished(job, outcome: next == .discarded ? .discarded : .retried, at: now)
        return next
    }

    /// Gives a job back without using an attempt (a worker shutting down before it could finish).
    public func release(_ job: ClaimedJob) async throws -> Bool {
        let now = clock()
        return try await fenced(job) {
            "state = 'available', attempt = attempt - 1, run_at = \(now), lease_token = NULL, lease_expires_at = NULL, updated_at = \(now)"
        }
    }

    /// `UPDATE jobs SET <set> WHERE id = ? AND state = 'running' AND lease_token = ?`; true when it changed the row.
    private func fenced(_ job: ClaimedJob, in tx: (any SQLExecutor)? = nil, _ set: () -> SQL) async throws -> Bool {
        let sql = ("UPDATE jobs SET \(set()) WHERE id = \(job.id) AND state = 'running' AND lease_token = \(job.leaseToken) RETURNING id" as SQL)
            .prepared()
        if let tx { return try await !tx.query(sql).isEmpty }
        return try await !store.write(sql).isEmpty
    }

    /// Appends one error object to the `errors` array, in each engine's JSON dialect.
    static func appendError(_ entry: String) -> SQL {
        "\(sqlite: "json_insert(errors, '$[#]', json(", postgres: "(errors || jsonb_build_array(")\(SQLValue.json(entry))\(sqlite: "))", postgres: "))")"
    }

    // MARK: Rescue

    /// Returns running jobs whose lease expired to the queue (retryable, with a "lease expired" error),
    /// or discards them when they are out of attempts. Any worker runs this; it does not depend on a
    /// leader staying alive. The `WHERE` is evaluated again on each row as it is updated, so a job that
    /// completed in the meantime is left alone (River#1302's race).
    /// - Returns: the rescued jobs' ids and the states they went to.
    @discardableResult
    public func rescueExpiredLeases() async throws -> [(id: Int64, state: JobState)] {
        let now = clock()
        let entry = String(decoding: try JSONEncoder.jobs.encode(JobError(attempt: 0, at: now, error: "lease expired")), as: UTF8.self)
        let update: SQL = """
            UPDATE jobs SET
                state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
                finalized_at = CASE WHEN attempt >= max_attempts THEN \(now) ELSE NULL END,
                errors = \(Self.appendError(entry)), run_at = \(now), lease_token = NULL, lease_expires_at = NULL, updated_at = \(now)
            WHERE state = 'running' AND lease_expires_at < \(now)
            RETURNING id, queue, kind, state, args, attempt
            """
        let hooks = finishHooks
        // Without hooks, one autocommit statement; with hooks, the discards and their hooks commit together.
        let rows = hooks.isEmpty
            ? try await store.write(update)
            : try await store.transaction { tx in
                let rows = try await tx.query(update)
                for row in rows where try row.string("state") == JobState.discarded.rawValue {
                    let kind = try row.require("kind", row.string)
                    guard let hook = hooks[kind] else { continue }
                    try await hook(
                        FinishedJob(
                            id: try row.require("id", row.int), kind: kind, argsJSON: try row.require("args", row.string),
                            attempt: Int(try row.require("attempt", row.int)), ending: .discarded(error: "lease expired on the last attempt")), tx)
                }
                return rows
            }
        let rescued = try rows.map { row in
            (id: try row.require("id", row.int), state: JobState(rawValue: try row.require("state", row.string)) ?? .retryable,
             queue: try row.require("queue", row.string), kind: try row.require("kind", row.string))
        }
        for job in rescued { metrics?.leaseExpired(queue: job.queue, kind: job.kind) }
        return rescued.map { ($0.id, $0.state) }
    }
}

/// A worker's lease on a job is gone: it expired and was rescued, or the job was cancelled.
public struct LeaseLost: Error, CustomStringConvertible {
    public let jobID: Int64
    public var description: String { "lost the lease on job \(jobID)" }
}
