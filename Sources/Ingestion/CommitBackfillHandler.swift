import Domain
import Foundation
import GitHistory
import Logging
import Pipeline
import Queue
import Store

/// `commit-backfill`: store the window's commits (newest first, at most `git.max_commits`) with their stats.
///
/// Resumable by construction: the walk is cheap and repeatable, commits already stored are skipped
/// before their diffs are computed, and each batch is stored with the progress in one transaction — so
/// a killed backfill resumes where it stopped, with no duplicate (the (repository, sha) key) and no gap.
/// Incremental: a re-check walks from the new head down to the head stored last time.
struct CommitBackfillHandler: JobHandler {
    let ingestion: Ingestion

    func handle(_ job: PipelineJobs.CommitBackfill, context: JobContext) async throws {
        let id = job.repositoryID
        let store = context.store
        let lifecycle = ingestion.lifecycle
        // Gone, failed, or another run or head is wanted: nothing to do (the job's end reconciles).
        guard let work = try await store.transaction({ try await lifecycle.begin(job, attempt: context.job.attempt, in: $0) }),
            let head = job.head
        else {
            context.logger.info("backfill no longer wanted; skipped", metadata: ["repository": "\(id)", "generation": "\(job.generation)"])
            // Recorded on the job (GET /v1/jobs shows it): it ended as stale, having changed nothing.
            try await context.progress(100, "stale: run \(job.generation) is no longer wanted")
            return
        }
        let now = ingestion.clock()
        let windowStart = ingestion.windowStart(at: now)
        let result: Ingestion.BackfillResult? = try await ingestion.cache.withClone(id) { directory in
            // An empty window stores nothing: no clone needed.
            if work.windowEmpty { return Ingestion.BackfillResult(walked: 0, skipped: 0, inserted: 0) }
            // The clone must hold the job's head: another host made it, it was evicted, or it is older.
            guard try await ingestion.ensure(head, of: work, in: directory, now: now, logger: context.logger) else { return nil }
            let before = CloneCache.identity(of: directory)
            let result = try await ingestion.backfill(
                repository: id, store: store, clone: directory, head: head,
                stop: work.backfilledHead.map { [$0] } ?? [], windowStart: windowStart
            ) { done, total in
                try await context.progress(done * 100 / max(total, 1), "\(done) of \(total) commits")
            }
            // A clone removed while git read it could have yielded a shorter walk rather than an error: the stage does
            // not finish on it (what was stored stays; the retry walks a fresh clone and stores the rest).
            guard before != nil, CloneCache.identity(of: directory) == before, Ingestion.isClone(directory) else {
                throw PipelineFailure(
                    reason: "clone_removed", message: "the clone was removed while its history was read; the backfill is retried")
            }
            return result
        }
        guard let result else {
            context.logger.warning("the remote no longer has the head to backfill; setup runs again", metadata: [
                "repository": "\(work.repository.url)", "head": "\(head)",
            ])
            try await store.transaction { tx in
                try await lifecycle.headUnavailable(job, in: tx)
                try await context.complete(in: tx)
            }
            return
        }
        try await store.transaction { tx in
            try await lifecycle.backfillFinished(job, windowStart: windowStart, in: tx)
            try await context.complete(in: tx)
        }
        context.logger.info("backfill done", metadata: [
            "repository": "\(work.repository.url)", "window": "\(result.walked)", "already_stored": "\(result.skipped)",
            "inserted": "\(result.inserted)", "head": "\(head)",
        ])
    }
}

extension Ingestion {
    /// What one backfill run did.
    public struct BackfillResult: Sendable, Equatable {
        /// Commits of the window (down to `stop`), as walked.
        public var walked: Int
        /// Of those, already stored before this run (a resumed or repeated run).
        public var skipped: Int
        /// Newly stored by this run.
        public var inserted: Int
    }

    /// Stores the window's commits reachable from `head` in the clone: walks (cheap), skips what is
    /// stored, reads the rest in batches, and stores each batch with the repository's progress in one
    /// transaction. `head` nil means the window is empty: nothing to store. The caller completes the
    /// stage (``SQLExecutor/completeBackfill``), which trims to the window and the cap.
    public func backfill(
        repository id: UUID, store: any Store, clone directory: URL, head: String?, stop: Set<String>, windowStart: Date,
        progress: (_ done: Int, _ total: Int) async throws -> Void = { _, _ in }
    ) async throws -> BackfillResult {
        guard let head else { return Ingestion.BackfillResult(walked: 0, skipped: 0, inserted: 0) }
        let walked = try await history.walk(repository: directory.path, tip: head, since: windowStart, limit: maxCommits, stop: stop)
        let already = try await store.read { try await $0.storedCommitShas(repository: id) }
        let todo = walked.filter { !already.contains($0.sha) }
        let batches = stride(from: 0, to: todo.count, by: batchSize).map { Array(todo[$0..<min($0 + batchSize, todo.count)]) }
        var done = walked.count - todo.count
        var inserted = 0
        // Reading a batch (a git process) and storing the one before (the database) overlap: the next
        // batch is read while the current one is written, so the backfill costs about the larger of the two.
        let history = history
        let path = directory.path
        func read(_ index: Int) -> Task<[Commit], any Error>? {
            guard index < batches.count else { return nil }
            return Task { try await history.records(repository: path, for: batches[index]).map(Commit.init) }
        }
        var next = read(0)
        defer { next?.cancel() }
        for index in batches.indices {
            try Task.checkCancellation()
            guard let reading = next else { break }
            let commits = try await reading.value
            next = read(index + 1)
            done += batches[index].count
            let percent = done * 100 / max(walked.count, 1)
            inserted += try await store.transaction { tx in
                let count = try await tx.insertCommits(commits, repository: id)
                try await tx.reportStageProgress(percent, stage: .backfilling, ofRepository: id, now: clock())
                return count
            }
            try await progress(done, walked.count)
        }
        return BackfillResult(walked: walked.count, skipped: walked.count - todo.count, inserted: inserted)
    }
}
