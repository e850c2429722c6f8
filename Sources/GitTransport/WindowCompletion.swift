import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What completing a shallow clone's history window did (see ``GitClient`` `completeWindow`).
public struct WindowCompletion: Sendable, Equatable {
    /// Rounds of repair run: 0 when the shallow clone already held every commit of the window.
    public var rounds: Int
    /// Bytes the clone's `.git` folder grew by during the rounds (after the repack that ends them).
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
/// The repair, in rounds, each made of git operations of the same session (so under the same deadline and size cap as
/// the clone):
/// 1. find the *cut-off merges*: commits of the shallow file, inside the window, with two or more recorded parents of
///    which one is missing from the clone or is itself inside the window. None: done — the usual case, one `git log`
///    and no network.
/// 2. fetch their missing parents by object id, one commit deep (`git fetch --depth=1 <id>…`): a commit and the
///    objects its tree does not share with the clone;
/// 3. take the cut-off merges out of the shallow file — every parent is in the clone now, so the clone stays
///    connected — together with entries naming commits the clone does not have (written under `shallow.lock`, as
///    git does);
/// 4. the parents just fetched that lie inside the window get their in-window history:
///    `git fetch --shallow-since=T <id>…`. That fetch, like any `--shallow-since`, marks the merges it passes with an
///    old parent shallow (again, for merges already repaired: step 3 of the next round undoes it without a fetch).
///
/// Each round fetches commits the clone did not have, or none and ends; ``maxWindowRounds`` bounds the rounds anyway.
/// Only what is missing is asked for: never `--deepen`, which would deepen every boundary of the clone, old ones too.
/// After a repair, `git repack -a -d` folds the rounds' small packs into one.
extension GitClient {
    /// The most rounds of repair one clone or fetch runs (each round repairs every cut-off merge found).
    static let maxWindowRounds = 40

    func completeWindow(
        session: Session, directory: URL, head: String, since: Date, arguments: [String]
    ) async throws -> WindowCompletion {
        let cutoff = Int64(since.timeIntervalSince1970.rounded(.up))
        let gitDirectory = directory.appendingPathComponent(".git")
        let clock = ContinuousClock()
        let started = clock.now
        let sizeBefore = DiskUsage.allocatedBytes(under: gitDirectory.path)
        var rounds = 0
        // What the rounds fetched arrives as small thin packs, each completed on arrival with whole copies of the
        // objects its deltas are based on (on git.git: 116 MiB on disk for 11.6 MiB received). One `repack -a -d`
        // at the end puts the clone back into one pack, reusing the deltas it has (1.8 s there), so the size the cap
        // and the cache see is the history's, not the repair's.
        func finish(complete: Bool) async throws -> WindowCompletion {
            guard rounds > 0 else { return .untouched }
            try session.check(try await session.git(["repack", "-a", "-d", "-q"], repository: directory, watch: directory))
            return WindowCompletion(
                rounds: rounds, bytesAdded: max(0, DiskUsage.allocatedBytes(under: gitDirectory.path) - sizeBefore),
                duration: clock.now - started, complete: complete)
        }
        func refused() async throws -> WindowCompletion {
            session.logger.warning(
                "the server does not send commits asked for by id: the history window stays cut off behind boundary merges")
            return try await finish(complete: false)
        }
        // Each fetch here brings few objects: kept as a pack (git would write them loose, one file each), which the
        // repack at the end folds in.
        let fetch = ["-c", "fetch.unpackLimit=1"] + arguments
        while true {
            let shallow = Self.shallowEntries(gitDirectory: gitDirectory)
            guard !shallow.isEmpty else { return try await finish(complete: true) }
            let boundary = try await rawCommits(shallow, session: session, directory: directory)
            let merges = boundary.values.filter { $0.committedAt >= cutoff && $0.parents.count > 1 }
            let parents = try await rawCommits(Set(merges.flatMap(\.parents)), session: session, directory: directory)
            let cutOff = merges.filter { merge in
                merge.parents.contains { parents[$0].map { $0.committedAt >= cutoff } ?? true }
            }
            guard !cutOff.isEmpty else { return try await finish(complete: true) }
            guard rounds < Self.maxWindowRounds else {
                session.logger.warning("the history window is still cut off after the most rounds of repair", metadata: [
                    "git.cut_off_merges": "\(cutOff.count)", "git.rounds": "\(rounds)",
                ])
                return try await finish(complete: false)
            }
            rounds += 1
            // Entries for commits the clone does not have go first: git refuses to fetch into a clone whose shallow
            // file names a commit it would have to "unshallow" and cannot find.
            if boundary.count < shallow.count {
                try Self.writeShallow(Set(boundary.keys), gitDirectory: gitDirectory)
            }
            let missing = Set(cutOff.flatMap(\.parents)).filter { parents[$0] == nil }.sorted()
            var fetched: [String: RawCommit] = [:]
            if !missing.isEmpty {
                let output = try await session.git(
                    fetch + ["--depth=1", "--", session.url] + missing, repository: directory, watch: directory)
                if Self.isUnadvertisedObjectRefusal(output) { return try await refused() }
                try session.check(output)
                fetched = try await rawCommits(missing, session: session, directory: directory)
                guard fetched.count == missing.count else {
                    session.logger.warning("the server did not send every parent asked for", metadata: [
                        "git.missing": "\(missing.count - fetched.count)",
                    ])
                    return try await finish(complete: false)
                }
            }
            let repaired = Set(cutOff.map(\.sha))
            try Self.writeShallow(
                Set(Self.shallowEntries(gitDirectory: gitDirectory)).subtracting(repaired), gitDirectory: gitDirectory)
            let inWindow = fetched.values.filter { $0.committedAt >= cutoff }.map(\.sha).sorted()
            if !inWindow.isEmpty {
                let output = try await session.git(
                    fetch + ["--shallow-since=\(Self.gitDate(since))", "--", session.url] + inWindow,
                    repository: directory, watch: directory)
                if Self.isUnadvertisedObjectRefusal(output) { return try await refused() }
                try session.check(output)
            }
        }
    }

    /// Replaces the clone's shallow file with `entries` (removes it when there are none), the way git writes it: into
    /// `shallow.lock`, then renamed over. Only called while the clone is this operation's alone (the stage holds the
    /// repository's lock), so a `shallow.lock` left behind is stale and goes first.
    static func writeShallow(_ entries: Set<String>, gitDirectory: URL) throws {
        let path = gitDirectory.appendingPathComponent("shallow").path
        let lock = path + ".lock"
        unlink(lock)
        guard !entries.isEmpty else {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw GitFailure.failed("cannot remove the shallow file: \(String(cString: strerror(errno)))")
            }
            return
        }
        let descriptor = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw GitFailure.failed("cannot lock the shallow file: \(String(cString: strerror(errno)))") }
        let bytes = Array(entries.sorted().map { $0 + "\n" }.joined().utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let message = String(cString: strerror(errno))
                close(descriptor)
                unlink(lock)
                throw GitFailure.failed("cannot write the shallow file: \(message)")
            }
            written += count
        }
        guard fsync(descriptor) == 0, close(descriptor) == 0, rename(lock, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(lock)
            throw GitFailure.failed("cannot write the shallow file: \(message)")
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
