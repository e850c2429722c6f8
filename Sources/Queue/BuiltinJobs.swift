import Foundation
import Logging
import Store

/// The queue's own jobs, on the `maintenance` queue.

/// Does nothing: for benchmarks, and to check that some worker is taking jobs.
public struct NoopJob: JobArguments {
    public static let kind = "noop"
    public static let queue = "maintenance"
    public init() {}
}

public struct NoopHandler: JobHandler {
    public init() {}
    public func handle(_ arguments: NoopJob, context: JobContext) async throws {}
}

/// Records each execution in `job_probe_runs`, then waits `sleep_ms`: an end-to-end check of the
/// workers (`repowatch queue probe`), and what the crash tests count executions with.
public struct ProbeJob: JobArguments {
    public static let kind = "probe"
    public static let queue = "maintenance"
    public let label: String
    public let sleepMilliseconds: Int

    public init(label: String, sleepMilliseconds: Int = 0) {
        self.label = label
        self.sleepMilliseconds = sleepMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case label
        case sleepMilliseconds = "sleep_ms"
    }
}

public struct ProbeHandler: JobHandler {
    public init() {}
    public func handle(_ arguments: ProbeJob, context: JobContext) async throws {
        let job = context.job
        let now = context.queue.now
        try await context.store.transaction { tx in
            try await tx.execute("""
                INSERT INTO job_probe_runs (job_id, attempt, worker, label, ran_at)
                VALUES (\(job.id), \(job.attempt), \(context.workerID), \(arguments.label), \(now))
                """)
        }
        if arguments.sleepMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(arguments.sleepMilliseconds))
        }
    }
}

/// Retention: deletes old finished jobs (see ``JobQueue/prune(_:)``), and the dashboard's ended sessions (expired, or
/// of a revoked key: they no longer authenticate anyone, this only frees their rows).
public struct PruneJobsJob: JobArguments {
    public static let kind = "prune-jobs"
    public static let queue = "maintenance"
    public init() {}
}

public struct PruneJobsHandler: JobHandler {
    let retention: JobQueue.Retention

    public init(retention: JobQueue.Retention) {
        self.retention = retention
    }

    public func handle(_ arguments: PruneJobsJob, context: JobContext) async throws {
        let deleted = try await context.queue.prune(retention)
        if deleted > 0 { context.logger.info("pruned finished jobs", metadata: ["deleted": "\(deleted)"]) }
        let sessions = try await context.queue.store.transaction { try await $0.deleteEndedSessions() }
        if sessions > 0 { context.logger.info("deleted ended dashboard sessions", metadata: ["deleted": "\(sessions)"]) }
    }
}
