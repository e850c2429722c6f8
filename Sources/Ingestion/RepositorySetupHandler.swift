import Domain
import Foundation
import GitHistory
import GitTransport
import Logging
import Pipeline
import Queue
import Store

/// `repository-setup`: shallow-clone the repository (or fetch what is new into its cached clone) and
/// record the head of its run. What comes next (backfill and analysis of that head) is the lifecycle's
/// to decide, in the transaction that records the head and completes the job.
struct RepositorySetupHandler: JobHandler {
    let ingestion: Ingestion

    func handle(_ job: PipelineJobs.RepositorySetup, context: JobContext) async throws {
        let id = job.repositoryID
        let store = context.store
        let lifecycle = ingestion.lifecycle
        // Gone, failed or finished since, or another run is wanted: nothing to do (the job's end reconciles).
        guard let work = try await store.transaction({ try await lifecycle.begin(job, attempt: context.job.attempt, in: $0) }) else {
            context.logger.info("setup no longer wanted; skipped", metadata: ["repository": "\(id)", "generation": "\(job.generation)"])
            // Recorded on the job (GET /v1/jobs shows it): it ended as stale, having changed nothing.
            try await context.progress(100, "stale: run \(job.generation) is no longer wanted")
            return
        }
        let now = ingestion.clock()
        let remote = try await ingestion.remote(for: work)
        if try await unchangedSinceLastCheck(job, work, remote: remote, context: context, now: now) { return }
        let started = ContinuousClock.now
        let (clone, headDate, mailmap) = try await ingestion.cache.withClone(id) { directory in
            let clone = try await ingestion.refreshClone(remote, in: directory, now: now, logger: context.logger)
            // The head's own date, even when it lies before the window (then the window is empty).
            let newest = try await ingestion.history.walk(repository: directory.path, tip: clone.head, since: .distantPast, limit: 1, stop: [])
            return (clone, newest.first?.committerDate, Ingestion.readMailmap(in: directory))
        }
        context.logger.info(clone.fetched ? "fetched" : "cloned", metadata: [
            "repository": "\(work.repository.url)", "head": "\(clone.head)", "branch": "\(clone.branch)",
            "window_empty": "\(clone.windowEmpty)", "seconds": "\((ContinuousClock.now - started).seconds)",
        ])
        try await store.transaction { tx in
            try await lifecycle.setupFinished(
                job, head: clone.head, branch: clone.branch, headCommittedAt: headDate, windowEmpty: clone.windowEmpty, mailmap: mailmap, in: tx)
            try await context.complete(in: tx)
        }
        ingestion.cache.evict(keeping: id)
    }

    /// A re-check first asks the remote for its head (`git ls-remote`, one round trip). When the head has
    /// not moved since the last complete check and its Scorecard result is still fresh, nothing is fetched,
    /// backfilled or run: the run's stages are recorded done for that head, and the job's end writes the
    /// new report (the activity ages) and makes the repository ready again.
    /// - Returns: true when the re-check ended here.
    private func unchangedSinceLastCheck(
        _ job: PipelineJobs.RepositorySetup, _ work: RepositoryWork, remote: GitRemote, context: JobContext, now: Date
    ) async throws -> Bool {
        let id = work.repository.id
        guard work.repository.state.status == .ready, let head = work.repository.headCommit, work.backfilledHead == head,
            let branch = work.repository.defaultBranch,
            try await context.store.read({ try await $0.freshScorecard(repository: id, head: head, now: now) }) != nil
        else { return false }
        let remoteHead: RemoteHead
        do {
            remoteHead = try await ingestion.git.lsRemote(remote)
        } catch let failure as GitFailure {
            throw Ingestion.pipelineError(failure)
        }
        guard remoteHead.sha == head, remoteHead.branch == branch else { return false }
        let lifecycle = ingestion.lifecycle
        let recorded = try await context.store.transaction { tx in
            let recorded = try await lifecycle.setupFinished(
                job, head: head, branch: branch, headCommittedAt: work.headCommittedAt, windowEmpty: work.windowEmpty, mailmap: work.mailmap,
                unchanged: true, in: tx)
            try await context.complete(in: tx)
            return recorded
        }
        context.logger.info("re-check: head unchanged, result fresh; nothing fetched or run", metadata: [
            "repository": "\(work.repository.url)", "head": "\(head)", "recorded": "\(recorded)",
        ])
        return true
    }
}
