import Domain
import Foundation
import GitFixtures
import Pipeline
import Queue
import Store
import TestSupport
import Testing

/// A `repowatch worker` killed with SIGKILL in the middle of a backfill: another worker takes the job
/// over once its lease expires and finishes it — every commit of the window stored once, none missing,
/// and the commits stored before the kill are not read again.
@Suite("Backfill across a crash")
struct BackfillProcessTests {
    @Test(arguments: Engine.allCases)
    func aKilledBackfillResumesWithNoDuplicateAndNoGap(engine: Engine) async throws {
        try await HeavyTests.run { try await killAndResume(engine: engine) }
    }

    func killAndResume(engine: Engine) async throws {
        let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
        defer { try? FileManager.default.removeItem(at: scratch) }
        let served = scratch.appendingPathComponent("served")
        let now = Date()
        let commits = 8_000
        let generated = try await RepositoryGenerator.make(
            at: served.appendingPathComponent("fixtures/large"), commits: commits,
            span: now.addingTimeInterval(-300 * 86_400)...now.addingTimeInterval(-3600), seed: 9, bare: true)
        let server = try await GitHTTPServer.start(root: served)

        let dataDir = scratch.appendingPathComponent("data").path
        var flags = ["--data-dir", dataDir]
        let store: any Store
        switch engine {
        case .sqlite:
            store = try await SQLiteStore.open(path: dataDir + "/repowatch.sqlite", logger: TestDatabase.logger)
        case .postgres:
            let url = try await TestDatabase.createDatabase()
            flags += ["--database-url", url]
            store = PostgresStore(configuration: try PostgresURL.parse(url), logger: TestDatabase.logger)
        }
        let env = CLITests.environment([
            "REPOWATCH_GIT_PROTOCOLS": "http",
            // The allowlist is checked before every fetch, not only when an entry is added.
            "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(server.port)",
            "REPOWATCH_GIT_MAX_COMMITS": "50000",
            "REPOWATCH_WORKERS_CONCURRENCY": "repository-setup=1,commit-backfill=1,health-analysis=0,maintenance=1",
            "REPOWATCH_JOBS_LEASE": "3s",
            "REPOWATCH_JOBS_RESCUE_INTERVAL": "500ms",
            "REPOWATCH_JOBS_POLL_INTERVAL": "200ms",
            "REPOWATCH_LOG_LEVEL": "info",
        ])
        try await withRunningStore(store) { store in
            try await store.migrate(logger: TestDatabase.logger)
            let url = try RepositoryURL(parsing: "http://127.0.0.1:\(server.port)/fixtures/large")
            let lifecycle = Lifecycle(
                queue: JobQueue(store: store),
                schedule: CheckSchedule(interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400)))
            let id = try await store.transaction { tx in
                let user = try await tx.user(named: "alice", createIfMissing: true)!
                let added = try await tx.addToWatchlist(userID: user.id, url: url, alertsJSON: "{}", notes: nil, now: now)
                try await lifecycle.added(repository: added.entry.repository.id, in: tx)
                return added.entry.repository.id
            }
            func stored() async throws -> Int64 {
                try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM commits WHERE repository_id = \(id)")?.int("n") } ?? 0
            }

            // First worker: killed once the backfill has stored part of the window.
            let first = try await ChildProcess.start(CLITests.binary, ["worker"] + flags, environment: env)
            var before: Int64 = 0
            let deadline = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < deadline {
                before = try await stored()
                if before >= 1000 { break }
                if try await store.read({ try await $0.repository(id: id) })?.state.status == .failed { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            first.send(SIGKILL)
            _ = await first.waitForExit()
            #expect(first.wasSignalled)
            before = try await stored()
            #expect(before > 0 && before < Int64(commits), "killed mid-way: \(before) of \(commits) stored; \(first.stderr.suffix(1500))")
            let progress = try await store.read { try await $0.repository(id: id) }?.state
            #expect(progress?.stage == .backfilling && (progress?.progress ?? 0) > 0, "progress was reported: \(String(describing: progress))")

            // Second worker: takes the job over after the lease expires and finishes it.
            let second = try await ChildProcess.start(CLITests.binary, ["worker"] + flags, environment: env)
            var work: RepositoryWork?
            while ContinuousClock.now < deadline + .seconds(120) {
                work = try await store.read { try await $0.repositoryWork(id: id) }
                if work?.backfilledHead != nil || work?.repository.state.status == .failed { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            second.send(SIGTERM)
            #expect(await second.waitForExit() == 0, "\(second.stderr.suffix(1500))")
            #expect(work?.backfilledHead == generated.head, "\(second.stderr.suffix(3000))")

            let shas = try await store.read { try await $0.storedCommitShas(repository: id) }
            let expected = Set(try await git(["rev-list", "main"], in: served.appendingPathComponent("fixtures/large")).split(separator: "\n").map(String.init))
            #expect(try await stored() == Int64(commits), "no duplicate")
            #expect(shas == expected, "no gap: \(expected.subtracting(shas).count) missing")
            // The second run read only what the first had not stored.
            let resumed = second.stderr.split(separator: "\n").first { $0.contains("backfill done") } ?? ""
            #expect(resumed.contains("already_stored=\(before) "), "\(resumed)")
            #expect(resumed.contains("inserted=\(Int64(commits) - before) "), "\(resumed)")
            print("backfill across a crash (\(engine)): \(before) of \(commits) commits stored when the first worker was killed; \(resumed)")
        }
        await server.stop()
    }
}
