import Domain
import Foundation
import Ingestion
import Logging
import Pipeline
import Queue
import Scorecard
import Store

/// `health-analysis`: run Scorecard on the tree of the job's head — or reuse its cached result for this
/// head, command and version while it is fresh — and record the analysis of that head, in the
/// transaction that completes the job (whose end lets the lifecycle write the report once the backfill
/// of the same head is done too).
public struct HealthAnalysisHandler: JobHandler {
    let ingestion: Ingestion
    let runner: ScorecardRunner
    let cacheTTL: Duration

    public init(ingestion: Ingestion, runner: ScorecardRunner, cacheTTL: Duration) {
        self.ingestion = ingestion
        self.runner = runner
        self.cacheTTL = cacheTTL
    }

    public func handle(_ job: PipelineJobs.HealthAnalysis, context: JobContext) async throws {
        let id = job.repositoryID
        let store = context.store
        let lifecycle = ingestion.lifecycle
        // Gone, failed, or another run or head is wanted: nothing to do (the job's end reconciles).
        guard let work = try await store.transaction({ try await lifecycle.begin(job, attempt: context.job.attempt, in: $0) }),
            let head = job.head
        else {
            context.logger.info("analysis no longer wanted; skipped", metadata: ["repository": "\(id)", "generation": "\(job.generation)"])
            // Recorded on the job (GET /v1/jobs shows it): it ended as stale, having changed nothing.
            try await context.progress(100, "stale: run \(job.generation) is no longer wanted")
            return
        }
        let now = ingestion.clock()
        let version = try await scorecardVersion()
        let commandKey = ([runner.command, version] + runner.arguments).joined(separator: " ")
        if let cached = try await store.read({ try await $0.freshScorecard(repository: id, head: head, commandKey: commandKey, now: now) }) {
            context.logger.info("Scorecard result reused", metadata: [
                "repository": "\(work.repository.url)", "head": "\(head)", "from": "\(cached.createdAt)",
            ])
        } else {
            guard let run = try await analyse(work, head: head, context: context) else {
                context.logger.warning("the remote no longer has the head to analyse; setup runs again", metadata: [
                    "repository": "\(work.repository.url)", "head": "\(head)",
                ])
                try await store.transaction { tx in
                    try await lifecycle.headUnavailable(job, in: tx)
                    try await context.complete(in: tx)
                }
                return
            }
            // Stored naming the repository and the head analysed, whatever the command printed there.
            let report = run.report.naming(repository: Self.repositoryName(work.repository.url), head: head)
            let result = StoredScorecard(
                headCommit: head, commandKey: commandKey, version: version, reportJSON: report.json(),
                aggregate: ScorecardReport.aggregate(of: run.report.checks), erroredChecks: run.erroredChecks, exitCode: Int(run.exitCode),
                createdAt: now, expiresAt: now.addingTimeInterval(cacheTTL.seconds))
            let milliseconds = Int64(run.duration.seconds * 1000)
            try await store.transaction { try await $0.storeScorecard(result, repository: id, durationMilliseconds: milliseconds) }
            context.logger.info("Scorecard ran", metadata: [
                "repository": "\(work.repository.url)", "head": "\(head)", "score": "\(run.report.score)",
                "errored_checks": "\(run.erroredChecks)", "ms": "\(milliseconds)",
            ])
        }
        try await store.transaction { tx in
            try await lifecycle.analysisFinished(job, in: tx)
            try await context.complete(in: tx)
        }
    }

    /// Runs Scorecard on the clone's tree at `head` (fetching or cloning again if this host's clone does
    /// not have it), failures mapped for the job. Nil when the remote no longer has `head`.
    private func analyse(_ work: RepositoryWork, head: String, context: JobContext) async throws -> ScorecardRun? {
        let name = Self.repositoryName(work.repository.url)
        do {
            return try await ingestion.cache.withClone(work.repository.id) { directory in
                guard try await ingestion.ensure(head, of: work, in: directory, checkout: true, now: ingestion.clock(), logger: context.logger)
                else { return nil }
                let before = CloneCache.identity(of: directory)
                let run = try await runner.run(clone: directory, repository: name)
                // Scorecard reads whatever files are there: had the clone been removed while it read (the cache folder
                // deleted by hand or by a clean-up), its result would describe a half-empty tree — a score, not an
                // error. Such a run is thrown away and the attempt retried on a fresh clone.
                guard before != nil, CloneCache.identity(of: directory) == before, Ingestion.isClone(directory) else {
                    throw PipelineFailure(
                        reason: "clone_removed",
                        message: "the clone was removed while Scorecard read it; its result was discarded and the analysis is retried")
                }
                return run
            }
        } catch let failure as ScorecardFailure {
            let pipelineFailure = PipelineFailure(reason: failure.reason, message: failure.message)
            // A repeated timeout is permanent (PipelineJobs.HealthAnalysis.permanentOnRepeat): the job's own record
            // says how its previous attempt ended.
            var previousErrors: [JobError] = []
            if !failure.isPermanent, PipelineJobs.HealthAnalysis.permanentOnRepeat.contains(failure.reason) {
                previousErrors = try await context.queue.job(id: context.job.id)?.errors ?? []
            }
            throw PipelineJobs.HealthAnalysis.thrown(
                pipelineFailure, permanent: failure.isPermanent, attempt: context.job.attempt, previousErrors: previousErrors)
        }
    }

    private func scorecardVersion() async throws -> String {
        do {
            return try await runner.version()
        } catch let failure as ScorecardFailure {
            throw PipelineFailure(reason: failure.reason, message: "cannot read the Scorecard command's version: \(failure.message)")
                .thrown(permanent: failure.isPermanent)
        }
    }

    /// `host/owner/name`: how the official Scorecard names a repository (`--repo` and `repo.name`).
    static func repositoryName(_ url: RepositoryURL) -> String {
        "\(url.hostWithPort)/\(url.owner)/\(url.name)"
    }
}
