import Foundation

/// One commit of a repository's backfilled history, as stored.
public struct Commit: Sendable, Equatable {
    /// Files changed, lines added and deleted, as `git log --numstat` counts them (renames detected,
    /// binary files counted as changed with no lines, merges with no diff).
    public struct Stats: Sendable, Equatable {
        public var filesChanged: Int
        public var additions: Int
        public var deletions: Int

        public init(filesChanged: Int, additions: Int, deletions: Int) {
            self.filesChanged = filesChanged
            self.additions = additions
            self.deletions = deletions
        }
    }

    public var sha: String
    public var parents: [String]
    public var authorName: String
    public var authorEmail: String
    public var authoredAt: Date
    public var committedAt: Date
    /// The first line of the message.
    public var summary: String
    /// Nil when unknown: a commit at the shallow boundary, whose parent is not in the clone.
    public var stats: Stats?

    public init(
        sha: String, parents: [String], authorName: String, authorEmail: String, authoredAt: Date, committedAt: Date,
        summary: String, stats: Stats?
    ) {
        self.sha = sha
        self.parents = parents
        self.authorName = authorName
        self.authorEmail = authorEmail
        self.authoredAt = authoredAt
        self.committedAt = committedAt
        self.summary = summary
        self.stats = stats
    }
}
