import Foundation

/// A repository's commit activity, computed from the stored commits of its history window.
///
/// The rules, each the same as git's own tools on the same clone (`ActivityCrossCheckTests` compares them):
/// - **Windows.** A commit's date is its committer date, as for `git log --since`. "The last N days" are the commits
///   committed at or after now − N days, the bound included, as `git rev-list --count --since=<now − N days>` counts
///   them; weeks are differences of such counts (week 0 the last 7 days, bound included).
/// - **People.** An author is the commit's author (not its committer) after the repository's `.mailmap`
///   (``Mailmap``, read as git reads it), identified by e-mail ignoring case: `git shortlog -sne` shows
///   `Alice <alice@x>` and `alice <Alice@X>` apart (it groups by name and e-mail as written), we count one person.
///   A person is shown with their most used spelling in the window (ties: the smaller e-mail, then name).
/// - **Bots.** An author whose name or e-mail local part ends in `[bot]` (ignoring case, after `.mailmap`) is an
///   automation account, as GitHub Apps sign (`dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>`):
///   their commits count in the commit totals and weeks, but bots are left out of the author metrics — active
///   authors, bus factor (of the humans' commits) and top authors — since "one author makes half the commits" says
///   nothing about a project when that author is Dependabot.
public struct Activity: Sendable, Equatable, Codable {
    /// One author's share of the window.
    public struct Author: Sendable, Equatable, Codable {
        public var name: String
        public var email: String
        public var commits: Int
    }

    /// Commits stored for the window (at most `git.max_commits`), bots' included.
    public var commitsTotal: Int
    public var commits30d: Int
    public var commits90d: Int
    public var commits365d: Int
    /// Distinct human authors of the last 90 days, by e-mail after `.mailmap`, case-insensitive (bots left out).
    public var activeAuthors90d: Int
    /// Whole days since the newest commit on the branch; nil when nothing is known yet.
    public var daysSinceLastCommit: Int?
    /// CHAOSS's bus factor: the fewest human authors who together made at least half of the humans' commits in the
    /// window (0 without them; bots left out).
    public var busFactor: Int
    /// Commits per week for the last 52 weeks, oldest first; the last week ends now. Bots' commits included.
    public var weeklyCommits: [Int]
    /// The ten human authors with the most commits in the window, most first (ties by e-mail, case-insensitive).
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

    /// True for an automation account's identity: its name or e-mail local part ends in `[bot]`, ignoring case (how
    /// GitHub Apps sign commits: `renovate[bot] <29139614+renovate[bot]@users.noreply.github.com>`). Applied to the
    /// identity after `.mailmap`.
    public static func isBot(name: String, email: String) -> Bool {
        let local = email.lastIndex(of: "@").map { email[..<$0] } ?? Substring(email)
        return name.lowercased().hasSuffix("[bot]") || local.lowercased().hasSuffix("[bot]")
    }

    /// Computes the metrics over `commits` (those of the window), as of `now`. The order of `commits` does not matter.
    /// - Parameter lastCommitAt: the newest commit's date on the branch, which may lie before the window.
    public static func compute(
        commits: [Sample], lastCommitAt: Date?, mailmap: Mailmap, windowStart: Date, now: Date
    ) -> Activity {
        let day: TimeInterval = 86_400
        let inWindow = commits.filter { $0.committedAt >= windowStart && $0.committedAt <= now }
        // At or after now − N days, as `git rev-list --since` counts.
        func count(days: Double) -> Int { inWindow.filter { $0.committedAt >= now.addingTimeInterval(-days * day) }.count }

        // People, after .mailmap, keyed by lower-cased email; bots left out.
        struct Spelling: Hashable {
            var name: String
            var email: String
        }
        var people: [String: (commits: Int, spellings: [Spelling: Int])] = [:]
        var recentAuthors = Set<String>()
        for commit in inWindow {
            let person = mailmap.resolve(name: commit.authorName, email: commit.authorEmail)
            if isBot(name: person.name, email: person.email) { continue }
            let key = person.email.lowercased()
            people[key, default: (0, [:])].commits += 1
            people[key, default: (0, [:])].spellings[Spelling(name: person.name, email: person.email), default: 0] += 1
            if commit.committedAt >= now.addingTimeInterval(-90 * day) { recentAuthors.insert(key) }
        }
        let ranked: [(key: String, author: Author)] = people.map { key, person in
            // The most used spelling; ties to the smaller e-mail, then name — whatever order the commits came in.
            let spelling = person.spellings.min { ($0.value, $1.key.email, $1.key.name) > ($1.value, $0.key.email, $0.key.name) }!.key
            return (key, Author(name: spelling.name, email: spelling.email, commits: person.commits))
        }.sorted { ($0.author.commits, $1.key) > ($1.author.commits, $0.key) }

        // CHAOSS: the smallest number of authors responsible for half of the (humans') commits.
        let humanCommits = ranked.reduce(0) { $0 + $1.author.commits }
        var busFactor = 0
        var covered = 0
        for (_, author) in ranked where covered * 2 < humanCommits {
            covered += author.commits
            busFactor += 1
        }

        // Week 0: the last 7 days, now − 7 days included; week k: the 7 days before week k − 1.
        var weekly = [Int](repeating: 0, count: 52)
        for commit in inWindow {
            let weeks = now.timeIntervalSince(commit.committedAt) / (7 * day)
            let weeksAgo = max(0, Int(weeks.rounded(.up)) - 1)
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
            topAuthors: ranked.prefix(10).map(\.author),
            windowStart: windowStart,
            computedAt: now)
    }
}
