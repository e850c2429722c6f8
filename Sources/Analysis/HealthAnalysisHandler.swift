import Domain
import Foundation
import Ingestion
import Logging
import Queue
import Scorecard
import Store

/// `health-analysis`: run Scorecard on the clone — or reuse its cached result for this head, command and
/// version while it is fresh — then, once the backfill of the same head is done too, write the health
/// report and make the repository `ready` (``SQLExecutor/completeIfDone(repository:schedule:now:)``),
/// all in the transaction that completes the job.
public struct HealthAnalysisHandler: JobHandler {
    let ingestion: Ingestion
    let runner: ScorecardRunner
    let cacheTTL: Duration

    public init(ingestion: Ingestion, runner: ScorecardRunner, cacheTTL: Duration) {
        self.ingestion = ingestion
        self.runner = runner
        self.cacheTTL = cacheTTL
    }

    public func handle(_ arguments: PipelineJobs.HealthAnalysis, context: JobContext) async throws {
        let id = arguments.repositoryID
        let store = context.store
        let now = ingestion.clock()
        guard let work = try await store.read({ try await $0.repositoryWork(id: id) }) else {
            context.logger.info("repository no longer exists; analysis skipped", metadata: ["repository": "\(id)"])
            return
        }
        guard let head = work.repository.headCommit else {
            throw PipelineFailure(reason: "no_head", message: "the repository has no recorded head to analyse")
        }
        let version = try await scorecardVersion()
        let commandKey = ([runner.command, version] + runner.arguments).joined(separator: " ")
        if let cached = try await store.read({ try await $0.freshScorecard(repository: id, head: head, commandKey: commandKey, now: now) }) {
            context.logger.info("Scorecard result reused", metadata: [
                "repository": "\(work.repository.url)", "head": "\(head)", "from": "\(cached.createdAt)",
            ])
        } else {
            let run = try await analyse(work, head: head, context: context)
            let result = StoredScorecard(
                headCommit: head, commandKey: commandKey, version: version, reportJSON: try Self.json(run.report),
                aggregate: ScorecardReport.aggregate(of: run.report.checks), erroredChecks: run.erroredChecks, exitCode: Int(run.exitCode),
                createdAt: now, expiresAt: now.addingTimeInterval(cacheTTL.seconds))
            let milliseconds = Int64(run.duration.seconds * 1000)
            try await store.transaction { try await $0.storeScorecard(result, repository: id, durationMilliseconds: milliseconds) }
            context.logger.info("Scorecard ran", metadata: [
                "repository": "\(work.repository.url)", "head": "\(head)", "score": "\(run.report.score)",
                "errored_checks": "\(run.erroredChecks)", "ms": "\(milliseconds)",
            ])
        }
        let schedule = ingestion.schedule
        try await store.transaction { tx in
            try await tx.recordAnalysis(ofRepository: id, head: head)
            // Ready now if the backfill of this head finished first.
            try await tx.completeIfDone(repository: id, schedule: schedule, now: ingestion.clock())
            try await context.complete(in: tx)
        }
    }

    /// Runs Scorecard on the clone (cloning again if this host has none), failures mapped for the job.
    private func analyse(_ work: RepositoryWork, head: String, context: JobContext) async throws -> ScorecardRun {
        let name = "\(work.repository.url.hostWithPort)/\(work.repository.url.owner)/\(work.repository.url.name)"
        do {
            return try await ingestion.cache.withClone(work.repository.id) { directory in
                if !Ingestion.isClone(directory) {
                    _ = try await ingestion.refreshClone(try ingestion.remote(for: work), in: directory, now: ingestion.clock(), logger: context.logger)
                }
                return try await runner.run(clone: directory, repository: name)
            }
        } catch let failure as ScorecardFailure {
            throw PipelineFailure(reason: failure.reason, message: failure.message).thrown(permanent: failure.isPermanent)
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

    static func json(_ report: ScorecardReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}
