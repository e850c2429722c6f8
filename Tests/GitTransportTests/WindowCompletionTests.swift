import Foundation
import GitFixtures
import Logging
import Testing

@testable import GitTransport

/// The window a clone holds is what `git log --since` lists on the full repository, whatever the history's shape.
@Suite("The history window of a shallow clone")
struct WindowCompletionTests {
    private static let day: TimeInterval = 86_400

    private static func client() -> GitClient {
        GitClient(limits: GitLimits(timeout: .seconds(120), maxBytes: 512 << 20), allowedProtocols: ["http"], logger: Logger(label: "WindowCompletionTests"))
    }

    /// A whole second, a year before `now`: `--shallow-since` and `--max-age` both read whole seconds.
    private static func windowStart(_ now: Date) -> Date {
        Date(timeIntervalSince1970: (now.timeIntervalSince1970 - 365 * day).rounded(.down))
    }

    @Test("A merge inside the window with a parent older than it: the commits behind it are in the clone")
    func boundaryMerges() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let now = Date()
        func ago(_ days: Double) -> Date { now.addingTimeInterval(-days * Self.day) }
        typealias C = MergeHistory.Commit
        // main: o1 — o2 ─────────────── M — m2 — m3 ─── N — m4
        //                \            /                 /
        // topic:          f1 ──── f2                   /
        // stale:     o1 ── s1 (450 days ago, merged 20 days ago)
        // M (100 days ago) has the old o2 as first parent: `--shallow-since` cuts it off with f1 and f2 behind it.
        // N (20 days ago) has the old s1 as second parent: cut off too, and with it m3, m2, M and all before.
        let history = [
            C(mark: 1, branch: "main", parents: [], date: ago(500), message: "o1"),
            C(mark: 2, branch: "main", parents: [1], date: ago(400), message: "o2"),
            C(mark: 3, branch: "topic", parents: [2], date: ago(300), message: "f1"),
            C(mark: 4, branch: "topic", parents: [3], date: ago(200), message: "f2"),
            C(mark: 5, branch: "main", parents: [2, 4], date: ago(100), message: "M"),
            C(mark: 6, branch: "main", parents: [5], date: ago(50), message: "m2"),
            C(mark: 7, branch: "main", parents: [6], date: ago(40), message: "m3"),
            C(mark: 8, branch: "stale", parents: [1], date: ago(450), message: "s1"),
            C(mark: 9, branch: "main", parents: [7, 8], date: ago(20), message: "N"),
            C(mark: 10, branch: "main", parents: [9], date: ago(10), message: "m4"),
        ]
        let bare = sandbox.repos.appendingPathComponent("merges.git")
        try await MergeHistory.write(history, to: bare)
        let since = Self.windowStart(now)
        let expected = try await MergeHistory.logSince(since, in: bare)
        #expect(expected.count == 7, "m4, N, m3, m2, M, f2, f1")

        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        // What a plain shallow clone holds: the problem this repairs.
        let plain = sandbox.clonePath("plain")
        try await runGit(
            ["clone", "--quiet", "--single-branch", "--no-tags", "--shallow-since=\(GitClient.gitDate(since))",
             server.url(for: "merges.git"), plain.path],
            in: sandbox.work)
        let plainSet = try await MergeHistory.logSince(since, in: plain, revision: "HEAD")
        #expect(plainSet.count == 2, "a plain --shallow-since clone holds m4 and N only")

        let destination = sandbox.clonePath("merges")
        let result = try await Self.client().clone(GitRemote(url: server.url(for: "merges.git")), into: destination, since: since)
        let held = try await MergeHistory.logSince(since, in: destination, revision: "HEAD")
        #expect(held == expected)
        #expect(result.window.rounds >= 1)
        #expect(result.window.complete)
        #expect(result.window.bytesAdded > 0)
        // The clone is consistent: every object reachable from HEAD is there.
        _ = try await runGit(["fsck", "--connectivity-only", "--no-dangling"], in: destination)
        await server.stop()
    }

    @Test("Random histories with long-lived branches: the clone's window equals git log --since", arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func randomHistories(seed: UInt64) async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let now = Date()
        let history = MergeHistory.random(seed: seed, events: 160, span: now.addingTimeInterval(-3 * 365 * Self.day)...now)
        let bare = sandbox.repos.appendingPathComponent("random.git")
        try await MergeHistory.write(history, to: bare)
        let since = Self.windowStart(now)
        let expected = try await MergeHistory.logSince(since, in: bare)

        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let destination = sandbox.clonePath("random")
        let result = try await Self.client().clone(GitRemote(url: server.url(for: "random.git")), into: destination, since: since)
        let held = try await MergeHistory.logSince(since, in: destination, revision: "HEAD")
        #expect(held == expected, "seed \(seed): missing \(expected.subtracting(held).count), extra \(held.subtracting(expected).count)")
        #expect(result.window.complete)
        _ = try await runGit(["fsck", "--connectivity-only", "--no-dangling"], in: destination)
        print("seed \(seed): \(expected.count) commits in the window, \(result.window.rounds) rounds, \(result.window.bytesAdded) bytes added")
        await server.stop()
    }

    @Test("A re-check keeps the window whole: the fetch cuts the merges off again, and new ones arrive")
    func fetchKeepsTheWindow() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let now = Date()
        let history = MergeHistory.random(seed: 11, events: 240, span: now.addingTimeInterval(-3 * 365 * Self.day)...now)
        // The first setup sees the history up to 60 days ago; the re-check sees the rest.
        let split = history.firstIndex { $0.date > now.addingTimeInterval(-60 * Self.day) } ?? history.count
        let bare = sandbox.repos.appendingPathComponent("recheck.git")
        try await MergeHistory.write(history[..<split], to: bare)
        let since = Self.windowStart(now)
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let remote = GitRemote(url: server.url(for: "recheck.git"))
        let destination = sandbox.clonePath("recheck")
        let git = Self.client()

        let cloned = try await git.clone(remote, into: destination, since: since)
        let before = try await MergeHistory.logSince(since, in: bare)
        #expect(!before.isEmpty && !cloned.windowWasEmpty)
        #expect(try await MergeHistory.logSince(since, in: destination, revision: "HEAD") == before)
        #expect(cloned.window.rounds >= 1, "the first setup had merges to repair too")

        try await MergeHistory.write(history[split...], to: bare)
        let fetched = try await git.fetch(remote, in: destination, since: since)
        #expect(fetched.changed)
        let expected = try await MergeHistory.logSince(since, in: bare)
        let held = try await MergeHistory.logSince(since, in: destination, revision: "HEAD")
        #expect(held == expected, "missing \(expected.subtracting(held).count), extra \(held.subtracting(expected).count)")
        #expect(fetched.window.complete)
        _ = try await runGit(["fsck", "--connectivity-only", "--no-dangling"], in: destination)

        // A fetch with nothing new leaves the window as whole as it was.
        let again = try await git.fetch(remote, in: destination, since: since)
        #expect(!again.changed)
        #expect(try await MergeHistory.logSince(since, in: destination, revision: "HEAD") == expected)
        await server.stop()
    }
}
