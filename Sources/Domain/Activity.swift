import Foundation

/// A repository's commit activity, computed from the stored commits of its history window.
public struct Activity: Sendable, Equatable, Codable {
    /// One author's share of the window.
    public struct Author: Sendable, Equatable, Codable {
        public var name: String
        public var email: String
        public var commits: Int
    }

    /// Commits stored for the window (at most `git.max_commits`).
    public var commitsTotal: Int
    public var commits30d: Int
    public var commits90d: Int
    public var commits365d: Int
    /// Distinct authors of the last 90 days, by email after `.mailmap`, case-insensitive.
    public var activeAuthors90d: Int
    /// Whole days since the newest commit on the branch; nil when nothing is known yet.
    public var daysSinceLastCommit: Int?
    /// The fewest authors who together made at least half of the window's commits (0 without commits).
    public var busFactor: Int
    /// Commits per week for the last 52 weeks, oldest first; the last week ends now.
    public var weeklyCommits: [Int]
    /// The ten authors with the most commits in the window, most first (ties by email).
    public var topAuthors: [Author]
    public var windowStart: Date
    public var computedAt: Date

    /// The names of `GET /v1/repositories/{id}/activity`, kept in the health reports too.
    enum CodingKeys: String, CodingKey {
        case commitsTotal = "commits_total", commits30d = "commits_30d", commits90d = "commits_90d", commits365d = "commits_365d"
        case activeAuthors90d = "active_authors_90d", daysSinceLastCommit = "days_since_last_commit", busFactor = "bus_factor"
        case weeklyCommits = "weekly_commits", topAuthors = "top_authors", windowStart = "window_start", computedAt = "computed_at"
    }

    /// Every key is written, an unknown `days_since_last_commit` as `null` (the synthesized encoding would leave it out).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(commitsTotal, forKey: .commitsTotal)
        try container.encode(commits30d, forKey: .commits30d)
        try container.encode(commits90d, forKey: .commits90d)
        try container.encode(commits365d, forKey: .commits365d)
        try container.encode(activeAuthors90d, forKey: .activeAuthors90d)
        try container.encode(daysSinceLastCommit, forKey: .daysSinceLastCommit)
        try container.encode(busFactor, forKey: .busFactor)
        try container.encode(weeklyCommits, forKey: .weeklyCommits)
        try container.encode(topAuthors, forKey: .topAuthors)
        try container.encode(windowStart, forKey: .windowStart)
        try container.encode(computedAt, forKey: .computedAt)
    }

    /// The commit fields the metrics need.
    public struct Sample: Sendable, Equatable {
        public var authorName: String
        public var authorEmail: String
        public var committedAt: Date
        public init(authorName: String, authorEmail: String, committedAt: Date) {
            self.authorName = authorName
            self.authorEmail = authorEmail
            self.committedAt = committedAt
        }
    }

    /// Computes the metrics over `commits` (those of the window), as of `now`.
    /// - Parameter lastCommitAt: the newest commit's date on the branch, which may lie before the window.
    public static func compute(
        commits: [Sample], lastCommitAt: Date?, mailmap: Mailmap, windowStart: Date, now: Date
    ) -> Activity {
        let day: TimeInterval = 86_400
        let inWindow = commits.filter { $0.committedAt >= windowStart && $0.committedAt <= now }
        func count(days: Double) -> Int { inWindow.filter { now.timeIntervalSince($0.committedAt) < days * day }.count }

        // People, after .mailmap, keyed by lower-cased email.
        var byAuthor: [String: (name: String, email: String, commits: Int)] = [:]
        var recentAuthors = Set<String>()
        for commit in inWindow {
            let person = mailmap.resolve(name: commit.authorName, email: commit.authorEmail)
            let key = person.email.lowercased()
            byAuthor[key, default: (person.name, person.email, 0)].commits += 1
            if now.timeIntervalSince(commit.committedAt) < 90 * day { recentAuthors.insert(key) }
        }
        let ranked = byAuthor.values.sorted { ($0.commits, $1.email.lowercased()) > ($1.commits, $0.email.lowercased()) }

        var busFactor = 0
        var covered = 0
        for author in ranked where covered * 2 < inWindow.count {
            covered += author.commits
            busFactor += 1
        }

        var weekly = [Int](repeating: 0, count: 52)
        for commit in inWindow {
            let weeksAgo = Int(now.timeIntervalSince(commit.committedAt) / (7 * day))
            if (0..<52).contains(weeksAgo) { weekly[51 - weeksAgo] += 1 }
        }

        let newest = [lastCommitAt, inWindow.map(\.committedAt).max()].compactMap { $0 }.max()
        return Activity(
            commitsTotal: inWindow.count,
            commits30d: count(days: 30),
            commits90d: count(days: 90),
            commits365d: count(days: 365),
            activeAuthors90d: recentAuthors.count,
            daysSinceLastCommit: newest.map { max(0, Int(now.timeIntervalSince($0) / day)) },
            busFactor: busFactor,
            weeklyCommits: weekly,
            topAuthors: ranked.prefix(10).map { Author(name: $0.name, email: $0.email, commits: $0.commits) },
            windowStart: windowStart,
            computedAt: now)
    }
}
