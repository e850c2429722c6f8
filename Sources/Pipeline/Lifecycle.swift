import Domain
import Foundation
import Queue
import Store

/// The one owner of a repository's lifecycle: what is wanted of it, what each stage's end means, and
/// the reconciliation that compares the two.
///
/// **Wanted and done.** Each request for a run — the add, a retry, a re-check (asked or scheduled) —
/// raises the repository's `generation`. Setup records the head of a generation; backfill and analysis
/// record the generation (and head) they finished for. A repository that is `processing` or
/// `refreshing` owes every stage whose generation is behind.
///
/// **The invariant.** A repository that is `processing` or `refreshing` always has an unfinished
/// pipeline job, and the end of that job — completed, discarded, cancelled or deleted — reconciles it;
/// otherwise it is `ready`, or `failed` with a reason. ``reconcile(repository:in:)`` restores it from
/// the row alone (level-triggered): it enqueues what is owed, or completes the run when nothing is. It
/// runs in the transaction that ends every pipeline job (the queue's finish hooks), in the transaction
/// of every request, and periodically from the leader over repositories that nothing moves on
/// (``ReconcileHandler``), so a missed edge is repaired within one interval.
///
/// **Stale work.** A job whose generation or head is no longer wanted does nothing and ends; its end
/// reconciles like any other. A failure, cancel or delete of a stage that is still owed ends the run:
/// `failed` on a first run, a backed-off re-check (the last report kept) on a ready repository.
public struct Lifecycle: Sendable {
    /// The queue the next stages are enqueued on (inside the caller's transaction).
    public let queue: JobQueue
    public let schedule: CheckSchedule
    public let clock: @Sendable () -> Date

    public init(queue: JobQueue, schedule: CheckSchedule, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.queue = queue
        self.schedule = schedule
        self.clock = clock
    }

    /// `queue` with this lifecycle's finish hooks on every stage kind: whatever ends a stage's job —
    /// its handler, its last failure, a lease lost on its last attempt, an administrator's cancel or
    /// delete — reconciles its repository in the same transaction.
    public func installed(on queue: JobQueue) -> JobQueue {
        var queue = queue
        for kind in PipelineJobs.stageKinds {
            queue = queue.onFinish(kind: kind) { job, tx in try await self.stageJobEnded(job, in: tx) }
        }
        return queue
    }

    // MARK: Requests

    /// A repository was added to a watchlist (new or not): makes sure its work is under way.
    /// - Parameter entry: the entry, when the add created it: its `processing` alert is owed when the run ends (now, when
    ///   none is under way).
    public func added(repository id: UUID, entry: UUID? = nil, in tx: any SQLExecutor) async throws {
        try await reconcile(repository: id, in: tx)
        if let entry { try await requestProcessingAlert(entry: entry, repository: id, in: tx) }
    }

    /// `POST …/retry`: a failed repository starts over as a new run.
    ///
    /// - Parameter automatic: true for the scheduler's own retry after a transient failure, which counts toward
    ///   ``CheckSchedule/maxTransientRetries``; a user's retry (the default) starts that count again. Either way
    ///   the planned retry (`next_check_at`) is cleared: the run that starts now is the retry, and the end of the run
    ///   plans the next check.
    /// - Parameter entry: the entry whose owner asked (its `processing` alert is owed when the run ends).
    public func retry(repository id: UUID, automatic: Bool = false, requestedBy entry: UUID? = nil, in tx: any SQLExecutor) async throws -> RestartOutcome? {
        guard let work = try await tx.repositoryWork(id: id) else { return nil }
        let state = work.repository.state
        guard state.status == .failed else { return .refused(state) }
        let next = try state.retry()
        try await tx.setState(next, ofRepository: id, now: clock())
        try await tx.recordRecheckFailure(ofRepository: id, failures: automatic ? work.recheckFailures : 0, nextCheckAt: nil)
        try await tx.recordFailure(ofRepository: id, reason: nil, attempts: 0)
        try await tx.requestGeneration(ofRepository: id)
        try await reconcile(repository: id, in: tx)
        if let entry { try await requestProcessingAlert(entry: entry, repository: id, in: tx) }
        return .restarted(next)
    }

    /// `POST …/recheck` or a scheduled re-check: look again now. A ready repository stays ready and is
    /// marked refreshing; one being processed starts a new run (the running stages end as stale), so the
    /// newest head is looked at. Refused for a failed repository (retry it).
    /// - Parameter entry: the entry whose owner asked (its `processing` alert is owed when the run ends); nil for the
    ///   scheduler's re-checks, which raise no `processing` alert.
    public func recheck(repository id: UUID, requestedBy entry: UUID? = nil, in tx: any SQLExecutor) async throws -> RestartOutcome? {
        guard let work = try await tx.repositoryWork(id: id) else { return nil }
        var state = work.repository.state
        switch state.status {
        case .failed:
            return .refused(state)
        case .ready where !state.refreshing:
            state = try state.recheck()
            try await tx.setState(state, ofRepository: id, now: clock())
        case .ready, .processing:
            // Work under way whose setup has not recorded a head yet will look at the newest one anyway:
            // asking again then changes nothing (and cannot keep a repository processing forever).
            guard work.setupGeneration == work.generation else {
                try await reconcile(repository: id, in: tx)
                if let entry { try await requestProcessingAlert(entry: entry, repository: id, in: tx) }
                return .restarted(state)
            }
        }
        try await tx.requestGeneration(ofRepository: id)
        try await reconcile(repository: id, in: tx)
        if let entry { try await requestProcessingAlert(entry: entry, repository: id, in: tx) }
        return .restarted(state)
    }

    /// The last entry on a repository was deleted (its clean-up job runs this): the repository goes, with
    /// its commits and reports, and its unfinished stage jobs are cancelled. Does nothing when someone
    /// added it again in the meantime.
    /// - Returns: true when the repository was deleted.
    public func removeUnwatched(repository id: UUID, in tx: any SQLExecutor) async throws -> Bool {
        guard try await tx.deleteUnwatchedRepository(id: id) else { return false }
        for kind in PipelineJobs.stageKinds {
            try await queue.cancelUnfinished(uniqueKey: PipelineJobs.uniqueKey(kind: kind, repository: id), in: tx)
        }
        return true
    }

    // MARK: Stages

    /// A worker begins a stage's job: returns the repository when the job is still wanted (and shows the
    /// stage on it), or nil when it is stale — the repository is gone, no longer being worked on, or wants
    /// another run or head. A stale job does nothing; ending it reconciles.
    public func begin<J: StageJob>(_ job: J, attempt: Int, in tx: any SQLExecutor) async throws -> RepositoryWork? {
        guard let work = try await tx.repositoryWork(id: job.repositoryID), Self.owes(work, job) else { return nil }
        let now = clock()
        let state = work.repository.state
        switch J.kind {
        case PipelineJobs.RepositorySetup.kind:
            try await tx.setState(try state.start(.cloning, at: now), ofRepository: job.repositoryID, now: now)
        case PipelineJobs.CommitBackfill.kind where state.stage != .backfilling:
            try await tx.setState(try state.start(.backfilling, at: now), ofRepository: job.repositoryID, now: now)
        case PipelineJobs.HealthAnalysis.kind where state.stage != .analyzing && work.backfillGeneration == job.generation:
            try await tx.setState(try state.start(.analyzing, at: now), ofRepository: job.repositoryID, now: now)
        default:
            break
        }
        try await tx.recordAttempts(attempt, ofRepository: job.repositoryID)
        return work
    }

    /// What a setup found. With `unchanged` (a re-check whose head has not moved, with a fresh
    /// Scorecard result and its window stored), backfill and analysis are done for this run as well.
    /// - Returns: false when the job had become stale (nothing recorded).
    @discardableResult
    public func setupFinished(
        _ job: PipelineJobs.RepositorySetup, head: String, branch: String, headCommittedAt: Date?, windowEmpty: Bool, mailmap: String?,
        unchanged: Bool = false, in tx: any SQLExecutor
    ) async throws -> Bool {
        guard let work = try await tx.repositoryWork(id: job.repositoryID), Self.owes(work, job) else { return false }
        let id = job.repositoryID
        try await tx.recordSetup(
            ofRepository: id, generation: job.generation, head: head, branch: branch, headCommittedAt: headCommittedAt,
            windowEmpty: windowEmpty, mailmap: mailmap)
        if unchanged {
            // The window moves with time: trim what fell out of it, as a backfill would.
            try await tx.recordBackfill(
                ofRepository: id, generation: job.generation, head: head, windowStart: clock().addingTimeInterval(-schedule.window.seconds),
                keep: schedule.maxCommits)
            try await tx.recordAnalysis(ofRepository: id, generation: job.generation, head: head)
        } else {
            let now = clock()
            try await tx.setState(try work.repository.state.start(.backfilling, at: now), ofRepository: id, now: now)
        }
        return true
    }

    /// The backfill stored the window up to its head: trims to the window and the cap.
    /// - Returns: false when the job had become stale (nothing recorded).
    @discardableResult
    public func backfillFinished(_ job: PipelineJobs.CommitBackfill, windowStart: Date, in tx: any SQLExecutor) async throws -> Bool {
        guard let head = job.head, let work = try await tx.repositoryWork(id: job.repositoryID), Self.owes(work, job) else { return false }
        try await tx.recordBackfill(
            ofRepository: job.repositoryID, generation: job.generation, head: head, windowStart: windowStart, keep: schedule.maxCommits)
        if work.analysisGeneration != job.generation {
            let now = clock()
            try await tx.setState(try work.repository.state.start(.analyzing, at: now), ofRepository: job.repositoryID, now: now)
        }
        return true
    }

    /// The analysis of the job's head is done (its result is stored).
    /// - Returns: false when the job had become stale (nothing recorded).
    @discardableResult
    public func analysisFinished(_ job: PipelineJobs.HealthAnalysis, in tx: any SQLExecutor) async throws -> Bool {
        guard let head = job.head, let work = try await tx.repositoryWork(id: job.repositoryID), Self.owes(work, job) else { return false }
        try await tx.recordAnalysis(ofRepository: job.repositoryID, generation: job.generation, head: head)
        return true
    }

    /// A stage could not get the head it is for (the remote no longer has it: a force push): a new run
    /// starts, whose setup records the head there is now. (A new run, not the same run's setup again: the
    /// stages already done for the vanished head must be done again for the new one.)
    public func headUnavailable<J: StageJob>(_ job: J, in tx: any SQLExecutor) async throws {
        guard let work = try await tx.repositoryWork(id: job.repositoryID), Self.owes(work, job) else { return }
        try await tx.requestGeneration(ofRepository: job.repositoryID)
    }

    // MARK: Reconciliation

    /// What ``reconcile(repository:in:)`` did.
    public enum ReconcileOutcome: Sendable, Equatable {
        /// Nothing to do: the repository is gone, `ready` or `failed`.
        case idle
        /// The stages it owes have unfinished jobs (enqueued now, or already there).
        case waiting(owed: [String])
        /// Nothing was owed: the run completed, with this report.
        case completed(HealthReportRecord)
    }

    /// Compares what the repository wants with what is done, and enqueues what is missing — or, when
    /// nothing is, writes the health report and makes it `ready`. Idempotent: the unique keys make a
    /// second enqueue of an owed stage find the first; a waiting job for an older run takes the new one.
    @discardableResult
    public func reconcile(repository id: UUID, in tx: any SQLExecutor) async throws -> ReconcileOutcome {
        guard let work = try await tx.repositoryWork(id: id), work.repository.state.isActive else { return .idle }
        let generation = work.generation
        guard work.setupGeneration == generation, let head = work.repository.headCommit else {
            let setup = PipelineJobs.RepositorySetup(repositoryID: id, generation: generation)
            try await queue.enqueue(setup, options: setup.options, in: tx)
            return .waiting(owed: [PipelineJobs.RepositorySetup.kind])
        }
        var owed: [String] = []
        if work.backfillGeneration != generation {
            let backfill = PipelineJobs.CommitBackfill(repositoryID: id, generation: generation, head: head)
            try await queue.enqueue(backfill, options: backfill.options, in: tx)
            owed.append(PipelineJobs.CommitBackfill.kind)
        }
        if work.analysisGeneration != generation {
            let analysis = PipelineJobs.HealthAnalysis(repositoryID: id, generation: generation, head: head)
            try await queue.enqueue(analysis, options: analysis.options, in: tx)
            owed.append(PipelineJobs.HealthAnalysis.kind)
        }
        if !owed.isEmpty { return .waiting(owed: owed) }
        return .completed(try await complete(work, head: head, in: tx))
    }

    /// Every stage of the run is done for `head`: the health report is written, the repository becomes
    /// `ready` (a re-check ends `refreshing`), its next check is scheduled, and the entries' alert rules compare the
    /// report with the previous one (``reportWritten(_:previous:in:)``).
    private func complete(_ work: RepositoryWork, head: String, in tx: any SQLExecutor) async throws -> HealthReportRecord {
        let id = work.repository.id
        let now = clock()
        let previous = try await tx.latestHealthReport(repository: id)
        let report = try await HealthReportBuilder.build(work, head: head, previous: previous, window: schedule.window, now: now, in: tx)
        try await tx.insertHealthReport(report)
        try await tx.setState(try work.repository.state.complete(at: now), ofRepository: id, now: now)
        let asked = try await tx.shortestCheckInterval(repository: id)
        try await tx.recordCheck(ofRepository: id, healthScore: report.healthScore, at: now, nextCheckAt: schedule.nextCheck(after: now, asked: asked))
        try await reportWritten(report, previous: previous, in: tx)
        return report
    }

    /// The finish hook of every stage kind.
    func stageJobEnded(_ finished: JobQueue.FinishedJob, in tx: any SQLExecutor) async throws {
        let job: any StageJob
        switch finished.kind {
        case PipelineJobs.RepositorySetup.kind: job = try finished.arguments(as: PipelineJobs.RepositorySetup.self)
        case PipelineJobs.CommitBackfill.kind: job = try finished.arguments(as: PipelineJobs.CommitBackfill.self)
        case PipelineJobs.HealthAnalysis.kind: job = try finished.arguments(as: PipelineJobs.HealthAnalysis.self)
        default: return
        }
        if let failure = Self.failure(of: finished), let work = try await tx.repositoryWork(id: job.repositoryID), Self.owes(work, job),
            let stage = PipelineJobs.stage(ofKind: finished.kind)
        {
            try await fail(work, stage: stage, failure: failure, attempts: finished.attempt, in: tx)
        }
        try await reconcile(repository: job.repositoryID, in: tx)
    }

    /// Why a stage's job ended without doing its work, or nil when it completed.
    static func failure(of job: JobQueue.FinishedJob) -> PipelineFailure? {
        switch job.ending {
        case .completed: nil
        case .discarded(let error): PipelineFailure.parse(error)
        case .cancelled: PipelineFailure(reason: "cancelled", message: "the \(job.kind) job was cancelled")
        case .deleted: PipelineFailure(reason: "cancelled", message: "the \(job.kind) job was deleted before it finished")
        }
    }

    /// A stage the run still owes gave up. On a first run the repository becomes `failed` (retried by the
    /// scheduler later when the reason is transient: ``CheckSchedule/transient``). A re-check
    /// keeps the last report, records the error, and is tried again later, backing off; a remote that
    /// is gone or refuses the token makes the repository `failed` after a few re-checks in a row.
    private func fail(_ work: RepositoryWork, stage: ProcessingStage, failure: PipelineFailure, attempts: Int, in tx: any SQLExecutor) async throws {
        let id = work.repository.id
        let now = clock()
        var state = work.repository.state
        if state.stage != stage { state = try state.start(stage, at: now) }
        let next: ProcessingState
        if state.refreshing {
            // The run is abandoned: the repository shows the last completed check again — its report's head.
            try await tx.restoreReportedHead(ofRepository: id)
            let failures = work.recheckFailures + 1
            if CheckSchedule.refused.contains(failure.reason)
                || (CheckSchedule.gone.contains(failure.reason) && failures >= schedule.maxRecheckFailures)
            {
                next = try state.abandon(reason: failure.description, at: now)
                try await tx.recordRecheckFailure(ofRepository: id, failures: failures, nextCheckAt: nil)
            } else {
                next = try state.fail(reason: failure.description, at: now)
                try await tx.recordRecheckFailure(ofRepository: id, failures: failures, nextCheckAt: schedule.nextCheck(afterFailures: failures, at: now))
            }
        } else {
            next = try state.fail(reason: failure.description, at: now)
            // A transient failure is tried again by the scheduler later (`next_check_at`); any other clears a
            // retry that an earlier failure had planned.
            let failures = work.recheckFailures + 1
            let retryAt = schedule.retryAfterTransientFailure(failures, stage: stage, reason: failure.reason, at: now)
            try await tx.recordRecheckFailure(
                ofRepository: id, failures: retryAt == nil ? work.recheckFailures : failures, nextCheckAt: retryAt)
        }
        try await tx.setState(next, ofRepository: id, now: now)
        try await tx.recordFailure(ofRepository: id, reason: failure.reason, attempts: attempts)
        try await runEndedWithoutReport(repository: id, failed: next.status == .failed, reason: failure.description, in: tx)
    }

    /// True while the repository wants `job`'s stage done for `job`'s run and head.
    static func owes<J: StageJob>(_ work: RepositoryWork, _ job: J) -> Bool {
        guard work.repository.state.isActive, work.generation == job.generation else { return false }
        switch J.kind {
        case PipelineJobs.RepositorySetup.kind:
            return work.setupGeneration != job.generation
        case PipelineJobs.CommitBackfill.kind:
            return work.setupGeneration == job.generation && work.repository.headCommit == job.head && work.backfillGeneration != job.generation
        case PipelineJobs.HealthAnalysis.kind:
            return work.setupGeneration == job.generation && work.repository.headCommit == job.head && work.analysisGeneration != job.generation
        default:
            return false
        }
    }
}

/// What `POST /v1/watchlist/{id}/retry` and `…/recheck` did to the repository's state.
public enum RestartOutcome: Sendable, Equatable {
    case restarted(ProcessingState)
    /// The state does not allow it (retry of a repository that has not failed; re-check of a failed one).
    case refused(ProcessingState)
}
