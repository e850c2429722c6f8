import ArgumentParser
import Domain
import Foundation
import Prometheus
import Pipeline
import Queue
import Settings
import Store

/// `repowatch queue stats|list|retry|cancel|prune|probe`: the job queue from the command line.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect and manage the job queue.",
        subcommands: [Stats.self, List.self, Retry.self, Cancel.self, Prune.self, Probe.self])

    /// Runs `body` with the configured queue over a running, migrated store.
    static func withQueue(_ options: CommonOptions, _ body: @escaping (JobQueue, Settings) async throws -> Void) async throws {
        let settings = try options.settings()
        let logger = Bootstrap.logger(settings)
        let store = try await Bootstrap.openStore(settings, logger: logger)
        try await Bootstrap.withReachableStore(store) { store in
            try await store.migrate(logger: logger)
            let queue = BackgroundRoles.queue(settings: settings, store: store, registry: PrometheusCollectorRegistry())
            do {
                try await body(queue, settings)
            } catch let error as JobAdminError {
                FileHandle.standardError.write(Data("repowatch: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }

    static func describe(_ job: JobRecord) -> String {
        let last = job.errors.last.map { " — \($0.error)" } ?? ""
        return "\(job.id)\t\(job.queue)\t\(job.kind)\t\(job.state.rawValue)\tattempt \(job.attempt)/\(job.maxAttempts)\trun_at \(job.runAt.ISO8601Format())\(last)"
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs per queue and state, and the oldest due job's wait.")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await QueueCommand.withQueue(options) { queue, _ in
                print("queue\t" + JobState.allCases.map(\.rawValue).joined(separator: "\t") + "\toldest_wait_s")
                for s in try await queue.stats(queues: PipelineJobs.serviceQueues) {
                    let counts = JobState.allCases.map { String(s.counts[$0] ?? 0) }.joined(separator: "\t")
                    print("\(s.queue)\t\(counts)\t\(s.oldestAvailableAge.map { String(format: "%.1f", $0) } ?? "-")")
                }
                // The lifecycle's invariant: 0 unless an edge was missed and the reconcile pass has not run yet.
                let stalls = try await Lifecycle.stallStats(store: queue.store)
                print("stalled repositories (processing or refreshing, no unfinished stage job): \(stalls.stalled)"
                    + (stalls.oldestSeconds.map { String(format: ", oldest %.0f s", $0) } ?? ""))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var options: CommonOptions
        @Option(help: "available, running, retryable, completed, discarded or cancelled.") var state: String?
        @Option(help: "Queue name.") var queue: String?
        @Option(help: "Job kind.") var kind: String?
        @Option(help: "How many.") var limit = 50

        func validate() throws {
            if let state, JobState(rawValue: state) == nil {
                throw ValidationError("--state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            try await QueueCommand.withQueue(options) { [state, queue, kind, limit] jobs, _ in
                for job in try await jobs.list(state: state.flatMap(JobState.init(rawValue:)), queue: queue, kind: kind, limit: limit) {
                    print(QueueCommand.describe(job))
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a discarded, cancelled or completed job back in its queue.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "Job id.") var id: Int64

        func run() async throws {
            try await QueueCommand.withQueue(options) { [id] queue, _ in print(QueueCommand.describe(try await queue.retry(id: id))) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job that has not finished (a running one loses its lease).")
        @OptionGroup var options: CommonOptions
        @Argument(help: "Job id.") var id: Int64

        func run() async throws {
            try await QueueCommand.withQueue(options) { [id] queue, _ in print(QueueCommand.describe(try await queue.cancel(id: id))) }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete old completed and cancelled jobs now (jobs.retention_* by default).")
        @OptionGroup var options: CommonOptions
        @Option(help: "Delete those finished longer ago than this (e.g. 24h).") var maxAge: String?
        @Option(help: "Keep at most this many.") var keep: Int?

        func run() async throws {
            try await QueueCommand.withQueue(options) { [maxAge, keep] queue, settings in
                var age = settings.jobs.retentionAge
                if let maxAge {
                    guard let parsed = parseDuration(maxAge) else { throw ValidationError("--max-age must be a duration such as 24h") }
                    age = parsed
                }
                let deleted = try await queue.prune(maxAge: age, keep: keep ?? settings.jobs.retentionCount)
                print("deleted \(deleted) jobs")
            }
        }
    }

    struct Probe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enqueue probe jobs: each records its executions in job_probe_runs (an end-to-end check of the workers).")
        @OptionGroup var options: CommonOptions
        @Option(help: "How many.") var count = 1
        @Option(help: "Label recorded with each execution.") var label = "probe"
        @Option(help: "How long each job sleeps after recording its execution, in milliseconds.") var sleepMs = 0

        func run() async throws {
            try await QueueCommand.withQueue(options) { [count, label, sleepMs] queue, _ in
                var enqueued = 0
                // Batches of 1000 per transaction: one commit (and one wake-up) per batch.
                while enqueued < count {
                    let batch = min(1000, count - enqueued)
                    try await queue.store.transaction { tx in
                        for _ in 0..<batch { try await queue.enqueue(ProbeJob(label: label, sleepMilliseconds: sleepMs), in: tx) }
                    }
                    enqueued += batch
                }
                print("enqueued \(enqueued) probe jobs labelled \(label)")
            }
        }
    }
}
