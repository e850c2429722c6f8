import Domain
import Foundation
import Queue
import Store
import TestSupport
import Testing

struct Payload: JobArguments {
    static let kind = "test-payload"
    static let queue = "test"
    let n: Int
}

/// The queue's contract, on both engines, with a clock the test moves.
@Suite("Job queue")
struct JobQueueTests {
    func withQueue(_ engine: Engine, maxAttempts: Int = 3, _ body: @escaping @Sendable (JobQueue, TestClock) async throws -> Void) async throws {
        try await TestDatabase.withStore(engine) { store in
            let clock = TestClock()
            let queue = JobQueue(
                store: store,
                configuration: .init(maxAttempts: maxAttempts, retry: RetryPolicy(base: .seconds(2), maximum: .seconds(3600), jitter: 0.2), lease: .seconds(60)),
                clock: clock.function)
            try await body(queue, clock)
        }
    }

    @Test(arguments: Engine.allCases)
    func fiftyConcurrentEnqueuesOfOneKeyMakeOneJob(engine: Engine) async throws {
        try await withQueue(engine) { queue, _ in
            let results = try await withThrowingTaskGroup(of: EnqueueResult.self) { group in
                for i in 0..<50 {
                    group.addTask { try await queue.enqueue(Payload(n: i), options: .init(uniqueKey: "same")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter(\.inserted).count == 1)
            #expect(Set(results.map(\.jobID)).count == 1, "every caller learns the one job's id")
            #expect(try await queue.list(queue: "test").count == 1)
        }
    }

    @Test(arguments: Engine.allCases)
    func aFinishedJobFreesItsKey(engine: Engine) async throws {
        try await withQueue(engine) { queue, _ in
            let first = try await queue.enqueue(Payload(n: 1), options: .init(uniqueKey: "k"))
            let job = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            #expect(try await queue.enqueue(Payload(n: 2), options: .init(uniqueKey: "k")) == EnqueueResult(jobID: first.jobID, inserted: false),
                    "a running job still holds its key")
            #expect(try await queue.complete(job))
            let second = try await queue.enqueue(Payload(n: 3), options: .init(uniqueKey: "k"))
            #expect(second.inserted && second.jobID != first.jobID)
        }
    }

    /// `replacesWaiting`: a newer request replaces a waiting job's arguments (its attempts start over);
    /// a running job is never touched.
    @Test(arguments: Engine.allCases)
    func aNewerRequestReplacesAWaitingJobButNotARunningOne(engine: Engine) async throws {
        try await withQueue(engine) { queue, clock in
            let first = try await queue.enqueue(Payload(n: 1), options: .init(uniqueKey: "k", replacesWaiting: true))
            let job = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            #expect(try await queue.fail(job, error: TestFailure(message: "boom")) == .retryable)
            let replaced = try await queue.enqueue(Payload(n: 2), options: .init(uniqueKey: "k", replacesWaiting: true))
            #expect(replaced == EnqueueResult(jobID: first.jobID, inserted: false, replaced: true))
            let record = try #require(try await queue.job(id: first.jobID))
            #expect(record.argsJSON.contains("2") && record.attempt == 0 && record.runAt <= clock.now, "new arguments, attempts start over, due now")
            #expect(record.errors.count == 1, "the history is kept")
            let same = try await queue.enqueue(Payload(n: 2), options: .init(uniqueKey: "k", replacesWaiting: true))
            #expect(same == EnqueueResult(jobID: first.jobID, inserted: false), "equal arguments: nothing to replace")

            let running = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            let untouched = try await queue.enqueue(Payload(n: 3), options: .init(uniqueKey: "k", replacesWaiting: true))
            #expect(untouched == EnqueueResult(jobID: first.jobID, inserted: false))
            #expect(try await queue.job(id: running.id)?.argsJSON.contains("2") == true, "a running job keeps its arguments")
        }
    }

    /// Discarded jobs are kept for inspection, but by age and count like the others, never without bound.
    @Test(arguments: Engine.allCases)
    func retentionBoundsDiscardedJobsToo(engine: Engine) async throws {
        try await withQueue(engine, maxAttempts: 1) { queue, clock in
            for i in 0..<5 { try await queue.enqueue(Payload(n: i)) }
            for job in try await queue.claim(queue: "test", limit: 5, owner: "w") {
                clock.advance(by: 1)
                #expect(try await queue.fail(job, error: TestFailure(message: "boom")) == .discarded)
            }
            let retention = JobQueue.Retention(maxAge: .seconds(60), keep: 100, discardedMaxAge: .seconds(3600), discardedKeep: 3)
            #expect(try await queue.prune(retention) == 2, "beyond the newest 3")
            clock.advance(by: 3601)
            #expect(try await queue.prune(retention) == 3, "older than the age")
            #expect(try await queue.list(state: .discarded).isEmpty)
        }
    }

    @Test(arguments: Engine.allCases)
    func enqueueCommitsOrRollsBackWithTheCallersTransaction(engine: Engine) async throws {
        struct Boom: Error {}
        try await withQueue(engine) { queue, _ in
            await #expect(throws: Boom.self) {
                try await queue.store.transaction { tx in
                    try await queue.enqueue(Payload(n: 1), in: tx)
                    throw Boom()
                }
            }
            #expect(try await queue.list().isEmpty)
            try await queue.store.transaction { tx in _ = try await queue.enqueue(Payload(n: 2), in: tx) }
            #expect(try await queue.list().count == 1)
        }
    }

    @Test(arguments: Engine.allCases)
    func claimsByPriorityThenRunAtAndNeverTooEarly(engine: Engine) async throws {
        try await withQueue(engine) { queue, clock in
            let now = clock.now
            try await queue.enqueue(Payload(n: 1), options: .init(priority: 5, runAt: now.addingTimeInterval(-30)))
            try await queue.enqueue(Payload(n: 2), options: .init(priority: 1, runAt: now.addingTimeInterval(-10)))
            try await queue.enqueue(Payload(n: 3), options: .init(priority: 1, runAt: now.addingTimeInterval(-20)))
            try await queue.enqueue(Payload(n: 4), options: .init(priority: 0, runAt: now.addingTimeInterval(60)))
            try await queue.enqueue(Payload(n: 5), options: .init(queue: "other"))
            let claimed = try await queue.claim(queue: "test", limit: 10, owner: "w")
            #expect(try claimed.map { try $0.arguments(as: Payload.self).n } == [3, 2, 1])
            #expect(claimed.allSatisfy { $0.attempt == 1 })
            clock.advance(by: 61)
            #expect(try await queue.claim(queue: "test", limit: 10, owner: "w").map { try $0.arguments(as: Payload.self).n } == [4])
            #expect(try await queue.claim(queue: "test", limit: 10, owner: "w", kinds: ["something-else"]).isEmpty)
        }
    }

    /// Concurrent claimers never get the same job (PostgreSQL: SKIP LOCKED; SQLite: one writer).
    @Test(arguments: Engine.allCases)
    func concurrentClaimersTakeDisjointJobs(engine: Engine) async throws {
        try await withQueue(engine) { queue, _ in
            try await queue.store.transaction { tx in
                for i in 0..<200 { try await queue.enqueue(Payload(n: i), in: tx) }
            }
            let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for w in 0..<4 {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await queue.claim(queue: "test", limit: 7, owner: "w\(w)")
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.count == 200)
            #expect(Set(claimed).count == 200)
        }
    }

    /// A worker that stalls past its lease loses the job to the rescuer, and then nothing it reports counts.
    @Test(arguments: Engine.allCases)
    func expiredLeasesAreRescuedAndStaleWorkersFenced(engine: Engine) async throws {
        try await withQueue(engine) { queue, clock in
            let id = try await queue.enqueue(Payload(n: 1)).jobID
            let stale = try #require(try await queue.claim(queue: "test", limit: 1, owner: "stale").first)
            #expect(try await queue.heartbeat(stale))
            clock.advance(by: 30)
            #expect(try await queue.rescueExpiredLeases().isEmpty, "a live lease is not rescued")
            clock.advance(by: 31)
            let rescued = try await queue.rescueExpiredLeases()
            #expect(rescued.map(\.id) == [id] && rescued.first?.state == .retryable)
            let record = try #require(try await queue.job(id: id))
            #expect(record.state == .retryable)
            #expect(record.errors.map(\.error) == ["lease expired"])

            let fresh = try #require(try await queue.claim(queue: "test", limit: 1, owner: "fresh").first)
            #expect(fresh.attempt == 2)
            #expect(try await !queue.heartbeat(stale))
            #expect(try await !queue.reportProgress(stale, percent: 50, message: "stale"))
            #expect(try await !queue.complete(stale))
            #expect(try await queue.fail(stale, error: CancellationError()) == nil)
            #expect(try await queue.reportProgress(fresh, percent: 40, message: "fresh"))
            #expect(try await queue.job(id: id)?.progressMessage == "fresh")
            #expect(try await queue.complete(fresh))
            #expect(try await queue.job(id: id)?.state == .completed)
        }
    }

    @Test(arguments: Engine.allCases)
    func aLeaseThatExpiresOnTheLastAttemptDiscards(engine: Engine) async throws {
        try await withQueue(engine, maxAttempts: 1) { queue, clock in
            let id = try await queue.enqueue(Payload(n: 1)).jobID
            _ = try await queue.claim(queue: "test", limit: 1, owner: "w")
            clock.advance(by: 61)
            #expect(try await queue.rescueExpiredLeases().first?.state == .discarded)
            #expect(try await queue.job(id: id)?.finalizedAt != nil)
        }
    }

    @Test func backoffDoublesWithBoundedJitter() {
        let policy = RetryPolicy(base: .seconds(2), maximum: .seconds(3600), jitter: 0.2)
        #expect(policy.delay(afterAttempt: 1, random: 0) == .seconds(4))
        #expect(policy.delay(afterAttempt: 2, random: 0) == .seconds(8))
        #expect(policy.delay(afterAttempt: 3, random: 0) == .seconds(16))
        #expect(policy.delay(afterAttempt: 2, random: 1) == .seconds(9.6))
        #expect(policy.delay(afterAttempt: 2, random: -1) == .seconds(6.4))
        #expect(policy.delay(afterAttempt: 30, random: 0) == .seconds(3600), "capped")
    }

    /// Failures retry at base·2^attempt (±20 %); the last one discards and keeps every error; a
    /// manual retry brings it back with new attempts.
    @Test(arguments: Engine.allCases)
    func failuresRetryWithBackoffThenDiscardThenRetryByHand(engine: Engine) async throws {
        struct Flaky: Error, CustomStringConvertible { let n: Int; var description: String { "flaky \(n)" } }
        try await withQueue(engine) { queue, clock in
            let id = try await queue.enqueue(Payload(n: 1)).jobID
            for attempt in 1...3 {
                let job = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first, "attempt \(attempt)")
                #expect(job.attempt == attempt)
                let failedAt = clock.now
                let state = try await queue.fail(job, error: Flaky(n: attempt))
                let record = try #require(try await queue.job(id: id))
                if attempt < 3 {
                    #expect(state == .retryable)
                    let delay = record.runAt.timeIntervalSince(failedAt)
                    let base = 2.0 * pow(2, Double(attempt))
                    #expect(delay >= base * 0.8 - 0.001 && delay <= base * 1.2 + 0.001, "attempt \(attempt): \(delay) s")
                    #expect(try await queue.claim(queue: "test", limit: 1, owner: "w").isEmpty, "not before its time")
                    clock.advance(by: delay + 0.01)
                } else {
                    #expect(state == .discarded)
                    #expect(record.errors.map(\.error) == ["flaky 1", "flaky 2", "flaky 3"])
                    #expect(record.errors.map(\.attempt) == [1, 2, 3])
                }
            }
            clock.advance(by: 3600)
            #expect(try await queue.claim(queue: "test", limit: 1, owner: "w").isEmpty, "discarded jobs stay put")
            let retried = try await queue.retry(id: id)
            #expect(retried.state == .available && retried.maxAttempts == 6 && retried.errors.count == 3)
            #expect(try await queue.claim(queue: "test", limit: 1, owner: "w").first?.attempt == 4)
            await #expect(throws: JobAdminError.self) { try await queue.retry(id: id) }
            await #expect(throws: JobAdminError.notFound(999_999)) { try await queue.retry(id: 999_999) }
        }
    }

    @Test(arguments: Engine.allCases)
    func permanentFailuresDiscardAndSnoozesKeepTheAttempt(engine: Engine) async throws {
        try await withQueue(engine) { queue, clock in
            let a = try await queue.enqueue(Payload(n: 1)).jobID
            let job = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            #expect(try await queue.fail(job, error: JobFailure.permanent("no such repository")) == .discarded)
            #expect(try await queue.job(id: a)?.errors.first?.error == "no such repository")

            let b = try await queue.enqueue(Payload(n: 2)).jobID
            let busy = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            #expect(try await queue.fail(busy, error: JobFailure.snooze(for: .seconds(10), reason: "clone busy")) == .available)
            #expect(try await queue.job(id: b)?.attempt == 0)
            #expect(try await queue.claim(queue: "test", limit: 1, owner: "w").isEmpty)
            clock.advance(by: 11)
            #expect(try await queue.claim(queue: "test", limit: 1, owner: "w").first?.attempt == 1)
        }
    }

    /// A host that says how long to wait (a rate limit's reset) gets its wait, as a failed attempt — but no longer
    /// than the policy's maximum delay (an hour here), whatever it says.
    @Test(arguments: Engine.allCases)
    func aRetryNoSoonerThanAWaitUsesAnAttemptAndIsCapped(engine: Engine) async throws {
        try await withQueue(engine) { queue, clock in
            let id = try await queue.enqueue(Payload(n: 1)).jobID
            let job = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            let failedAt = clock.now
            #expect(try await queue.fail(job, error: JobFailure.retry(noSoonerThan: .seconds(600), reason: "rate_limited: spent")) == .retryable)
            let record = try #require(try await queue.job(id: id))
            #expect(record.attempt == 1 && record.errors.map(\.error) == ["rate_limited: spent"], "the attempt is used")
            #expect(abs(record.runAt.timeIntervalSince(failedAt) - 600) < 0.01, "the wait, not the policy's 4 s")
            clock.advance(by: 590)
            #expect(try await queue.claim(queue: "test", limit: 1, owner: "w").isEmpty, "not before the wait is over")
            clock.advance(by: 11)
            let again = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            #expect(again.attempt == 2)

            let failedAgainAt = clock.now
            #expect(try await queue.fail(again, error: JobFailure.retry(noSoonerThan: .seconds(86_400 * 365), reason: "rate_limited: a year")) == .retryable)
            let capped = try #require(try await queue.job(id: id))
            #expect(abs(capped.runAt.timeIntervalSince(failedAgainAt) - 3600) < 0.01, "capped at the policy's maximum")

            // The third (last) attempt: a wait does not buy another.
            clock.advance(by: 3601)
            let third = try #require(try await queue.claim(queue: "test", limit: 1, owner: "w").first)
            let thirdAt = clock.now
            #expect(try await queue.fail(third, error: JobFailure.retry(noSoonerThan: .seconds(1), reason: "rate_limited: 1 s")) == .discarded,
                "with no attempt left it is discarded like any failure")
            #expect(try await queue.job(id: id)?.finalizedAt.map { abs($0.timeIntervalSince(thirdAt)) < 0.01 } == true)
        }
    }

    /// Cancelling a running job revokes its lease: the worker's next report fails and its result is dropped.
    @Test(arguments: Engine.allCases)
    func cancelStopsWaitingAndRunningJobs(engine: Engine) async throws {
        try await withQueue(engine) { queue, _ in
            let waiting = try await queue.enqueue(Payload(n: 1), options: .init(uniqueKey: "w")).jobID
            #expect(try await queue.cancel(id: waiting).state == .cancelled)
            #expect(try await queue.enqueue(Payload(n: 1), options: .init(uniqueKey: "w")).inserted, "a cancelled job frees its key")

            let running = try await queue.enqueue(Payload(n: 2)).jobID
            let job = try #require(try await queue.claim(queue: "test", limit: 5, owner: "w").first { $0.id == running })
            #expect(try await queue.cancel(id: running).state == .cancelled)
            #expect(try await !queue.heartbeat(job))
            #expect(try await !queue.complete(job))
            #expect(try await queue.job(id: running)?.state == .cancelled)
            await #expect(throws: JobAdminError.self) { try await queue.cancel(id: running) }
            #expect(try await queue.retry(id: running).state == .available)
            #expect(try await queue.claim(queue: "test", limit: 5, owner: "w").map(\.id).contains(running))
            await #expect(throws: JobAdminError.self, "a running job must be cancelled before it is deleted") {
                try await queue.delete(id: running)
            }
            _ = try await queue.cancel(id: running)
            try await queue.delete(id: running)
            #expect(try await queue.job(id: running) == nil)
        }
    }

    @Test(arguments: Engine.allCases)
    func retentionPrunesFinishedJobsByAgeAndCountButKeepsDiscarded(engine: Engine) async throws {
        try await withQueue(engine, maxAttempts: 1) { queue, clock in
            for i in 0..<6 { try await queue.enqueue(Payload(n: i)) }
            let claimed = try await queue.claim(queue: "test", limit: 6, owner: "w")
            for job in claimed.prefix(5) {
                #expect(try await queue.complete(job))
                clock.advance(by: 60)
            }
            _ = try await queue.fail(claimed[5], error: JobFailure.permanent("kept"))
            clock.advance(by: 3600)
            // Nothing is older than a day; keep the newest 2 of the 5 completed.
            #expect(try await queue.prune(maxAge: .seconds(86_400), keep: 2) == 3)
            #expect(try await queue.list(state: .completed).map(\.id) == claimed[3...4].map(\.id).reversed())
            clock.advance(by: 86_400)
            #expect(try await queue.prune(maxAge: .seconds(86_400), keep: 100) == 2)
            #expect(try await queue.list().map(\.state) == [.discarded])
        }
    }

    @Test(arguments: Engine.allCases)
    func statsCountByStateAndShowTheOldestWait(engine: Engine) async throws {
        try await withQueue(engine) { queue, clock in
            try await queue.enqueue(Payload(n: 1))
            clock.advance(by: 30)
            try await queue.enqueue(Payload(n: 2))
            try await queue.enqueue(Payload(n: 3), options: .init(runAt: clock.now.addingTimeInterval(600)))
            _ = try await queue.claim(queue: "test", limit: 1, owner: "w")
            clock.advance(by: 12)
            let stats = try await queue.stats(queues: ["test", "empty"])
            #expect(stats.map(\.queue) == ["empty", "test"])
            let test = try #require(stats.last)
            #expect(test.counts[.available] == 2 && test.counts[.running] == 1)
            #expect(test.oldestAvailableAge == 12, "the due job enqueued 12 s ago; the future one does not count")
            #expect(stats.first?.counts.isEmpty == true && stats.first?.oldestAvailableAge == nil)
        }
    }
}
