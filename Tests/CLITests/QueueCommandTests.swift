import Foundation
import TestSupport
import Testing

/// `repowatch queue …` on a real data folder: what an operator does with a job that failed for good.
@Suite("Queue commands")
struct QueueCommandTests {
    @Test(arguments: Engine.allCases)
    func probeStatsListCancelRetryPrune(engine: Engine) async throws {
        var flags = ["--data-dir", CLITests.temporaryDirectory()]
        if engine == .postgres { flags += ["--database-url", try await TestDatabase.createDatabase()] }

        let probe = try await CLITests.run(["queue", "probe", "--count", "3", "--label", "cli"] + flags)
        #expect(probe.status == 0, "\(probe.stderr)")
        #expect(probe.stdout.contains("enqueued 3 probe jobs"))

        let stats = try await CLITests.run(["queue", "stats"] + flags)
        #expect(stats.status == 0)
        let maintenance = stats.stdout.split(separator: "\n").first { $0.hasPrefix("maintenance\t") }.map(String.init) ?? ""
        #expect(maintenance.split(separator: "\t").dropFirst().first == "3", "3 available: \(stats.stdout)")

        let listed = try await CLITests.run(["queue", "list", "--state", "available", "--kind", "probe"] + flags)
        let ids = listed.stdout.split(separator: "\n").compactMap { $0.split(separator: "\t").first.flatMap { Int64($0) } }
        #expect(ids.count == 3)
        let id = try #require(ids.first)

        let cancelled = try await CLITests.run(["queue", "cancel", "\(id)"] + flags)
        #expect(cancelled.status == 0 && cancelled.stdout.contains("cancelled"), "\(cancelled.stdout)\(cancelled.stderr)")
        let again = try await CLITests.run(["queue", "cancel", "\(id)"] + flags)
        #expect(again.status != 0 && again.stderr.contains("already cancelled"))
        let retried = try await CLITests.run(["queue", "retry", "\(id)"] + flags)
        #expect(retried.status == 0 && retried.stdout.contains("available"))
        let missing = try await CLITests.run(["queue", "retry", "987654"] + flags)
        #expect(missing.status != 0 && missing.stderr.contains("no job 987654"))

        _ = try await CLITests.run(["queue", "cancel", "\(id)"] + flags)
        let pruned = try await CLITests.run(["queue", "prune", "--max-age", "0s", "--keep", "0"] + flags)
        #expect(pruned.status == 0 && pruned.stdout.contains("deleted 1 jobs"), "\(pruned.stdout)\(pruned.stderr)")
        let bad = try await CLITests.run(["queue", "list", "--state", "sleeping"] + flags)
        #expect(bad.status != 0)
    }
}
