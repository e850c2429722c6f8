import Foundation
import Logging

/// What completing a shallow clone's history window did (see ``GitClient`` `completeWindow`).
public struct WindowCompletion: Sendable, Equatable {
    /// Rounds of deepening run: 0 when the shallow clone already held every commit of the window.
    public var rounds: Int
    /// Bytes the clone's `.git` folder grew by during the rounds.
    public var bytesAdded: Int64
    /// Wall-clock time the rounds took.
    public var duration: Duration
    /// False when something was left cut off: the rounds cap was reached, or the server refused to send a commit
    /// asked for by its id (a protocol v0 server without `uploadpack.allowAnySHA1InWant`). The clone is still
    /// consistent; the window then lacks the commits behind the remaining boundary merges.
    public var complete: Bool

    /// Creates a value.
    public init(rounds: Int, bytesAdded: Int64, duration: Duration, complete: Bool) {
        self.rounds = rounds
        self.bytesAdded = bytesAdded
        self.duration = duration
        self.complete = complete
    }

    /// Nothing to do: no commit of the window was cut off.
    public static let untouched = WindowCompletion(rounds: 0, bytesAdded: 0, duration: .zero, complete: true)

    /// For the operation's log line: nothing when there was nothing to do.
    var metadata: Logger.Metadata {
        guard self != .untouched else { return [:] }
        return [
            "window.rounds": "\(rounds)", "window.bytes_added": "\(bytesAdded)",
            "window.ms": "\(duration.milliseconds)", "window.complete": "\(complete)",
        ]
    }
}

/// Making a `--shallow-since` clone hold what `git log --since` lists on a full clone.
///
/// `git clone --shallow-since=T` (and `git fetch --shallow-since=T`) asks the server for the commits reachable from the
/// tip through commits no older than T, and marks as *shallow* (grafted to no parents) every such commit with a parent
/// older than T. For a merge that is wrong: a merge made inside the window whose one parent is older than T is cut
/// off whole, and the in-window commits reachable only through its other parent never arrive (git 2.39 even lists
/// their boundary in `.git/shallow` without sending it). `git log --since=T` on a full clone lists them: it stops at
/// old commits, not at merges.
///
/// The repair, in rounds, each a git operation of the same session (so under the same deadline and size cap as the
/// clone):
/// 1. find the *cut-off merges*: commits of the shallow file, inside the window, with two or more recorded parents of
///    which one is missing from the clone or is itself inside the window. None: done (the usual case, one
///    `git log` and no network).
/// 2. `git prune --expire=never` when the shallow file names commits the clone does not have (git refuses to deepen
///    such a clone; prune drops those entries and, with `never`, no object), then `git fetch --deepen=1` of the head:
///    every boundary commit gets its parents and the cut-off merges stop being shallow;
/// 3. the new boundary commits that lie inside the window (parents reached by depth, not by date) get their own
///    in-window history: `git fetch --shallow-since=T` of them by object id. That fetch, like any `--shallow-since`,
///    marks the merges it passes with an old parent shallow again, and brings merges of its own: back to 1.
///
/// Each round brings commits the clone did not have, so the rounds end; ``maxWindowRounds`` bounds them anyway.
extension GitClient {
    /// The most rounds of deepening one clone or fetch runs (each round repairs every boundary merge found).
    static let maxWindowRounds = 12

    func completeWindow(
        session: Session, directory: URL, head: String, since: Date, arguments: [String]
    ) async throws -> WindowCompletion {
        let cutoff = Int64(since.timeIntervalSince1970.rounded(.up))
        let gitDirectory = directory.appendingPathComponent(".git")
        let clock = ContinuousClock()
        let started = clock.now
        let sizeBefore = DiskUsage.allocatedBytes(under: gitDirectory.path)
        var rounds = 0
        func result(complete: Bool) -> WindowCompletion {
            rounds == 0
                ? .untouched
                : WindowCompletion(
                    rounds: rounds, bytesAdded: max(0, DiskUsage.allocatedBytes(under: gitDirectory.path) - sizeBefore),
                    duration: clock.now - started, complete: complete)
        }
        func refused() -> WindowCompletion {
            session.logger.warning(
                "the server does not send commits asked for by id: the history window stays cut off behind boundary merges")
            return result(complete: false)
        }
        // Boundary commits inside the window that a deepening reached by depth: their in-window history is still to come.
        var reachedByDepth: [String] = []
        while true {
            if !reachedByDepth.isEmpty {
                // This fetch marks the merges it passes shallow again when a parent is old (as every --shallow-since
                // does); their parents are in the clone by now, and the deepening below undoes it.
                let fetched = try await session.git(
                    arguments + ["--shallow-since=\(Self.gitDate(since))", "--", session.url] + reachedByDepth,
                    repository: directory, watch: directory)
                if Self.isUnadvertisedObjectRefusal(fetched) { return refused() }
                try session.check(fetched)
                reachedByDepth = []
            }
            let shallow = Self.shallowEntries(gitDirectory: gitDirectory)
            guard !shallow.isEmpty else { return result(complete: true) }
            let boundary = try await rawCommits(shallow, session: session, directory: directory)
            let parents = Set(boundary.values.filter { $0.committedAt >= cutoff }.flatMap(\.parents))
            let present = try await rawCommits(parents, session: session, directory: directory)
            let cutOff = boundary.values.filter { commit in
                commit.committedAt >= cutoff && commit.parents.count > 1
                    && commit.parents.contains { present[$0].map { $0.committedAt >= cutoff } ?? true }
            }
            guard !cutOff.isEmpty else { return result(complete: true) }
            guard rounds < Self.maxWindowRounds else {
                session.logger.warning("the history window is still cut off after the most rounds of deepening", metadata: [
                    "git.cut_off_merges": "\(cutOff.count)", "git.rounds": "\(rounds)",
                ])
                return result(complete: false)
            }
            rounds += 1
            if boundary.count < shallow.count {
                try session.check(try await session.git(["prune", "--expire=never"], repository: directory))
            }
            let before = Set(Self.shallowEntries(gitDirectory: gitDirectory))
            let deepened = try await session.git(arguments + ["--deepen=1", "--", session.url, head], repository: directory, watch: directory)
            if Self.isUnadvertisedObjectRefusal(deepened) { return refused() }
            try session.check(deepened)
            let added = Set(Self.shallowEntries(gitDirectory: gitDirectory)).subtracting(before)
            reachedByDepth = try await rawCommits(added, session: session, directory: directory)
                .values.filter { $0.committedAt >= cutoff }.map(\.sha).sorted()
        }
    }

    /// A commit as recorded in its object: the parents written in it (not the shallow graft), the committer time.
    struct RawCommit: Sendable, Equatable {
        var sha: String
        var parents: [String]
        var committedAt: Int64
    }

    /// The commits among `shas` that the clone has, read from their objects (`git log --no-walk --pretty=raw`,
    /// which prints the recorded `parent` lines even of a shallow commit). Missing ones are left out.
    func rawCommits(_ shas: some Collection<String>, session: Session, directory: URL) async throws -> [String: RawCommit] {
        let names = shas.filter(Self.isObjectName).sorted()
        var commits: [String: RawCommit] = [:]
        // In slices, so that a clone with thousands of boundary commits stays within the argument limits.
        for start in stride(from: 0, to: names.count, by: 1_000) {
            let slice = Array(names[start..<min(start + 1_000, names.count)])
            let output = try await session.git(
                ["log", "--no-walk=unsorted", "--ignore-missing", "--no-color", "--no-show-signature", "--pretty=raw"] + slice
                    + ["--"],
                repository: directory)
            try session.check(output)
            for commit in Self.parseRaw(output.stdout) { commits[commit.sha] = commit }
        }
        return commits
    }

    /// Parses `git log --pretty=raw`: each commit starts with `commit <sha>` at the start of a line; header lines
    /// follow (`parent <sha>`, `committer <ident> <seconds> <zone>`); message lines are indented by four spaces.
    static func parseRaw(_ text: String) -> [RawCommit] {
        var commits: [RawCommit] = []
        var current: RawCommit?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("commit ") {
                if let current { commits.append(current) }
                let sha = String(line.dropFirst("commit ".count).prefix { $0 != " " })
                current = isObjectName(sha) ? RawCommit(sha: sha, parents: [], committedAt: 0) : nil
            } else if line.hasPrefix("parent ") {
                let parent = String(line.dropFirst("parent ".count))
                if isObjectName(parent) { current?.parents.append(parent) }
            } else if line.hasPrefix("committer ") {
                // `committer Name <email> 1700000000 +0000`: the time is the next-to-last field.
                let fields = line.split(separator: " ")
                if fields.count >= 3, let seconds = Int64(fields[fields.count - 2]) { current?.committedAt = seconds }
            }
        }
        if let current { commits.append(current) }
        return commits
    }

    /// The object ids listed in a clone's `shallow` file (empty when it has none).
    static func shallowEntries(gitDirectory: URL) -> [String] {
        guard let text = try? String(contentsOf: gitDirectory.appendingPathComponent("shallow"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter(isObjectName)
    }

    /// The server would not send an object asked for by id (protocol v0 without `allowAnySHA1InWant`).
    static func isUnadvertisedObjectRefusal(_ output: GitProcessOutput) -> Bool {
        guard !output.succeeded, output.verdict == .completed else { return false }
        return output.stderrTail.contains("not our ref") || output.stderrTail.contains("unadvertised object")
    }
}
