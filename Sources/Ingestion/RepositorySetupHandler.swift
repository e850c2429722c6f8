import Domain
import Foundation
import GitHistory
import GitTransport
import Logging
import Queue
import Store

/// `repository-setup`: shallow-clone the repository (or fetch what is new into its cached clone),
/// record its head and default branch, and enqueue `commit-backfill` and `health-analysis` — in the
/// transaction that records the step and completes the job, so the next steps exist exactly when this
/// one is done.
struct RepositorySetupHandler: JobHandler {
    let ingestion: Ingestion

    func handle(_ arguments: PipelineJobs.RepositorySetup, context: JobContext) async throws {
        let id = arguments.repositoryID
        let store = context.store
        let now = ingestion.clock()
        // A repository deleted since the job was enqueued (nobody watches it any more): nothing to do.
        guard let work = try await store.read({ try await $0.repositoryWork(id: id) }),
            try await store.transaction({ try await $0.startStage(.cloning, ofRepository: id, attempts: context.job.attempt, now: now) }) != nil
        else {
            context.logger.info("repository no longer exists; setup skipped", metadata: ["repository": "\(id)"])
            return
        }
        let remote = try ingestion.remote(for: work)
        if try await unchangedSinceLastCheck(work, remote: remote, context: context, now: now) { return }
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
        let queue = context.queue
        try await store.transaction { tx in
            try await tx.recordClone(
                ofRepository: id, head: clone.head, branch: clone.branch, headCommittedAt: headDate, windowEmpty: clone.windowEmpty,
                mailmap: mailmap, now: ingestion.clock())
            let backfill = PipelineJobs.CommitBackfill(repositoryID: id)
            try await queue.enqueue(backfill, options: backfill.options, in: tx)
            let analysis = PipelineJobs.HealthAnalysis(repositoryID: id)
            try await queue.enqueue(analysis, options: analysis.options, in: tx)
            try await context.complete(in: tx)
        }
        ingestion.cache.evict(keeping: id)
    }

    /// A re-check first asks the remote for its head (`git ls-remote`, one round trip). When the head has
    /// not moved since the last complete check and its Scorecard result is still fresh, nothing is fetched,
    /// backfilled or run: a new report (the activity ages) is written and the repository is ready again.
    /// - Returns: true when the re-check ended here.
    private func unchangedSinceLastCheck(_ work: RepositoryWork, remote: GitRemote, context: JobContext, now: Date) async throws -> Bool {
        let id = work.repository.id
        guard work.repository.state.status == .ready, let head = work.repository.headCommit, work.backfilledHead == head,
            try await context.store.read({ try await $0.freshScorecard(repository: id, head: head, now: now) }) != nil
        else { return false }
        let remoteHead: RemoteHead
        do {
            remoteHead = try await ingestion.git.lsRemote(remote)
        } catch let failure as GitFailure {
            throw Ingestion.pipelineError(failure)
        }
        guard remoteHead.sha == head, remoteHead.branch == work.repository.defaultBranch else { return false }
        let schedule = ingestion.schedule
        let completed = try await context.store.transaction { tx in
            let report = try await tx.completeIfDone(repository: id, schedule: schedule, now: now)
            try await context.complete(in: tx)
            return report != nil
        }
        context.logger.info("re-check: head unchanged, result fresh; nothing fetched or run", metadata: [
            "repository": "\(work.repository.url)", "head": "\(head)", "completed": "\(completed)",
        ])
        return true
    }
}
