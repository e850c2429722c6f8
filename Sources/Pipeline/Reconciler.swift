import Domain
import Foundation
import Logging
import Queue
import Store

/// The leader's periodic reconcile pass (`pipeline.reconcile_interval`): repairs any repository that is
/// being worked on but has no unfinished stage job — whatever edge was missed — within one interval.
public struct ReconcileJob: JobArguments {
    public static let kind = "reconcile-pipeline"
    public static let queue = "maintenance"
    public init() {}

    /// The name of its periodic schedule, as `periodic_runs` shows it.
    public static let periodicName = "reconcile-pipeline"
}

public struct ReconcileHandler: JobHandler {
    let lifecycle: Lifecycle
    let batch: Int

    public init(lifecycle: Lifecycle, batch: Int = 1000) {
        self.lifecycle = lifecycle
        self.batch = batch
    }

    public func handle(_ arguments: ReconcileJob, context: JobContext) async throws {
        let repaired = try await lifecycle.reconcileStalled(limit: batch, store: context.store)
        if !repaired.isEmpty {
            context.logger.warning("reconciled repositories that had no unfinished job", metadata: [
                "repositories": "\(repaired.count)", "ids": "\(repaired.prefix(20).map { $0.uuidString.lowercased() })",
            ])
        }
    }
}

/// Repositories being worked on that nothing moves on: `processing` or `refreshing` with no unfinished
/// stage job. 0 when the invariant holds; `/health/ready`, `GET /v1/queues` and the metrics show it.
public struct StallStats: Sendable, Equatable {
    public let stalled: Int
    /// Seconds since the longest-stalled such repository last changed.
    public let oldestSeconds: Double?
}

extension Lifecycle {
    /// The unique-key prefixes of the stage jobs, for the store's stall queries.
    static var stageKeyPrefixes: [String] { PipelineJobs.stageKinds.map(PipelineJobs.keyPrefix) }

    /// Reconciles up to `limit` repositories that have no unfinished stage job, one transaction each.
    /// - Returns: the ones that were found so.
    public func reconcileStalled(limit: Int, store: any Store) async throws -> [UUID] {
        let stalled = try await store.read { try await $0.repositoriesWithoutUnfinishedJob(jobKeyPrefixes: Self.stageKeyPrefixes, limit: limit) }
        for (id, _) in stalled {
            try Task.checkCancellation()
            _ = try await store.transaction { try await self.reconcile(repository: id, in: $0) }
        }
        return stalled.map(\.id)
    }

    /// The stalled repositories themselves (at most `limit`, longest-stalled first), for the admin page.
    public static func stalledRepositories(store: any Store, limit: Int) async throws -> [(id: UUID, updatedAt: Date)] {
        try await store.read { try await $0.repositoriesWithoutUnfinishedJob(jobKeyPrefixes: stageKeyPrefixes, limit: limit) }
    }

    /// How many repositories are stalled now, and for how long the oldest has been.
    public static func stallStats(store: any Store, now: Date = Date()) async throws -> StallStats {
        let (count, oldest) = try await store.read { try await $0.countRepositoriesWithoutUnfinishedJob(jobKeyPrefixes: stageKeyPrefixes) }
        return StallStats(stalled: count, oldestSeconds: oldest.map { max(now.timeIntervalSince($0), 0) })
    }
}

/// The periodic job that starts the re-checks that are due (fired by the leader-elected scheduler).
public struct ScheduleRechecksJob: JobArguments {
    public static let kind = "schedule-rechecks"
    public static let queue = "maintenance"
    public init() {}

    /// The name of its periodic schedule, as `periodic_runs` and the scheduler's health show it.
    public static let periodicName = "schedule-rechecks"
}

/// Starts a re-check of each due repository (a new run; it stays `ready`, marked `refreshing`) — or, for a
/// repository that failed for a transient reason and whose retry is due, a retry — one transaction a repository. `batch` bounds one pass; the next pass takes the rest.
public struct ScheduleRechecksHandler: JobHandler {
    let lifecycle: Lifecycle
    let batch: Int

    public init(lifecycle: Lifecycle, batch: Int = 1000) {
        self.lifecycle = lifecycle
        self.batch = batch
    }

    public func handle(_ arguments: ScheduleRechecksJob, context: JobContext) async throws {
        let started = try await lifecycle.startDueChecks(limit: batch, store: context.store)
        if started > 0 { context.logger.info("re-checks started", metadata: ["repositories": "\(started)"]) }
    }
}

extension Lifecycle {
    /// Starts the checks that are due now (`next_check_at` passed), up to `limit`, one transaction a repository:
    /// a re-check of a ready repository, or a retry of one that failed for a transient reason (only those are due
    /// when failed). The scheduler's pass; the seeded lifecycle test runs it between its faults.
    /// - Returns: how many started.
    public func startDueChecks(limit: Int, store: any Store) async throws -> Int {
        let now = clock()
        let due = try await store.read { try await $0.dueRepositories(now: now, limit: limit) }
        var started = 0
        for id in due {
            try Task.checkCancellation()
            let restarted = try await store.transaction { tx -> Bool in
                var outcome = try await self.recheck(repository: id, in: tx)
                // A failed repository is due only when its failure was transient: it starts over, as a retry.
                if case .refused(let state)? = outcome, state.status == .failed {
                    outcome = try await self.retry(repository: id, automatic: true, in: tx)
                }
                guard case .restarted? = outcome else { return false }
                return true
            }
            if restarted { started += 1 }
        }
        return started
    }
}
