import Domain
import Foundation
import GitFixtures
import Ingestion
import Logging
import Pipeline
import Queue
import Store
import Synchronization
import TestSupport
import Testing

/// The `repository-setup` and `commit-backfill` stages end to end: real repositories served over
/// smart HTTP on loopback, cloned by `git`, read by GitHistory, stored on each engine.
@Suite("Git ingestion")
struct IngestionTests {
    static let day: TimeInterval = 86_400

    /// Two years of history: the backfill stores exactly the commits of the last year, with the stats
    /// `git log --numstat` gives — except at the shallow boundary, where they are unknown (nil), not a
    /// diff against the empty tree.
    @Test(arguments: Engine.allCases)
    func theBackfillHoldsExactlyTheLastYearWithGitsStats(engine: Engine) async throws {
        try await IngestionHarness.with(engine) { h in
            let generated = try await h.serve(
                "history", commits: 1500, span: h.now.addingTimeInterval(-730 * Self.day)...h.now.addingTimeInterval(-3600))
            let (id, _) = try await h.add("history")
            let work = try await h.runUntilSettled(id)
            #expect(work.repository.state.status == .processing)
            #expect(work.repository.state.stage == .analyzing, "backfill done; analysis is the next stage")
            #expect(work.repository.headCommit == generated.head)
            #expect(work.repository.defaultBranch == "main")
            #expect(!work.windowEmpty)

            let windowStart = h.now.addingTimeInterval(-365 * Self.day)
            let oracle = try await GitLogOracle.log(of: h.source("history"), since: windowStart, limit: 1000, scratch: h.scratch)
            let stored = try await h.storedCommits(id)
            #expect(oracle.count > 600 && oracle.count < 1000, "about half of the history is in the window (\(oracle.count))")
            #expect(Set(stored.map(\.sha)) == Set(oracle.map(\.sha)), "exactly the window's commits")
            #expect(stored.count == oracle.count, "no duplicate")

            // The boundary: commits whose parent the shallow clone does not have.
            let shallowFile = h.ingestion.cache.directory(for: id).appendingPathComponent(".git/shallow")
            let boundary = Set(try String(contentsOf: shallowFile, encoding: .utf8).split(separator: "\n").map(String.init))
            #expect(!boundary.isEmpty)
            let byOracle = Dictionary(uniqueKeysWithValues: oracle.map { ($0.sha, $0) })
            var compared = 0
            for commit in stored {
                if boundary.contains(commit.sha) {
                    #expect(commit.stats == nil, "\(commit.sha) is at the boundary: its stats are unknown")
                    continue
                }
                let expected = try #require(byOracle[commit.sha])
                #expect(
                    commit.stats == Commit.Stats(filesChanged: expected.files, additions: expected.additions, deletions: expected.deletions),
                    "\(commit.sha)")
                compared += 1
            }
            #expect(compared == stored.count - stored.filter { boundary.contains($0.sha) }.count)
            #expect(stored.contains { $0.parents.count == 2 }, "merges are in the window")

            // The next stage waits for its handler (the health-analysis work).
            let analysis = try await h.queue.list(kind: PipelineJobs.HealthAnalysis.kind, limit: 5)
            #expect(analysis.count == 1 && analysis.first?.state == .available)
        }
    }

    /// Long-lived branches merged inside the window, started before it: `git clone --shallow-since` cuts such a merge
    /// off with every commit behind it; what is stored is still exactly `git log --since` of the full repository — at
    /// the first setup and after a re-check that brings more of them.
    @Test(arguments: Engine.allCases)
    func mergesAtTheWindowStartKeepTheCommitsBehindThem(engine: Engine) async throws {
        try await IngestionHarness.with(engine) { h in
            let history = MergeHistory.random(
                seed: 11, events: 240, span: h.now.addingTimeInterval(-3 * 365 * Self.day)...h.now.addingTimeInterval(-3600))
            // The first setup sees the history up to 120 days ago; the re-check sees the rest.
            let split = history.firstIndex { $0.date > h.now.addingTimeInterval(-120 * Self.day) } ?? history.count
            try await MergeHistory.write(history[..<split], to: h.source("merges"))
            let windowStart = h.now.addingTimeInterval(-365 * Self.day)
            let (id, _) = try await h.add("merges")
            let work = try await h.runUntilSettled(id)
            let expected = try await MergeHistory.logSince(windowStart, in: h.source("merges"))
            #expect(expected.count > 20)
            #expect(Set(try await h.storedCommits(id).map(\.sha)) == expected)
            #expect(h.logs.text.contains("window.rounds"), "the clone had merges to repair: \(h.logs.text.suffix(2000))")

            let newHead = try await MergeHistory.write(history[split...], to: h.source("merges"))
            #expect(newHead != work.repository.headCommit)
            try await h.recheck(id)
            #expect(try await h.runWorkers { try await h.work(id)?.backfilledHead == newHead }, "\(h.logs.text.suffix(3000))")
            let after = try await MergeHistory.logSince(windowStart, in: h.source("merges"))
            let stored = try await h.storedCommits(id)
            #expect(Set(stored.map(\.sha)) == after)
            #expect(stored.count == after.count, "no duplicate")
        }
    }

    /// The cap keeps the newest commits, as `git log -n` does.
    @Test(arguments: Engine.allCases)
    func theCapKeepsTheNewestCommits(engine: Engine) async throws {
        var options = IngestionHarness.Options()
        options.maxCommits = 120
        options.batchSize = 50
        try await IngestionHarness.with(engine, options) { h in
            _ = try await h.serve("capped", commits: 400, span: h.now.addingTimeInterval(-200 * Self.day)...h.now.addingTimeInterval(-60))
            let (id, _) = try await h.add("capped")
            _ = try await h.runUntilSettled(id)
            let oracle = try await GitLogOracle.log(
                of: h.source("capped"), since: h.now.addingTimeInterval(-365 * Self.day), limit: 120, scratch: h.scratch)
            #expect(try await h.storedCommits(id).map(\.sha) == oracle.map(\.sha))
        }
    }

    /// A re-check after a push fetches and stores only the new commits.
    @Test(arguments: Engine.allCases)
    func aRecheckFetchesAndStoresOnlyWhatIsNew(engine: Engine) async throws {
        try await IngestionHarness.with(engine) { h in
            _ = try await h.serve("moving", commits: 600, span: h.now.addingTimeInterval(-300 * Self.day)...h.now.addingTimeInterval(-7200))
            let (id, _) = try await h.add("moving")
            let first = try await h.runUntilSettled(id)
            let before = try await h.storedCommits(id)
            let firstBytes = h.server.statistics.bytesSent

            let newHead = try await RepositoryGenerator.appendCommits(to: h.source("moving"), count: 5, until: h.now.addingTimeInterval(-60))
            h.server.resetStatistics()
            h.logs.clear()
            try await h.recheck(id)
            let settled = try await h.runWorkers { try await h.work(id)?.backfilledHead == newHead }
            #expect(settled, "\(h.logs.text.suffix(3000))")
            let second = try #require(try await h.work(id))
            #expect(second.repository.headCommit == newHead && second.backfilledHead == newHead)
            #expect(first.backfilledHead != newHead)
            let after = try await h.storedCommits(id)
            #expect(after.count == before.count + 5)
            #expect(Array(after.dropFirst(5)).map(\.sha) == before.map(\.sha), "the old history is untouched")
            let fetchBytes = h.server.statistics.bytesSent
            #expect(fetchBytes * 10 < firstBytes, "the fetch moved \(fetchBytes) bytes, the clone \(firstBytes)")
            #expect(h.logs.text.contains("fetched"), "the cached clone was fetched into, not cloned again")
            #expect(h.logs.text.contains("\"window\": 5"), "the backfill walked the new commits only: \(h.logs.text.suffix(2000))")
        }
    }

    /// A repository whose newest commit is older than the window: zero recent activity, not an error.
    @Test(arguments: Engine.allCases)
    func aRepositoryWithNoCommitInTheWindowHasZeroActivity(engine: Engine) async throws {
        try await IngestionHarness.with(engine) { h in
            _ = try await h.serve("dormant", commits: 30, span: h.now.addingTimeInterval(-900 * Self.day)...h.now.addingTimeInterval(-500 * Self.day))
            let (id, _) = try await h.add("dormant")
            let work = try await h.runUntilSettled(id)
            #expect(work.repository.state.status == .processing && work.repository.state.stage == .analyzing)
            #expect(work.windowEmpty)
            #expect(try await h.storedCommits(id).isEmpty)
            let days = work.headCommittedAt.map { Int(h.now.timeIntervalSince($0) / Self.day) }
            #expect(days == 500, "days since the last commit are still known")
        }
    }

    /// Clones that cannot succeed fail at once with a clear reason, without retries.
    @Test(arguments: Engine.allCases)
    func unclonableRepositoriesFailWithTheirReason(engine: Engine) async throws {
        var options = IngestionHarness.Options()
        options.maxCloneBytes = 8 << 20
        try await IngestionHarness.with(engine, options) { h in
            // Not found.
            let (missing, _) = try await h.add("missing")
            // Empty.
            let empty = h.source("empty")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            _ = try await git(["init", "-q", "--bare", "."], in: empty)
            let (emptyID, _) = try await h.add("empty")
            // Larger than the cap: 24 MiB that do not compress.
            let big = h.scratch.appendingPathComponent("big-work")
            try FileManager.default.createDirectory(at: big, withIntermediateDirectories: true)
            _ = try await git(["init", "-q", "-b", "main", "."], in: big)
            let blob = big.appendingPathComponent("blob.bin")
            let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
            #expect(FileManager.default.createFile(atPath: blob.path, contents: try random.read(upToCount: 24 << 20)))
            _ = try await git(["add", "blob.bin"], in: big)
            _ = try await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "big"], in: big)
            _ = try await git(["clone", "-q", "--bare", big.path, h.source("big").path], in: h.scratch)
            let (bigID, _) = try await h.add("big")

            let settled = try await h.runWorkers {
                for id in [missing, emptyID, bigID] where try await h.work(id)?.repository.state.status != .failed { return false }
                return true
            }
            #expect(settled, "\(h.logs.text.suffix(3000))")
            for (id, reason) in [(missing, "not_found"), (emptyID, "empty_repository"), (bigID, "too_large")] {
                let work = try #require(try await h.work(id))
                #expect(work.repository.state.status == .failed, "\(reason)")
                #expect(work.failureReason == reason)
                #expect(work.repository.state.lastError?.hasPrefix("cloning: \(reason): ") == true, "\(work.repository.state.lastError ?? "")")
                #expect(work.attempts == 1, "\(reason) is not retried")
            }
            let discarded = try await h.queue.list(state: .discarded, kind: PipelineJobs.RepositorySetup.kind, limit: 10)
            #expect(discarded.count == 3)
            #expect(discarded.allSatisfy { $0.attempt == 1 })
            // The partial clone of the large repository is gone.
            #expect(!FileManager.default.fileExists(atPath: h.ingestion.cache.directory(for: bigID).path))
        }
    }

    /// A private repository: its token reaches git (and the clone works) but never a log line or an error.
    @Test(arguments: Engine.allCases)
    func aTokenOpensAPrivateRepositoryAndIsNeverLogged(engine: Engine) async throws {
        let token = "glpat-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        var options = IngestionHarness.Options()
        options.serverToken = token
        try await IngestionHarness.with(engine, options) { h in
            _ = try await h.serve("secret", commits: 50, span: h.now.addingTimeInterval(-100 * Self.day)...h.now.addingTimeInterval(-60))
            let (withToken, _) = try await h.add("secret", user: "alice", token: token)
            let (withoutToken, _) = try await h.add("secret", user: "bob")
            let (wrongToken, _) = try await h.add("secret", user: "carol", token: "wrong-" + token.dropFirst(6))
            let settled = try await h.runWorkers {
                let a = try await h.work(withToken)
                let b = try await h.work(withoutToken)
                let c = try await h.work(wrongToken)
                return a?.backfilledHead != nil && b?.repository.state.status == .failed && c?.repository.state.status == .failed
            }
            #expect(settled, "\(h.logs.text.suffix(3000))")
            #expect(try await h.storedCommits(withToken).count == 50)
            #expect(try await h.work(withoutToken)?.failureReason == "auth_required")
            #expect(try await h.work(wrongToken)?.failureReason == "auth_required")
            let logs = h.logs.text
            #expect(!logs.isEmpty)
            #expect(!logs.contains(token) && !logs.contains(String(token.dropFirst(6))), "no log line holds the token")
            let base64 = Data("x-access-token:\(token)".utf8).base64EncodedString()
            #expect(!logs.contains(base64))
            let errors = try await h.store.read { try await $0.query("SELECT last_error, token_sealed, canonical_url FROM repositories") }
            for row in errors {
                for column in ["last_error", "token_sealed", "canonical_url"] {
                    #expect(try row.string(column)?.contains(String(token.dropFirst(6))) != true, "\(column)")
                }
            }
            let jobs = try await h.queue.list(limit: 50)
            #expect(!jobs.contains { $0.argsJSON.contains(token) || $0.errors.contains { $0.error.contains(String(token.dropFirst(6))) } })
        }
    }

    /// The whole cache folder removed while a stage holds a repository's clone: the lock lives beside the folder,
    /// so a second user of the same clone still waits for the first, and the folder is made again.
    @Test
    func aRemovedCacheFolderKeepsItsLocks() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = CloneCache(root: scratch.appendingPathComponent("clones"), budgetBytes: 1 << 30, logger: Logger(label: "test"))
        let id = UUID()
        let (entered, enteredContinuation) = AsyncStream<Void>.makeStream()
        let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
        let first = Task {
            try await cache.withClone(id) { directory in
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                enteredContinuation.yield()
                for await _ in release { break }
            }
        }
        for await _ in entered { break }
        try FileManager.default.removeItem(at: cache.root)
        let order = Mutex<[String]>([])
        let second = Task {
            try await cache.withClone(id) { _ in order.withLock { $0.append("second") } }
        }
        try await Task.sleep(for: .milliseconds(300))
        order.withLock { $0.append("first released") }
        releaseContinuation.yield()
        try await first.value
        try await second.value
        #expect(order.withLock { $0 } == ["first released", "second"], "the second user waited for the first")
        #expect(FileManager.default.fileExists(atPath: cache.root.path), "the folder was made again")
    }

    /// Clones beyond the cache's budget are evicted (least recently used first) and made again when a
    /// stage needs them; the last delete removes the repository, its commits and its clone.
    @Test(arguments: Engine.allCases)
    func theCloneCacheEvictsAndTheLastDeleteCleansUp(engine: Engine) async throws {
        var options = IngestionHarness.Options()
        options.cacheBudgetBytes = 1  // every clone but the one in use is over budget
        try await IngestionHarness.with(engine, options) { h in
            _ = try await h.serve("one", commits: 80, span: h.now.addingTimeInterval(-100 * Self.day)...h.now.addingTimeInterval(-60), seed: 1)
            _ = try await h.serve("two", commits: 90, span: h.now.addingTimeInterval(-100 * Self.day)...h.now.addingTimeInterval(-60), seed: 2)
            let (one, oneEntry) = try await h.add("one")
            #expect(try await h.runWorkers { try await h.work(one)?.backfilledHead != nil })
            #expect(FileManager.default.fileExists(atPath: h.ingestion.cache.directory(for: one).path))
            // A second repository's setup evicts the first one's clone, which nobody uses now.
            let (two, _) = try await h.add("two")
            #expect(try await h.runWorkers { try await h.work(two)?.backfilledHead != nil }, "\(h.logs.text.suffix(3000))")
            #expect(h.logs.text.contains("evicted a clone"))
            #expect(!FileManager.default.fileExists(atPath: h.ingestion.cache.directory(for: one).path))
            #expect(try await h.storedCommits(one).count == 80)
            #expect(try await h.storedCommits(two).count == 90)
            // A re-check of the first clones it again (a fetch needs a clone), and stores nothing twice.
            let newHead = try await RepositoryGenerator.appendCommits(to: h.source("one"), count: 3, until: h.now.addingTimeInterval(-30))
            try await h.recheck(one)
            #expect(try await h.runWorkers { try await h.work(one)?.backfilledHead == newHead }, "\(h.logs.text.suffix(3000))")
            #expect(try await h.storedCommits(one).count == 83)

            // alice deletes her only entry on `one`: the clean-up job removes it all.
            let caller = try await h.store.read { try await $0.first("SELECT user_id FROM watchlist_entries WHERE id = \(oneEntry)") }
            let userID = try #require(try caller?.uuid("user_id"))
            let queue = h.queue
            try await h.store.transaction { tx in
                let deleted = try await tx.deleteEntry(id: oneEntry, visibleTo: Caller(userID: userID, userName: "alice", keyID: UUID(), isAdmin: false))
                #expect(deleted?.stillWatched == false)
                let cleanup = PipelineJobs.RepositoryCleanup(repositoryID: one)
                try await queue.enqueue(cleanup, options: cleanup.options, in: tx)
            }
            let cleaned = try await h.runWorkers { try await h.work(one) == nil }
            #expect(cleaned)
            #expect(try await h.storedCommits(one).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: h.ingestion.cache.directory(for: one).path))
            #expect(try await h.work(two) != nil, "the other repository stays")
        }
    }
}
