import Foundation

/// One commit as stored.
public struct CommitRecord: Sendable, Equatable {
    /// The commit's object id: 40 lower-case hex digits.
    public var sha: String
    /// Parent shas as recorded in the commit object, even when a parent is absent from a shallow clone.
    public var parents: [String]
    /// The author's name exactly as recorded (no `.mailmap` applied).
    public var authorName: String
    /// The author's e-mail exactly as recorded (case kept, no `.mailmap` applied).
    public var authorEmail: String
    /// When the change was authored; the recorded timezone offset is discarded (a `Date` is absolute).
    public var authorDate: Date
    /// When the commit was made; the recorded timezone offset is discarded.
    public var committerDate: Date
    /// The first line of the message (after any leading blank lines), without its line break and trailing
    /// white space. For a conventional message this is what `git log --format=%s` prints.
    public var summary: String
    /// Files changed, lines added and deleted as `git log --numstat` counts them; `nil` when unknown
    /// (a shallow-boundary commit, whose parent is not in the clone).
    public var stats: CommitStats?

    /// Creates a record.
    public init(
        sha: String, parents: [String], authorName: String, authorEmail: String, authorDate: Date,
        committerDate: Date, summary: String, stats: CommitStats?
    ) {
        self.sha = sha
        self.parents = parents
        self.authorName = authorName
        self.authorEmail = authorEmail
        self.authorDate = authorDate
        self.committerDate = committerDate
        self.summary = summary
        self.stats = stats
    }
}

/// What a commit changed, counted like `git log --numstat` (git 2.39 defaults, rename detection on).
///
/// A pure rename is one file with 0/0, a rename with edits one file with its line counts, a binary file one file
/// with 0/0; a merge commit is 0 files, 0/0 (git prints no numstat for merges by default); a root commit is
/// diffed against the empty tree.
public struct CommitStats: Sendable, Equatable {
    /// Number of files the commit changed.
    public var filesChanged: Int
    /// Lines added over all text files.
    public var additions: Int
    /// Lines deleted over all text files.
    public var deletions: Int

    /// Creates stats.
    public init(filesChanged: Int, additions: Int, deletions: Int) {
        self.filesChanged = filesChanged
        self.additions = additions
        self.deletions = deletions
    }

    /// No change: what a merge or an empty commit records.
    public static let zero = CommitStats(filesChanged: 0, additions: 0, deletions: 0)
}

/// A commit found by the cheap walk (no diff yet).
public struct WalkedCommit: Sendable, Equatable, Hashable {
    /// The commit's object id: 40 lower-case hex digits.
    public var sha: String
    /// The committer date (timezone discarded), which the walk's `since` is compared with.
    public var committerDate: Date
    /// True when the commit is listed in the clone's `shallow` file: its parents are not in the clone.
    public var isShallowBoundary: Bool

    /// Creates a walked commit.
    public init(sha: String, committerDate: Date, isShallowBoundary: Bool) {
        self.sha = sha
        self.committerDate = committerDate
        self.isShallowBoundary = isShallowBoundary
    }
}

/// Reads the history of a local clone (bare or not, shallow or not).
///
/// Reading is split in two phases so that a caller can report progress and resume an interrupted backfill:
/// ``walk(repository:tip:since:limit:stop:)`` lists the commits cheaply, then
/// ``records(repository:for:)`` reads metadata and diff stats for batches of them, in time proportional to the
/// commits passed. Neither runs anything from the repository (no hooks, no textconv or external diff drivers).
public protocol HistoryReader: Sendable {
    /// Commits reachable from `tip` (nil = HEAD) whose committer date is >= `since`, newest first (git log's default
    /// order), at most `limit`, never crossing a shallow boundary (the boundary commit itself is included, flagged),
    /// and not descending into any commit in `stop` (those and their ancestors are excluded — used on re-check with
    /// the previously stored head). Cheap: no diffs.
    ///
    /// Like `git log --since`, the walk does not go past a commit older than `since`. Shas in `stop` that are not
    /// in the repository (history rewritten since) are ignored. A repository without commits gives `[]`.
    func walk(repository: String, tip: String?, since: Date, limit: Int, stop: Set<String>) async throws -> [WalkedCommit]
    /// Full records (metadata + stats) for the given commits, in the same order. Stats nil for shallow-boundary commits.
    func records(repository: String, for commits: [WalkedCommit]) async throws -> [CommitRecord]
}

/// A failure to read a repository's history.
public struct GitHistoryError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, broadly.
    public enum Kind: Sendable, Equatable {
        /// libgit2 returned an error code (`code`), the message is `git_error_last`'s.
        case libgit2(code: Int32)
        /// The `git` command failed (exit status) or could not be started (nil).
        case gitCommand(status: Int32?)
        /// The output of `git` was not in the expected shape.
        case unexpectedOutput
        /// An argument was rejected before reaching git (a malformed sha, a revision starting with `-`).
        case invalidArgument
        /// The revision given as `tip` does not name a commit in the repository.
        case unknownRevision
    }

    /// What went wrong, broadly.
    public var kind: Kind
    /// What was being done (`"git_diff_tree_to_tree"`, `"git log"`).
    public var operation: String
    /// The detail: libgit2's message, git's standard error, the offending value.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, operation: String, message: String) {
        self.kind = kind
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}

/// The readers this module offers.
public enum HistoryReaders {
    /// The reader to use in production.
    ///
    /// `GitLogHistoryReader` is preferred, measured (`Benchmarks/results/history-2026-11-23.md`: 10 000 commits over two
    /// years, full, bare and shallow clones, shared 2-core Debian 12, git 2.39.5, libgit2 1.5.1): its walk + records
    /// take 0.9–1.4× the time of a plain `git log --numstat` on the same clone, since it is one such `git log` per
    /// batch, while libgit2 1.5's diff + stats take 2.7–4.5× with one thread and were not reliably faster with two.
    /// `git` also applies a clone's shallow boundary itself. `LibGit2HistoryReader` is the fallback when no `git`
    /// executable is found.
    /// - Parameter gitExecutable: a path, or a name looked up on `PATH` (default `git`).
    public static func preferred(gitExecutable: String? = nil) -> any HistoryReader {
        if let found = GitCommand.findExecutable(gitExecutable ?? "git") { return GitLogHistoryReader(gitExecutable: found) }
        return LibGit2HistoryReader()
    }
}
