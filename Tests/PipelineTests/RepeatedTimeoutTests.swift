import Domain
import Foundation
import Pipeline
import Queue
import Store
import TestSupport
import Testing

/// Issue 10, finding 6: a repository whose analysis times out twice in a row fails with the reason instead of
/// holding an analysis slot for every remaining attempt. The decision reads the job's own recorded errors, as the
/// health-analysis handler does, on the real queue of each engine (three attempts, as `jobs.max_attempts`).
@Suite("Repeated analysis timeouts")
struct RepeatedTimeoutTests {
    static let head = String(repeating: "a", count: 40)
    static let timedOut = PipelineFailure(reason: "timed_out", message: "no result after 600 s; the process group was killed")

    /// Sets a repository up and claims its analysis job.
    static func analysis(_ h: LifecycleHarness, _ name: String) async throws -> (repository: UUID, job: ClaimedJob) {
        let (id, _) = try await h.add(name)
        try await h.run(try #require(try await h.claim(PipelineJobs.RepositorySetup.kind)), .succeed(head: head))
        return (id, try #require(try await h.claim(PipelineJobs.HealthAnalysis.kind)))
    }

    /// Fails `job` with `failure` the way the handler does, deciding from the job's recorded errors.
    @discardableResult
    static func fail(_ h: LifecycleHarness, _ job: ClaimedJob, _ failure: PipelineFailure) async throws -> JobState? {
        let errors = try await h.queue.job(id: job.id)?.errors ?? []
        let error = PipelineJobs.HealthAnalysis.thrown(failure, permanent: false, attempt: job.attempt, previousErrors: errors)
        return try await h.queue.fail(job, error: error)
    }

    /// The job's next attempt, once its retry is due.
    static func retry(_ h: LifecycleHarness) async throws -> ClaimedJob {
        h.clock.advance(by: 3600)
        return try #require(try await h.claim(PipelineJobs.HealthAnalysis.kind))
    }

    @Test(arguments: Engine.allCases)
    func aSecondTimeoutInARowFailsTheRepositoryWithTheReason(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, first) = try await Self.analysis(h, "huge")
            #expect(try await Self.fail(h, first, Self.timedOut) == .retryable, "one timeout is retried")
            #expect(try await h.state(id)?.status == .processing)

            let second = try await Self.retry(h)
            #expect(second.attempt == 2)
            #expect(try await Self.fail(h, second, Self.timedOut) == .discarded, "the second in a row is not")
            let work = try #require(try await h.work(id))
            #expect(work.repository.state.status == .failed)
            #expect(work.failureReason == "timed_out")
            #expect(work.repository.state.lastError?.hasPrefix("analyzing: timed_out: ") == true, "\(work.repository.state.lastError ?? "")")
            #expect(work.repository.state.lastError?.contains("not retried") == true)
            let record = try #require(try await h.queue.job(id: second.id))
            #expect(record.errors.count == 2 && record.attempt == 2 && record.maxAttempts == 3, "the third attempt was never made")
            try await h.checkInvariant()

            // POST …/retry starts it again, with a new job whose history is its own.
            guard case .restarted? = try await h.retry(id) else { Issue.record("retry refused"); return }
            try await h.run(try #require(try await h.claim(PipelineJobs.RepositorySetup.kind)), .succeed(head: Self.head))
            let again = try #require(try await h.claim(PipelineJobs.HealthAnalysis.kind))
            #expect(again.id != second.id && again.attempt == 1)
            #expect(try await Self.fail(h, again, Self.timedOut) == .retryable, "a new job's first timeout is retried")
        }
    }

    @Test(arguments: Engine.allCases)
    func timeoutsApartAreRetriedAsAnyFailure(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, first) = try await Self.analysis(h, "flaky")
            #expect(try await Self.fail(h, first, Self.timedOut) == .retryable)
            let second = try await Self.retry(h)
            #expect(try await Self.fail(h, second, PipelineFailure(reason: "malformed_output", message: "not JSON")) == .retryable)
            let third = try await Self.retry(h)
            #expect(third.attempt == 3)
            // Not in a row: discarded only because it was the last attempt, with the reason of the last failure.
            #expect(try await Self.fail(h, third, Self.timedOut) == .discarded)
            let work = try #require(try await h.work(id))
            #expect(work.failureReason == "timed_out")
            #expect(work.repository.state.lastError?.contains("not retried") == false)
        }
    }

    @Test(arguments: Engine.allCases)
    func otherReasonsInARowAreRetried(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, first) = try await Self.analysis(h, "garbled")
            let malformed = PipelineFailure(reason: "malformed_output", message: "not JSON")
            #expect(try await Self.fail(h, first, malformed) == .retryable)
            #expect(try await Self.fail(h, try await Self.retry(h), malformed) == .retryable)
            #expect(try await h.state(id)?.status == .processing)
        }
    }
}
