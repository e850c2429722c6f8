import Analysis
import Domain
import Egress
import Foundation
import GitFixtures
import Ingestion
import Pipeline
import Queue
import Store
import TestSupport
import Testing

/// The health-analysis stage with a Scorecard command that behaves like the official CLI in each of its
/// ways of ending: the repository becomes `ready` with a health report, or `failed` with the reason
/// after its retries — and a retry once the command works makes it `ready`.
@Suite("Health analysis")
struct AnalysisTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ScorecardTests/Fixtures/example-1-github.com-ossf-scorecard.json")

    /// A fake `scorecard`: `version` answers like the official CLI; a run behaves by the repository's name
    /// (exit 1 silent, garbage, the v5.4 "Skipping" case, a hang), unless the file `fixed` exists in its folder.
    static func fakeScorecard(in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("scorecard").path
        let script = """
            #!/bin/sh
            if [ "$1" = version ]; then echo "Version: v5.5.0-fake"; exit 0; fi
            repo=""
            clone=""
            for argument in "$@"; do
              case "$argument" in --repo=*) repo="${argument#--repo=}";; --local=*) clone="${argument#--local=}";; esac
            done
            if [ ! -f "\(folder.path)/fixed" ]; then
              case "$repo" in
                *vanishing*)
                  # The whole clone cache folder removed while Scorecard reads (once): it reads on, finding nothing.
                  if [ ! -f "\(folder.path)/vanished" ]; then touch "\(folder.path)/vanished"; rm -rf "$(dirname "$clone")"; fi;;
                *exit-one*) echo "Error: invalid flags" >&2; exit 1;;
                *garbage*) echo "this is not json"; exit 0;;
                *skipping*) echo "Skipping $repo: repo not accessible" >&2; exit 0;;
                *hanging*) sleep 600; exit 0;;
              esac
            fi
            echo run >> "\(folder.path)/runs"
            cat "\(fixture.path)"
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    static func options(scratch: URL) throws -> IngestionHarness.Options {
        var options = IngestionHarness.Options()
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        options.scorecard = (try fakeScorecard(in: scratch), ["--repo={repo}", "--local={clone}", "--format=json"], .seconds(3))
        return options
    }

    @Test(arguments: Engine.allCases)
    func aRepositoryBecomesReadyWithAHealthReport(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("healthy", commits: 300, span: h.now.addingTimeInterval(-200 * 86_400)...h.now.addingTimeInterval(-3600))
            let (id, _) = try await h.add("healthy")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            let repository = try #require(try await h.work(id)?.repository)
            #expect(repository.state.stage == .done && repository.state.completedAt != nil)
            let report = try #require(try await h.store.read { try await $0.latestHealthReport(repository: id) })
            #expect(repository.healthScore == report.healthScore)
            #expect(report.headCommit == repository.headCommit)
            #expect(report.scorecardVersion == "v5.5.0-fake")
            #expect(report.confidence == 1, "every signal was measured")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.reportJSON.utf8)) as? [String: Any])
            let scorecard = try #require(json["scorecard"] as? [String: Any])
            #expect((scorecard["checks"] as? [Any])?.count == 18)
            // The report names the repository and the head analysed (the command printed ossf/scorecard's), never a
            // folder of this host.
            let named = try #require(scorecard["repo"] as? [String: String])
            #expect(named == ["name": "127.0.0.1:\(h.server.port)/fixtures/healthy", "commit": try #require(repository.headCommit)])
            #expect(!report.reportJSON.contains("file://") && !report.reportJSON.contains(h.ingestion.cache.directory(for: id).path))
            let activity = try #require(json["activity"] as? [String: Any])
            #expect(activity["commits_total"] as? Int == 300)
            #expect(Set(activity.keys).isSuperset(of: ["commits_30d", "commits_90d", "commits_365d", "active_authors_90d", "bus_factor"]),
                    "the report names the metrics as the activity endpoint does: \(activity.keys.sorted())")
            let next = try #require(repository.nextCheckAt)
            #expect(next > h.now.addingTimeInterval(0.89 * 86_400) && next < h.now.addingTimeInterval(1.11 * 86_400), "re-checked in a day ± 10 %")
        }
    }

    @Test(arguments: Engine.allCases)
    func everyWayScorecardCanFailEndsInFailedThenRetryMakesItReady(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            let cases = [("exit-one", "failed"), ("garbage", "malformed_output"), ("skipping", "skipped"), ("hanging", "timed_out")]
            var ids: [(UUID, String)] = []
            for (index, (name, reason)) in cases.enumerated() {
                _ = try await h.serve(name, commits: 20, span: h.now.addingTimeInterval(-50 * 86_400)...h.now.addingTimeInterval(-60), seed: UInt64(index))
                ids.append((try await h.add(name).repository, reason))
            }
            let failed = try await h.runWorkers {
                for (id, _) in ids where try await h.work(id)?.repository.state.status != .failed { return false }
                return true
            }
            #expect(failed, "\(h.logs.text.suffix(3000))")
            for (id, reason) in ids {
                let work = try #require(try await h.work(id))
                #expect(work.failureReason == reason)
                #expect(work.repository.state.lastError?.hasPrefix("analyzing: \(reason): ") == true, "\(work.repository.state.lastError ?? "")")
                #expect(work.attempts == 2, "\(reason): retried, then given up")
            }
            let discarded = try await h.queue.list(state: .discarded, kind: PipelineJobs.HealthAnalysis.kind, limit: 10)
            #expect(discarded.count == 4 && discarded.allSatisfy { $0.errors.count == 2 })

            // The command is fixed; POST …/retry does this for each.
            #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent("fixed").path, contents: Data()))
            for (id, _) in ids {
                guard case .restarted? = try await h.retry(id) else {
                    Issue.record("retry refused")
                    continue
                }
            }
            let ready = try await h.runWorkers {
                for (id, _) in ids where try await h.work(id)?.repository.state.status != .ready { return false }
                return true
            }
            #expect(ready, "\(h.logs.text.suffix(3000))")
            for (id, _) in ids {
                #expect(try await h.store.read { try await $0.latestHealthReport(repository: id) } != nil)
            }
        }
    }

    /// Issue 10, finding 6: with three attempts allowed, a Scorecard run that times out twice in a row ends the
    /// analysis at the second (the handler reads the job's recorded errors): the entry is `failed` with
    /// `timed_out`, and no third attempt holds an analysis slot for the whole limit again.
    @Test(arguments: Engine.allCases)
    func aSecondTimeoutInARowIsNotRetried(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = try Self.options(scratch: folder)
        options.maxAttempts = 3
        try await IngestionHarness.with(engine, options) { h in
            _ = try await h.serve("hanging", commits: 20, span: h.now.addingTimeInterval(-50 * 86_400)...h.now.addingTimeInterval(-60))
            let (id, _) = try await h.add("hanging")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .failed }, "\(h.logs.text.suffix(3000))")
            let work = try #require(try await h.work(id))
            #expect(work.failureReason == "timed_out")
            #expect(work.repository.state.lastError?.contains("not retried") == true, "\(work.repository.state.lastError ?? "")")
            let jobs = try await h.queue.list(state: .discarded, kind: PipelineJobs.HealthAnalysis.kind, limit: 10)
            #expect(jobs.count == 1 && jobs.first?.attempt == 2 && jobs.first?.errors.count == 2, "\(jobs.map(\.errors))")
        }
    }

    /// Issue 10, finding 6: a clone with more files than `scorecard.max_files` is refused before Scorecard starts,
    /// as `too_large`, at the first attempt (permanent: retrying cannot shrink the tree).
    @Test(arguments: Engine.allCases)
    func aTreeWithTooManyFilesFailsAsTooLargeAtTheFirstAttempt(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = try Self.options(scratch: folder)
        options.maxAttempts = 3
        options.scorecardMaxFiles = 1
        try await IngestionHarness.with(engine, options) { h in
            _ = try await h.serve("crowded", commits: 20, span: h.now.addingTimeInterval(-50 * 86_400)...h.now.addingTimeInterval(-60))
            let (id, _) = try await h.add("crowded")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .failed }, "\(h.logs.text.suffix(3000))")
            let work = try #require(try await h.work(id))
            #expect(work.failureReason == "too_large")
            #expect(work.repository.state.lastError?.contains("more than 1 files (scorecard.max_files)") == true, "\(work.repository.state.lastError ?? "")")
            let jobs = try await h.queue.list(state: .discarded, kind: PipelineJobs.HealthAnalysis.kind, limit: 10)
            #expect(jobs.count == 1 && jobs.first?.attempt == 1, "not retried")
            #expect(Self.scorecardRuns(in: folder) == 0, "Scorecard never started")
        }
    }

    /// Issue 9's reproduction: the Scorecard command does not exist, and no worker takes the backfill
    /// queue. Analysis gives up (`not_found`); the entry is `failed`. A worker for the backfill queue
    /// then runs the backfill that was waiting there — a stale job now: the entry stays `failed` (it used
    /// to go back to `processing` for good). Once the command exists, `POST …/retry` makes it `ready`.
    @Test(arguments: Engine.allCases)
    func aStaleBackfillLeavesAFailedEntryFailedAndRetryMakesItReady(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("missing-scorecard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = IngestionHarness.Options()
        // The path the fake command will be written to, missing for now.
        options.scorecard = (folder.appendingPathComponent("scorecard").path, ["--repo={repo}", "--local={clone}", "--format=json"], .seconds(10))
        try await IngestionHarness.with(engine, options) { h in
            _ = try await h.serve("project", commits: 60, span: h.now.addingTimeInterval(-90 * 86_400)...h.now.addingTimeInterval(-600))
            let (id, _) = try await h.add("project")
            let failed = try await h.runWorkers(queues: ["repository-setup", "health-analysis", "maintenance"]) {
                try await h.work(id)?.repository.state.status == .failed
            }
            #expect(failed, "\(h.logs.text.suffix(3000))")
            #expect(try await h.work(id)?.failureReason == "not_found")
            let waiting = try await h.queue.list(state: .available, kind: PipelineJobs.CommitBackfill.kind)
            #expect(waiting.count == 1, "the backfill waits in its queue")

            // A worker for the backfill queue starts (the second process of the reproduction).
            let drained = try await h.runWorkers(queues: ["commit-backfill"]) {
                try await h.queue.list(kind: PipelineJobs.CommitBackfill.kind).allSatisfy { $0.state.isFinished }
            }
            #expect(drained)
            let after = try #require(try await h.work(id))
            #expect(after.repository.state.status == .failed, "a stale backfill does not revive a failed entry")
            #expect(after.failureReason == "not_found" && after.repository.state.lastError?.hasPrefix("analyzing: not_found") == true)
            #expect(try await Lifecycle.stallStats(store: h.store).stalled == 0)

            // The command is installed; the user retries.
            _ = try Self.fakeScorecard(in: folder)
            guard case .restarted? = try await h.retry(id) else { Issue.record("retry refused"); return }
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            let ready = try #require(try await h.work(id))
            let report = try #require(try await h.store.read { try await $0.latestHealthReport(repository: id) })
            #expect(report.headCommit == ready.repository.headCommit && ready.backfilledHead == report.headCommit)
            #expect(try await h.storedCommits(id).count == 60)
        }
    }

    /// Issue 10, finding 3: a host removed from `repos.allowed_hosts` is no longer fetched from. The allowlist is
    /// checked before every fetch, not only when an entry is added: the next re-check of a ready repository on
    /// that host sends nothing to it and ends `failed` with the policy's reason.
    @Test(arguments: Engine.allCases)
    func aHostRemovedFromTheAllowlistIsNoLongerFetched(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("kept", commits: 30, span: h.now.addingTimeInterval(-60 * 86_400)...h.now.addingTimeInterval(-600))
            var allowed = h
            allowed.ingestion.egress = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["127.0.0.1:\(h.server.port)"]))
            let (id, _) = try await h.add("kept")
            #expect(try await allowed.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")

            // The operator removes the host; a re-check is asked for.
            var removed = h
            removed.ingestion.egress = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["github.com"]))
            h.server.resetStatistics()
            guard case .restarted? = try await h.recheck(id) else { Issue.record("re-check refused"); return }
            #expect(try await removed.runWorkers { try await h.work(id)?.repository.state.status == .failed }, "\(h.logs.text.suffix(3000))")
            let work = try #require(try await h.work(id))
            // 127.0.0.1 is a loopback address: refused as `private_address` (a public host would be `host_not_allowed`).
            #expect(work.failureReason == "private_address")
            #expect(work.repository.state.lastError?.contains("repos.allowed_hosts") == true, "\(work.repository.state.lastError ?? "")")
            #expect(try await h.store.read { try await $0.latestHealthReport(repository: id) } != nil, "the last report stays readable")
            #expect(h.server.statistics.requests == 0, "nothing was sent to the removed host: \(h.server.statistics.paths)")
        }
    }

    /// `localhost` allowlisted by name really resolves to loopback: refused before any request is sent, unless
    /// the operator lists it in `repos.internal_hosts`; git then connects to the addresses that were checked.
    @Test(arguments: Engine.allCases)
    func aNameResolvingToLoopbackIsRefusedUnlessInternal(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("named", commits: 20, span: h.now.addingTimeInterval(-30 * 86_400)...h.now.addingTimeInterval(-600))
            let (id, _) = try await h.add("named", host: "localhost")
            var byName = h
            byName.ingestion.egress = EgressPolicy(hosts: try HostPolicy(allowedHosts: ["localhost:\(h.server.port)"]))
            #expect(try await byName.runWorkers { try await h.work(id)?.repository.state.status == .failed }, "\(h.logs.text.suffix(3000))")
            let work = try #require(try await h.work(id))
            #expect(work.failureReason == "private_address")
            #expect(work.repository.state.lastError?.contains("repos.internal_hosts") == true, "\(work.repository.state.lastError ?? "")")
            #expect(h.server.statistics.requests == 0, "nothing was sent: \(h.server.statistics.paths)")

            var asInternal = h
            asInternal.ingestion.egress = EgressPolicy(hosts: try HostPolicy(allowedHosts: [], internalHosts: ["localhost:\(h.server.port)"]))
            guard case .restarted? = try await h.retry(id) else { Issue.record("retry refused"); return }
            #expect(try await asInternal.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            #expect(h.server.statistics.requests > 0)
        }
    }

    /// A host that throttles (HTTP 429) on every attempt fails the first run as `rate_limited`, a transient
    /// reason: the scheduler retries it an hour later by itself (`next_check_at` says when), and it becomes
    /// ready once the host lets it through. A permanent reason (`not_found`) plans no retry.
    @Test(arguments: Engine.allCases)
    func aTransientFailureIsRetriedByTheScheduler(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("busy", commits: 20, span: h.now.addingTimeInterval(-30 * 86_400)...h.now.addingTimeInterval(-600))
            h.server.rateLimit(next: 1000)
            let (id, _) = try await h.add("busy")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .failed }, "\(h.logs.text.suffix(3000))")
            let failed = try #require(try await h.work(id))
            #expect(failed.failureReason == "rate_limited")
            let retryAt = try #require(failed.repository.nextCheckAt, "a transient failure plans a retry")
            #expect(retryAt >= h.now.addingTimeInterval(3600) && retryAt <= h.now.addingTimeInterval(3600 * 1.11))

            // The host lets requests through again. A repository that does not exist fails for good: no retry.
            h.server.rateLimit(next: 0)
            let (missing, _) = try await h.add("missing")
            #expect(try await h.runWorkers { try await h.work(missing)?.repository.state.status == .failed })
            #expect(try await h.work(missing)?.failureReason == "not_found")
            #expect(try await h.work(missing)?.repository.nextCheckAt == nil, "a permanent failure plans none")

            // Not due yet, then due (what an hour passing does): the scheduler's pass retries it, and it becomes ready.
            #expect(try await h.store.read { try await $0.dueRepositories(now: h.now, limit: 10) }.isEmpty)
            _ = try await h.store.write("UPDATE repositories SET next_check_at = \(Date(timeIntervalSince1970: 1)) WHERE id = \(id)")
            #expect(try await h.store.read { try await $0.dueRepositories(now: h.now, limit: 10) } == [id])
            try await h.queue.enqueue(ScheduleRechecksJob())
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            #expect(try await h.work(id)?.repository.nextCheckAt.map { $0 > h.now } == true, "the next check is the regular one")
            #expect(try await h.work(missing)?.repository.state.status == .failed, "the permanent failure stays")
        }
    }

    /// GitHub answers a client whose rate limit is spent with 403 and `X-RateLimit-Remaining: 0`. Before issue 10
    /// that 403 failed the entry for good as `auth_required`; now the attempt is retried after the reset (capped by
    /// the queue's maximum delay, 50 ms in this harness) and the entry becomes ready. A 403 without rate-limit
    /// headers still fails it as `auth_required`, at once.
    @Test(arguments: Engine.allCases)
    func aSpentRateLimitIsRetriedNotARefusal(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("limited", commits: 5, span: h.now.addingTimeInterval(-30 * 86_400)...h.now.addingTimeInterval(-600))
            h.server.rateLimit(next: 1, answer: .forbiddenRateLimit)
            let (id, _) = try await h.add("limited")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            let setup = try await h.queue.list(state: .completed, kind: PipelineJobs.RepositorySetup.kind, limit: 10)
            #expect(setup.count == 1 && setup.first?.attempt == 2, "one attempt lost to the rate limit: \(setup.map(\.errors))")
            #expect(setup.first?.errors.first?.error.hasPrefix("rate_limited: the server's rate limit is spent (it asked to wait") == true,
                "\(setup.map(\.errors))")

            _ = try await h.serve("refused", commits: 5, span: h.now.addingTimeInterval(-30 * 86_400)...h.now.addingTimeInterval(-600))
            h.server.rateLimit(next: 1, answer: .forbidden)
            let (refused, _) = try await h.add("refused")
            #expect(try await h.runWorkers { try await h.work(refused)?.repository.state.status == .failed }, "\(h.logs.text.suffix(3000))")
            #expect(try await h.work(refused)?.failureReason == "auth_required")
            #expect(try await h.work(refused)?.attempts == 1, "a refusal is not retried")
        }
    }

    /// The whole clone cache folder removed (an operator's `rm -rf`, a disk clean-up) while Scorecard reads a clone:
    /// its output would describe a half-empty tree — a score, not an error. The run is thrown away as
    /// `clone_removed`, the attempt retried on a fresh clone, and the entry becomes ready with the real result.
    @Test(arguments: Engine.allCases)
    func theCacheFolderRemovedUnderScorecardIsRetriedNotScored(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("vanishing", commits: 5, span: h.now.addingTimeInterval(-30 * 86_400)...h.now.addingTimeInterval(-600))
            let (id, _) = try await h.add("vanishing")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("vanished").path), "the folder was removed")
            #expect(Self.scorecardRuns(in: folder) == 2, "the run on the removed clone was not kept")
            let analysis = try await h.queue.list(state: .completed, kind: PipelineJobs.HealthAnalysis.kind, limit: 10)
            #expect(analysis.count == 1 && analysis.first?.attempt == 2, "\(analysis.map(\.errors))")
            #expect(analysis.first?.errors.first?.error.hasPrefix("clone_removed: ") == true, "\(analysis.map(\.errors))")
            #expect(try await h.store.read { try await $0.latestHealthReport(repository: id) } != nil)
            #expect(Ingestion.isClone(h.ingestion.cache.directory(for: id)), "the clone was made again")
        }
    }

    static func scorecardRuns(in folder: URL) -> Int {
        ((try? String(contentsOf: folder.appendingPathComponent("runs"), encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Scheduled re-checks: an unchanged repository costs one `ls-remote` and no Scorecard run; after a
    /// push, only the new commits are fetched and stored, Scorecard runs for the new head, and a new report
    /// is written. The repository stays `ready` throughout.
    @Test(arguments: Engine.allCases)
    func scheduledRechecksRunScorecardOnlyWhenTheHeadMoved(engine: Engine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scorecard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try await IngestionHarness.with(engine, try Self.options(scratch: folder)) { h in
            _ = try await h.serve("watched", commits: 120, span: h.now.addingTimeInterval(-100 * 86_400)...h.now.addingTimeInterval(-7200))
            let (id, _) = try await h.add("watched")
            #expect(try await h.runWorkers { try await h.work(id)?.repository.state.status == .ready }, "\(h.logs.text.suffix(3000))")
            #expect(Self.scorecardRuns(in: folder) == 1)
            let queue = h.queue

            func recheckNow() async throws {
                // Due now: what time passing does; then the leader's periodic job.
                _ = try await h.store.write("UPDATE repositories SET next_check_at = \(Date(timeIntervalSince1970: 1)) WHERE id = \(id)")
                try await queue.enqueue(ScheduleRechecksJob())
            }
            func reports() async throws -> [HealthReportRecord] {
                try await h.store.read { try await $0.healthReports(repository: id, before: nil, limit: 100) }
            }

            // Unchanged: ready again, a second report, no Scorecard run, nothing fetched.
            h.server.resetStatistics()
            try await recheckNow()
            #expect(try await h.runWorkers { try await reports().count == 2 }, "\(h.logs.text.suffix(3000))")
            let unchanged = try #require(try await h.work(id)?.repository)
            #expect(unchanged.state.status == .ready && !unchanged.state.refreshing)
            #expect(Self.scorecardRuns(in: folder) == 1, "no Scorecard process for an unchanged head")
            #expect(h.logs.text.contains("head unchanged"))
            #expect(h.server.statistics.requests <= 2, "one ls-remote (protocol v2: the advertisement and ls-refs): \(h.server.statistics.paths)")

            // A push: the new commits, a Scorecard run for the new head, a third report on it.
            let newHead = try await RepositoryGenerator.appendCommits(to: h.source("watched"), count: 4, until: h.now.addingTimeInterval(-60))
            try await recheckNow()
            #expect(try await h.runWorkers { try await reports().count == 3 }, "\(h.logs.text.suffix(3000))")
            let moved = try #require(try await h.work(id))
            #expect(moved.repository.state.status == .ready && moved.repository.headCommit == newHead)
            #expect(try await h.storedCommits(id).count == 124)
            #expect(Self.scorecardRuns(in: folder) == 2)
            // (The harness's clock stands still, so the reports' times tie; in service each has its own.)
            #expect(try await reports().contains { $0.headCommit == newHead })
        }
    }
}
