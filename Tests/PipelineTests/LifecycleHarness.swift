import Domain
import Foundation
import Pipeline
import Queue
import Store
import Synchronization
import TestSupport
import Testing

/// The lifecycle on a real store, with the stages played by the test instead of git and Scorecard: a
/// test claims a stage's job from the real queue and ends it the way a handler would (or would not),
/// so any order of endings can be produced and the repository's state checked after each.
struct LifecycleHarness: Sendable {
    let store: any Store
    /// The queue with the lifecycle's finish hooks, as `repowatch` runs it.
    let queue: JobQueue
    let lifecycle: Lifecycle
    let clock: TestClock
    /// What the simulated Scorecard finds in each repository (aggregate 5 and no checks unless set).
    let scorecards = ScorecardScript()

    static let lease: Duration = .seconds(60)

    static func with(
        _ engine: Engine, schedule: CheckSchedule = Self.schedule, _ body: @escaping @Sendable (LifecycleHarness) async throws -> Void
    ) async throws {
        try await TestDatabase.withStore(engine) { store in
            let clock = TestClock(Date())
            let bare = JobQueue(
                store: store,
                configuration: .init(maxAttempts: 3, retry: RetryPolicy(base: .seconds(2), maximum: .seconds(60), jitter: 0), lease: lease),
                clock: clock.function)
            let lifecycle = Lifecycle(queue: bare, schedule: schedule, clock: clock.function)
            try await body(LifecycleHarness(store: store, queue: lifecycle.installed(on: bare), lifecycle: lifecycle, clock: clock))
        }
    }

    static let schedule = CheckSchedule(
        interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400), failureBackoff: .seconds(300),
        maxRecheckFailures: 3)

    /// What `POST /v1/watchlist` does.
    @discardableResult
    func add(_ name: String, user: String = "alice", alerts: String = "{}") async throws -> (repository: UUID, entry: UUID) {
        let lifecycle = lifecycle
        let now = clock.now
        return try await store.transaction { tx in
            let user = try await tx.user(named: user, createIfMissing: true)!
            let added = try await tx.addToWatchlist(
                userID: user.id, url: try RepositoryURL(parsing: "https://github.com/acme/\(name)"), alertsJSON: alerts, notes: nil, now: now)
            try await lifecycle.added(repository: added.entry.repository.id, entry: added.entryCreated ? added.entry.entry.id : nil, in: tx)
            return (added.entry.repository.id, added.entry.entry.id)
        }
    }

    func work(_ id: UUID) async throws -> RepositoryWork? {
        try await store.read { try await $0.repositoryWork(id: id) }
    }

    func state(_ id: UUID) async throws -> ProcessingState? { try await work(id)?.repository.state }

    /// A re-check: asked for by the owner of `entry` (`POST …/recheck`), or the scheduler's (nil).
    func recheck(_ id: UUID, entry: UUID? = nil) async throws -> RestartOutcome? {
        let lifecycle = lifecycle
        return try await store.transaction { try await lifecycle.recheck(repository: id, requestedBy: entry, in: $0) }
    }

    func retry(_ id: UUID, entry: UUID? = nil) async throws -> RestartOutcome? {
        let lifecycle = lifecycle
        return try await store.transaction { try await lifecycle.retry(repository: id, requestedBy: entry, in: $0) }
    }

    /// Claims the next due job of `kind` (as a worker would).
    func claim(_ kind: String) async throws -> ClaimedJob? {
        guard let queueName = PipelineJobs.queues.first(where: { $0 == kind }) ?? (kind == PipelineJobs.RepositoryCleanup.kind ? "maintenance" : nil)
        else { return nil }
        return try await queue.claim(queue: queueName, limit: 1, owner: "test", kinds: [kind]).first
    }

    /// How a simulated stage ends.
    enum Ending {
        /// The handler did its work: setup finds `head`; backfill and analysis record theirs.
        case succeed(head: String)
        /// The handler found its head gone from the remote (a force push).
        case headUnavailable
        /// The handler threw: retried while attempts are left.
        case fail(PipelineFailure)
        /// The handler threw a permanent failure: discarded at once.
        case failPermanently(PipelineFailure)
    }

    /// Runs a claimed stage job to `ending`, as the real handler would (begin, work, record, complete).
    /// - Returns: false when the job was stale (nothing recorded) or its lease was lost.
    @discardableResult
    func run(_ job: ClaimedJob, _ ending: Ending) async throws -> Bool {
        let (lifecycle, queue, clock, scorecards) = (lifecycle, queue, clock, scorecards)
        switch ending {
        case .fail(let failure):
            return try await queue.fail(job, error: failure) != nil
        case .failPermanently(let failure):
            return try await queue.fail(job, error: failure.thrown(permanent: true)) != nil
        case .headUnavailable, .succeed:
            break
        }
        func stage<J: StageJob>(_ type: J.Type) async throws -> Bool {
            let arguments = try job.arguments(as: J.self)
            guard try await store.transaction({ try await lifecycle.begin(arguments, attempt: job.attempt, in: $0) }) != nil else {
                _ = try await queue.complete(job)
                return false
            }
            return try await store.transaction { tx -> Bool in
                var recorded = false
                switch ending {
                case .headUnavailable:
                    try await lifecycle.headUnavailable(arguments, in: tx)
                    recorded = true
                case .succeed(let head):
                    if let setup = arguments as? PipelineJobs.RepositorySetup {
                        recorded = try await lifecycle.setupFinished(
                            setup, head: head, branch: "main", headCommittedAt: clock.now, windowEmpty: false, mailmap: nil, in: tx)
                    } else if let backfill = arguments as? PipelineJobs.CommitBackfill {
                        recorded = try await lifecycle.backfillFinished(backfill, windowStart: clock.now.addingTimeInterval(-365 * 86_400), in: tx)
                    } else if let analysis = arguments as? PipelineJobs.HealthAnalysis {
                        let found = scorecards.result(for: analysis.repositoryID)
                        try await tx.storeScorecard(
                            StoredScorecard(
                                headCommit: analysis.head!, commandKey: "fake", version: "v0", reportJSON: found.json,
                                aggregate: found.aggregate, erroredChecks: [], exitCode: 0, createdAt: clock.now,
                                expiresAt: clock.now.addingTimeInterval(86_400)),
                            repository: analysis.repositoryID, durationMilliseconds: 1)
                        recorded = try await lifecycle.analysisFinished(analysis, in: tx)
                    }
                default:
                    break
                }
                guard try await queue.complete(job, in: tx) else { throw TestSetupError("lease lost on job \(job.id)") }
                return recorded
            }
        }
        switch job.kind {
        case PipelineJobs.RepositorySetup.kind: return try await stage(PipelineJobs.RepositorySetup.self)
        case PipelineJobs.CommitBackfill.kind: return try await stage(PipelineJobs.CommitBackfill.self)
        case PipelineJobs.HealthAnalysis.kind: return try await stage(PipelineJobs.HealthAnalysis.self)
        default: return try await queue.complete(job)
        }
    }

    /// Claims and succeeds every due stage job until none is left (moving time on for retries), with
    /// `heads` telling what setup finds. At most `limit` jobs.
    @discardableResult
    func drain(heads: @Sendable (UUID) -> String, limit: Int = 10_000) async throws -> Int {
        var ran = 0
        while ran < limit {
            var progressed = false
            for kind in PipelineJobs.stageKinds {
                while let job = try await claim(kind) {
                    let id = try Self.repositoryID(of: job)
                    try await run(job, .succeed(head: heads(id)))
                    ran += 1
                    progressed = true
                }
            }
            if !progressed {
                // Retries wait for their run_at: let time pass, once, and look again.
                let waiting = try await store.read {
                    try await $0.first("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('available', 'retryable', 'running')")?.int("n")
                } ?? 0
                guard waiting > 0 else { return ran }
                clock.advance(by: 3600)
                _ = try await queue.rescueExpiredLeases()
            }
        }
        return ran
    }

    static func repositoryID(of job: ClaimedJob) throws -> UUID {
        struct Arguments: Decodable { let repository_id: String }
        let arguments = try JSONDecoder().decode(Arguments.self, from: Data(job.argsJSON.utf8))
        return try #require(UUID(uuidString: arguments.repository_id))
    }

    /// The lifecycle's invariant and the unique keys, checked from the database: no repository that is
    /// being worked on lacks an unfinished stage job, and none has two of one kind.
    func checkInvariant(_ context: @autoclosure () -> String = "") async throws {
        let stalls = try await Lifecycle.stallStats(store: store, now: clock.now)
        #expect(stalls.stalled == 0, "a repository is processing or refreshing with no unfinished stage job \(context())")
        let duplicates = try await store.read {
            try await $0.query("""
                SELECT kind, unique_key, COUNT(*) AS n FROM jobs WHERE state IN ('available', 'running', 'retryable')
                GROUP BY kind, unique_key HAVING COUNT(*) > 1
                """)
        }
        #expect(duplicates.isEmpty, "two unfinished jobs of one kind for one repository \(context())")
    }

    /// Every entry's repository ended: `ready` with its report and stages for its head, or `failed` with a reason.
    func checkSettled(_ ids: [UUID], heads: (UUID) -> String?) async throws {
        for id in ids {
            guard let work = try await work(id) else { continue }
            let state = work.repository.state
            #expect(state.status == .ready || state.status == .failed, "\(id) is \(state.status)/\(state.stage)")
            #expect(!state.refreshing, "\(id) still refreshing")
            if state.status == .failed {
                #expect(work.failureReason != nil && state.lastError != nil, "\(id) failed without a reason")
            } else {
                let head = try #require(work.repository.headCommit)
                let report = try await store.read { try await $0.latestHealthReport(repository: id) }
                #expect(report?.headCommit == head, "\(id): the report is for the head shown")
                if work.recheckFailures > 0 {
                    // The last re-check failed: the last completed check stays, with the error.
                    #expect(state.lastError != nil && work.failureReason != nil && work.repository.nextCheckAt != nil, "\(id)")
                } else {
                    #expect(work.setupGeneration == work.generation && work.backfillGeneration == work.generation
                        && work.analysisGeneration == work.generation, "\(id): every stage done for the run wanted")
                    #expect(work.backfilledHead == head && work.analyzedHead == head)
                    if let wanted = heads(id) { #expect(head == wanted, "\(id): the head recorded is the remote's") }
                }
            }
        }
    }
}

/// The Scorecard results the simulated analysis stores, per repository.
final class ScorecardScript: Sendable {
    private let results = Mutex<[UUID: (aggregate: Double, checks: [String: Int])]>([:])

    func set(_ repository: UUID, aggregate: Double, checks: [String: Int]) {
        results.withLock { $0[repository] = (aggregate, checks) }
    }

    func result(for repository: UUID) -> (aggregate: Double, json: String) {
        let (aggregate, checks) = results.withLock { $0[repository] } ?? (5, [:])
        let items = checks.sorted { $0.key < $1.key }.map { #"{"name": "\#($0.key)", "score": \#($0.value)}"# }.joined(separator: ", ")
        return (aggregate, #"{"score": \#(aggregate), "checks": [\#(items)]}"#)
    }
}
