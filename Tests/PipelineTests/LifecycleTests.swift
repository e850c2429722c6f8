import Domain
import Foundation
import Pipeline
import Queue
import Store
import TestSupport
import Testing

/// The repository lifecycle on both engines: every order of stage endings — stale, failed, cancelled,
/// deleted, re-checked mid-run — leaves a repository `ready` or `failed` with a reason, and never
/// `processing` with nothing to move it on.
@Suite("Pipeline lifecycle")
struct LifecycleTests {
    static let headA = String(repeating: "a", count: 40)
    static let headB = String(repeating: "b", count: 40)

    @Test(arguments: Engine.allCases)
    func aRunGoesThroughItsStagesToReady(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("tool")
            try await h.checkInvariant()
            #expect(try await h.state(id) == .queued)
            let setup = try #require(try await h.claim(PipelineJobs.RepositorySetup.kind))
            #expect(try await h.run(setup, .succeed(head: Self.headA)))
            #expect(try await h.state(id)?.stage == .backfilling)
            try await h.checkInvariant()
            let analysis = try #require(try await h.claim(PipelineJobs.HealthAnalysis.kind))
            #expect(try await h.run(analysis, .succeed(head: Self.headA)))
            #expect(try await h.state(id)?.status == .processing, "the backfill is still owed")
            try await h.checkInvariant()
            let backfill = try #require(try await h.claim(PipelineJobs.CommitBackfill.kind))
            #expect(try await h.run(backfill, .succeed(head: Self.headA)))
            try await h.checkSettled([id]) { _ in Self.headA }
            #expect(try await h.state(id)?.status == .ready)
        }
    }

    /// Issue 9's reproduction, in the lifecycle: analysis gives up (`not_found`) while the backfill still
    /// waits in its queue. The backfill then runs: it is stale and changes nothing — the repository stays
    /// `failed` (it used to go back to `processing` for good). A retry makes it ready.
    @Test(arguments: Engine.allCases)
    func aWaitingBackfillCannotReviveAFailedRepository(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("tool")
            try await h.run(try #require(try await h.claim(PipelineJobs.RepositorySetup.kind)), .succeed(head: Self.headA))
            let analysis = try #require(try await h.claim(PipelineJobs.HealthAnalysis.kind))
            try await h.run(analysis, .failPermanently(PipelineFailure(reason: "not_found", message: "no such command: /nonexistent/scorecard")))
            #expect(try await h.state(id)?.status == .failed)
            #expect(try await h.work(id)?.failureReason == "not_found")

            let backfill = try #require(try await h.claim(PipelineJobs.CommitBackfill.kind))
            #expect(try await h.run(backfill, .succeed(head: Self.headA)) == false, "stale: the run it was for has failed")
            let after = try #require(try await h.work(id))
            #expect(after.repository.state.status == .failed && after.failureReason == "not_found")
            #expect(after.repository.state.lastError?.hasPrefix("analyzing: not_found") == true, "\(after.repository.state.lastError ?? "")")
            try await h.checkInvariant()

            guard case .restarted? = try await h.retry(id) else { Issue.record("retry refused"); return }
            try await h.checkInvariant()
            try await h.drain { _ in Self.headA }
            try await h.checkSettled([id]) { _ in Self.headA }
            #expect(try await h.state(id)?.status == .ready)
        }
    }

    /// `POST …/recheck` while the backfill runs for the old head: the new run's setup records a new head;
    /// the waiting analysis takes the new head, the running backfill ends as stale, and its end enqueues
    /// the backfill of the new head. The report is for the new head.
    @Test(arguments: Engine.allCases)
    func aRecheckWhileAStageRunsEndsOnTheNewHead(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("tool")
            try await h.run(try #require(try await h.claim(PipelineJobs.RepositorySetup.kind)), .succeed(head: Self.headA))
            let running = try #require(try await h.claim(PipelineJobs.CommitBackfill.kind))
            guard case .restarted? = try await h.recheck(id) else { Issue.record("re-check refused"); return }
            #expect(try await h.work(id)?.generation == 2)
            try await h.checkInvariant()
            let setup = try #require(try await h.claim(PipelineJobs.RepositorySetup.kind))
            #expect(try await h.run(setup, .succeed(head: Self.headB)))
            let waiting = try await h.queue.list(state: .available, kind: PipelineJobs.HealthAnalysis.kind)
            #expect(waiting.count == 1 && waiting[0].argsJSON.contains(Self.headB), "the waiting analysis took the new head: \(waiting.map(\.argsJSON))")
            #expect(try await h.run(running, .succeed(head: Self.headA)) == false, "the old head's backfill is stale")
            try await h.checkInvariant()
            let next = try await h.queue.list(state: .available, kind: PipelineJobs.CommitBackfill.kind)
            #expect(next.count == 1 && next[0].argsJSON.contains(Self.headB), "its end enqueued the new head's backfill")
            try await h.drain { _ in Self.headB }
            try await h.checkSettled([id]) { _ in Self.headB }
        }
    }

    /// A stage that cannot get its head (force-pushed away) starts a new run, whose setup records the
    /// head there is now; the analysis already done for the vanished head is done again for the new one.
    @Test(arguments: Engine.allCases)
    func aHeadGoneFromTheRemoteRunsSetupAgain(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("tool")
            try await h.run(try #require(try await h.claim(PipelineJobs.RepositorySetup.kind)), .succeed(head: Self.headA))
            try await h.run(try #require(try await h.claim(PipelineJobs.HealthAnalysis.kind)), .succeed(head: Self.headA))
            try await h.run(try #require(try await h.claim(PipelineJobs.CommitBackfill.kind)), .headUnavailable)
            try await h.checkInvariant()
            #expect(try await h.work(id)?.generation == 2, "a new run")
            #expect(try await h.queue.list(state: .available, kind: PipelineJobs.RepositorySetup.kind).count == 1)
            try await h.drain { _ in Self.headB }
            try await h.checkSettled([id]) { _ in Self.headB }
        }
    }

    /// An unchanged head with a fresh result: setup records every stage done, and the job's end writes
    /// the new report and ends `refreshing` (it used to stay refreshing, never due again).
    @Test(arguments: Engine.allCases)
    func anUnchangedRecheckCompletesTheRun(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("tool")
            try await h.drain { _ in Self.headA }
            guard case .restarted? = try await h.recheck(id) else { Issue.record("re-check refused"); return }
            #expect(try await h.state(id)?.refreshing == true)
            let setup = try #require(try await h.claim(PipelineJobs.RepositorySetup.kind))
            let job = try setup.arguments(as: PipelineJobs.RepositorySetup.self)
            let (lifecycle, queue) = (h.lifecycle, h.queue)
            let steps = try await h.store.transaction { tx -> [Bool] in
                let began = try await lifecycle.begin(job, attempt: 1, in: tx) != nil
                let recorded = try await lifecycle.setupFinished(
                    job, head: Self.headA, branch: "main", headCommittedAt: nil, windowEmpty: false, mailmap: nil, unchanged: true, in: tx)
                return [began, recorded, try await queue.complete(setup, in: tx)]
            }
            #expect(steps == [true, true, true], "began, recorded, completed")
            let state = try #require(try await h.state(id))
            #expect(state.status == .ready && !state.refreshing)
            #expect(try await h.store.read { try await $0.healthReports(repository: id, before: nil, limit: 10) }.count == 2)
            #expect(try await h.queue.list(state: .available).isEmpty, "nothing else to do")
        }
    }

    /// An administrator's cancel or delete of a stage that is still owed ends the run: a first run
    /// becomes `failed` (`cancelled`); a re-check keeps its report and backs off.
    @Test(arguments: Engine.allCases)
    func cancellingOrDeletingAStageJobEndsTheRun(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (first, _) = try await h.add("first")
            let running = try #require(try await h.claim(PipelineJobs.RepositorySetup.kind))
            _ = try await h.queue.cancel(id: running.id)
            #expect(try await h.state(first)?.status == .failed)
            #expect(try await h.work(first)?.failureReason == "cancelled")
            #expect(try await h.run(running, .succeed(head: Self.headA)) == false, "the cancelled worker's result does not count")
            try await h.checkInvariant()

            let (second, _) = try await h.add("second")
            try await h.drain { _ in Self.headA }
            guard case .restarted? = try await h.recheck(second) else { Issue.record("re-check refused"); return }
            let waiting = try #require(try await h.queue.list(state: .available, kind: PipelineJobs.RepositorySetup.kind).first)
            try await h.queue.delete(id: waiting.id)
            let work = try #require(try await h.work(second))
            #expect(work.repository.state.status == .ready && !work.repository.state.refreshing, "a failed re-check keeps the report")
            #expect(work.failureReason == "cancelled" && work.recheckFailures == 1)
            let next = try #require(work.repository.nextCheckAt)
            #expect(next > h.clock.now.addingTimeInterval(299) && next < h.clock.now.addingTimeInterval(331), "backed off 5 min (+ jitter)")
            try await h.checkInvariant()
        }
    }

    /// A job lost between two edges — here deleted behind the queue's back, as the old edge-triggered
    /// code could lose one — shows on the stall gauge, and the leader's reconcile pass repairs it.
    @Test(arguments: Engine.allCases)
    func theReconcilePassRepairsAMissedEdge(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("tool")
            try await h.run(try #require(try await h.claim(PipelineJobs.RepositorySetup.kind)), .succeed(head: Self.headA))
            _ = try await h.store.write("DELETE FROM jobs WHERE kind = 'health-analysis'")
            let stalls = try await Lifecycle.stallStats(store: h.store, now: h.clock.now)
            #expect(stalls.stalled == 0, "the backfill job still moves it on")
            _ = try await h.store.write("DELETE FROM jobs")
            #expect(try await Lifecycle.stallStats(store: h.store, now: h.clock.now).stalled == 1)
            #expect(try await h.lifecycle.reconcileStalled(limit: 100, store: h.store) == [id])
            try await h.checkInvariant()
            #expect(try await h.lifecycle.reconcileStalled(limit: 100, store: h.store).isEmpty, "nothing left to repair")
            try await h.drain { _ in Self.headA }
            try await h.checkSettled([id]) { _ in Self.headA }
        }
    }

    /// A repository deleted upstream after it became ready, re-checked by the scheduler over a simulated
    /// day (a pass every minute): each failed re-check keeps the report and backs off; `not_found` three
    /// times in a row makes it `failed`. A failure that may pass (a timeout) keeps backing off, up to the
    /// interval. The jobs table holds one discarded job per re-check, and retention bounds those too.
    @Test(arguments: Engine.allCases)
    func failedRechecksBackOffAndAGoneRemoteEndsFailed(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (gone, _) = try await h.add("gone")
            let (flaky, _) = try await h.add("flaky")
            try await h.drain { _ in Self.headA }
            let start = h.clock.now
            _ = try await h.store.write("UPDATE repositories SET next_check_at = \(start)")
            var created: [UUID: Int] = [:]
            for _ in 0..<(24 * 60) {
                // The leader's pass: due repositories start a re-check.
                let due = try await h.store.read { [now = h.clock.now] in try await $0.dueRepositories(now: now, limit: 100) }
                for id in due {
                    if case .restarted? = try await h.recheck(id) { created[id, default: 0] += 1 }
                }
                // Workers: the remote of `gone` is not found (not retried); `flaky` times out (retried, then given up).
                while let job = try await h.claim(PipelineJobs.RepositorySetup.kind) {
                    let id = try LifecycleHarness.repositoryID(of: job)
                    if id == gone {
                        try await h.run(job, .failPermanently(PipelineFailure(reason: "not_found", message: "repository not found")))
                    } else {
                        try await h.run(job, .fail(PipelineFailure(reason: "timed_out", message: "git timed out after 10m")))
                    }
                }
                try await h.checkInvariant()
                h.clock.advance(by: 60)
            }
            let goneWork = try #require(try await h.work(gone))
            #expect(goneWork.repository.state.status == .failed && goneWork.failureReason == "not_found")
            #expect(goneWork.repository.state.lastError?.contains("not_found") == true)
            #expect(goneWork.repository.nextCheckAt == nil, "a failed repository is not re-checked by the scheduler")
            #expect(created[gone] == 3, "three re-checks, then failed")
            let flakyWork = try #require(try await h.work(flaky))
            #expect(flakyWork.repository.state.status == .ready, "the last report stays")
            #expect(flakyWork.failureReason == "timed_out")
            let flakyChecks = created[flaky] ?? 0
            // 5, 10, 20, … minutes apart (+ up to 10 % jitter): 9 re-checks in a day instead of 1 440.
            #expect((8...10).contains(flakyChecks), "\(flakyChecks) re-checks of the flaky repository in a day")
            let jobs = try await h.store.read { try await $0.first("SELECT COUNT(*) AS n FROM jobs")?.int("n") } ?? 0
            print("""
                failed re-checks over a simulated day (\(engine)): remote gone → \(created[gone] ?? 0) re-checks, then failed; \
                timing out → \(flakyChecks) re-checks (backed off), still ready; jobs table: \(jobs) rows
                """)
            // Discarded jobs are kept for a while, then pruned like the others.
            let discarded = try await h.queue.list(state: .discarded, limit: 1000).count
            #expect(discarded == (created[gone] ?? 0) + flakyChecks)
            h.clock.advance(by: 8 * 86_400)
            try await h.queue.prune(JobQueue.Retention(maxAge: .seconds(86_400), keep: 10_000, discardedMaxAge: .seconds(7 * 86_400), discardedKeep: 10_000))
            #expect(try await h.queue.list(state: .discarded, limit: 1000).isEmpty)
        }
    }

    /// The automatic retries after transient failures have a budget (``CheckSchedule/maxTransientRetries``): the
    /// scheduler's own retries count toward it, a user's retry starts it again. A retry clears the planned one
    /// (`next_check_at`): the run that starts is the retry.
    @Test(arguments: Engine.allCases)
    func aUsersRetryStartsTheAutomaticRetryBudgetAgain(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, _) = try await h.add("flaky")
            func failSetup() async throws {
                let job = try #require(try await h.claim(PipelineJobs.RepositorySetup.kind))
                try await h.run(job, .failPermanently(PipelineFailure(reason: "git_failed", message: "the connection was reset")))
            }
            try await failSetup()
            var work = try #require(try await h.work(id))
            #expect(work.repository.state.status == .failed && work.recheckFailures == 1 && work.repository.nextCheckAt != nil)

            // As if the scheduler had already retried it up to the budget, each retry failing.
            _ = try await h.store.write("UPDATE repositories SET recheck_failures = \(CheckSchedule.maxTransientRetries) WHERE id = \(id)")
            h.clock.advance(by: 2 * 86_400)
            #expect(try await h.lifecycle.startDueChecks(limit: 10, store: h.store) == 1)
            work = try #require(try await h.work(id))
            #expect(work.repository.state.status == .processing && work.repository.nextCheckAt == nil, "the planned retry is cleared")
            #expect(work.recheckFailures == CheckSchedule.maxTransientRetries, "the scheduler's retry counts")
            try await failSetup()
            work = try #require(try await h.work(id))
            #expect(work.repository.state.status == .failed && work.repository.nextCheckAt == nil, "the budget is spent: no retry planned")
            h.clock.advance(by: 30 * 86_400)
            #expect(try await h.lifecycle.startDueChecks(limit: 10, store: h.store) == 0)

            // A user's retry starts the budget again: the next transient failure plans a retry an hour or so later.
            guard case .restarted? = try await h.retry(id) else { Issue.record("retry refused"); return }
            #expect(try await h.work(id)?.recheckFailures == 0)
            try await failSetup()
            work = try #require(try await h.work(id))
            #expect(work.recheckFailures == 1)
            let planned = try #require(work.repository.nextCheckAt)
            #expect(planned >= h.clock.now.addingTimeInterval(3600) && planned <= h.clock.now.addingTimeInterval(3600 * 1.2))
            try await h.checkInvariant()
        }
    }

    /// Random, seeded orders of everything that can happen to a repository — stage successes, retried and
    /// permanent failures, stale stages, lost leases, a head gone from the remote, administrators' cancels
    /// and deletes, re-checks, retries, pushes, entries deleted and added again — checking the invariant
    /// after every step; then the work drains and every repository ends `ready` (on the current head) or
    /// `failed` with a reason.
    @Test(arguments: Engine.allCases)
    func randomOrdersOfFaultsNeverStrandARepository(engine: Engine) async throws {
        let seed = ProcessInfo.processInfo.environment["LIFECYCLE_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        try await LifecycleHarness.with(engine) { h in
            var random = SplitMix(seed: seed)
            var heads: [String: String] = [:]
            var repositories: [String: UUID] = [:]
            var entries: [String: UUID] = [:]
            let names = (0..<8).map { "repo\($0)" }
            for name in names {
                heads[name] = String(format: "%040x", random.next() % 1_000_000)
                let added = try await h.add(name)
                repositories[name] = added.repository
                entries[name] = added.entry
            }
            var counts: [String: Int] = [:]
            let steps = ProcessInfo.processInfo.environment["LIFECYCLE_STEPS"].flatMap(Int.init) ?? 400
            for step in 0..<steps {
                let name = names[Int(random.next() % UInt64(names.count))]
                let id = repositories[name]!
                let roll = random.next() % 100
                let action: String
                switch roll {
                case 0..<45:
                    let kind = PipelineJobs.stageKinds[Int(random.next() % 3)]
                    guard let job = try await h.claim(kind) else { action = "idle"; break }
                    let jobRepository = try LifecycleHarness.repositoryID(of: job)
                    let head = heads[repositories.first { $0.value == jobRepository }?.key ?? ""] ?? Self.headA
                    switch random.next() % 20 {
                    case 0..<13: action = "succeed"; try await h.run(job, .succeed(head: head))
                    case 13..<15: action = "fail"; try await h.run(job, .fail(PipelineFailure(reason: "timed_out", message: "slow")))
                    case 15 where random.next() % 2 == 0:
                        action = "fail permanently"; try await h.run(job, .failPermanently(PipelineFailure(reason: "too_large", message: "big")))
                    case 15:
                        // Attempts spent on a reason time may cure: the repository fails, and the scheduler retries it later.
                        action = "fail, attempts spent (transient)"
                        try await h.run(job, .failPermanently(PipelineFailure(reason: "git_failed", message: "the connection was reset")))
                    case 16: action = "head unavailable"; try await h.run(job, .headUnavailable)
                    case 17: action = "lease lost"; h.clock.advance(by: 120); _ = try await h.queue.rescueExpiredLeases()
                    default: action = "worker killed (lease expires later)"
                    }
                case 45..<55:
                    action = "push"
                    heads[name] = String(format: "%040x", random.next() % 1_000_000_000)
                case 55..<63:
                    action = "recheck"
                    _ = try await h.recheck(id)
                case 63..<71:
                    action = "retry"
                    _ = try await h.retry(id)
                case 71..<78:
                    let unfinished = try await h.queue.list(state: [.available, .retryable, .running][Int(random.next() % 3)], limit: 50)
                        .filter { PipelineJobs.stageKinds.contains($0.kind) }
                    guard !unfinished.isEmpty else { action = "idle"; break }
                    let job = unfinished[Int(random.next() % UInt64(unfinished.count))]
                    if job.state != .running, random.next() % 2 == 0 {
                        action = "admin delete"
                        try await h.queue.delete(id: job.id)
                    } else {
                        action = "admin cancel"
                        _ = try await h.queue.cancel(id: job.id)
                    }
                case 78..<82:
                    action = "delete and re-add"
                    let (lifecycle, entry) = (h.lifecycle, entries[name]!)
                    let removed = try await h.store.transaction { tx -> Bool in
                        _ = try await tx.deleteEntry(id: entry, visibleTo: Caller(userID: UUID(), userName: "root", keyID: UUID(), isAdmin: true))
                        return try await lifecycle.removeUnwatched(repository: id, in: tx)
                    }
                    #expect(removed)
                    let added = try await h.add(name)
                    repositories[name] = added.repository
                    entries[name] = added.entry
                case 82..<85:
                    action = "time passes"
                    h.clock.advance(by: Double(random.next() % 120))
                    _ = try await h.queue.rescueExpiredLeases()
                case 85..<88:
                    // Hours go by and the scheduler's pass runs: due re-checks start, and repositories that failed
                    // for a transient reason (the "fail" above, once its attempts are spent) are retried by themselves.
                    h.clock.advance(by: Double(3600 + random.next() % (26 * 3600)))
                    _ = try await h.queue.rescueExpiredLeases()
                    var failedAndDue = 0
                    for due in try await h.store.read({ [now = h.clock.now] in try await $0.dueRepositories(now: now, limit: 100) })
                    where try await h.state(due)?.status == .failed { failedAndDue += 1 }
                    let started = try await h.lifecycle.startDueChecks(limit: 100, store: h.store)
                    action = started == 0 ? "scheduler pass (nothing due)"
                        : failedAndDue > 0 ? "scheduler pass (a failed repository retried)" : "scheduler pass (re-checks)"
                default:
                    action = "reconcile pass"
                    #expect(try await h.lifecycle.reconcileStalled(limit: 100, store: h.store).isEmpty, "step \(step): the pass found a stall")
                }
                counts[action, default: 0] += 1
                try await h.checkInvariant("after step \(step) (\(action) on \(name), seed \(seed))")
            }
            let finalHeads = heads
            let byRepository = Dictionary(uniqueKeysWithValues: repositories.map { ($0.value, $0.key) })
            try await h.drain { finalHeads[byRepository[$0] ?? ""] ?? Self.headA }
            try await h.checkInvariant("after draining (seed \(seed))")
            try await h.checkSettled(Array(repositories.values)) { _ in nil }
            var outcomes: [String: Int] = [:]
            for id in repositories.values {
                let work = try #require(try await h.work(id))
                outcomes[work.repository.state.status == .ready ? "ready" : "failed(\(work.failureReason ?? "?"))", default: 0] += 1
            }
            print("lifecycle chaos (\(engine), seed \(seed)): \(steps) steps \(counts.sorted { $0.key < $1.key }); outcomes \(outcomes.sorted { $0.key < $1.key })")
        }
    }
}

/// SplitMix64: a small seeded generator, so a failing order can be replayed (`LIFECYCLE_SEED`).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
