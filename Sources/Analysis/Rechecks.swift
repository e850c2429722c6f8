import Domain
import Foundation
import Logging
import Queue
import Store

/// The periodic job that starts the re-checks that are due (fired by the leader-elected scheduler).
public struct ScheduleRechecksJob: JobArguments {
    public static let kind = "schedule-rechecks"
    public static let queue = "maintenance"
    public init() {}

    /// The name of its periodic schedule, as `periodic_runs` and the scheduler's health show it.
    public static let periodicName = "schedule-rechecks"
}

/// Marks each due repository `refreshing` (it stays `ready`) and enqueues its `repository-setup`, one
/// transaction a repository; the setup's unique key makes a repository's re-check one job, however often
/// this runs. `batch` bounds one pass; the next pass takes the rest.
public struct ScheduleRechecksHandler: JobHandler {
    let batch: Int
    let clock: @Sendable () -> Date

    public init(batch: Int = 1000, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.batch = batch
        self.clock = clock
    }

    public func handle(_ arguments: ScheduleRechecksJob, context: JobContext) async throws {
        let now = clock()
        let due = try await context.store.read { try await $0.dueRepositories(now: now, limit: batch) }
        let queue = context.queue
        var started = 0
        for id in due {
            try Task.checkCancellation()
            let restarted = try await context.store.transaction { tx -> Bool in
                guard case .restarted? = try await tx.recheckRepository(id: id, now: now) else { return false }
                let setup = PipelineJobs.RepositorySetup(repositoryID: id)
                try await queue.enqueue(setup, options: setup.options, in: tx)
                return true
            }
            if restarted { started += 1 }
        }
        if started > 0 { context.logger.info("re-checks started", metadata: ["repositories": "\(started)"]) }
    }
}
