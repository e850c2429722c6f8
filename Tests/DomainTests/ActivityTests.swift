import Domain
import Foundation
import Testing

@Suite("Activity metrics and .mailmap")
struct ActivityTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func sample(_ name: String, _ email: String, daysAgo: Double) -> Activity.Sample {
        Activity.Sample(authorName: name, authorEmail: email, committedAt: Self.now.addingTimeInterval(-daysAgo * 86_400))
    }

    @Test func mailmapFormsResolveAsGitDoes() {
        let map = Mailmap(parsing: """
            # comment
            Proper Ann <ann@example.com>
            <bob@example.com> <robert@old.example>
            Carol C <carol@example.com> <CAROL@work.example>   # trailing comment
            Dan D <dan@example.com> dan <dan@laptop>
            broken line without email
            """)
        #expect(map.resolve(name: "ann", email: "ANN@example.com") == ("Proper Ann", "ANN@example.com"))
        #expect(map.resolve(name: "Robert", email: "robert@old.example") == ("Robert", "bob@example.com"))
        #expect(map.resolve(name: "C", email: "carol@work.example") == ("Carol C", "carol@example.com"))
        #expect(map.resolve(name: "dan", email: "dan@laptop") == ("Dan D", "dan@example.com"))
        #expect(map.resolve(name: "someone else", email: "dan@laptop") == ("someone else", "dan@laptop"), "name-specific rule")
        #expect(map.resolve(name: "Eve", email: "eve@example.com") == ("Eve", "eve@example.com"))
    }

    /// Lines git reads differently from a naive parser; each expectation is what `git check-mailmap` (2.39) answers for
    /// the same file (`ActivityCrossCheckTests` asks git itself).
    @Test func mailmapReadsLinesAsGitDoes() {
        let map = Mailmap(parsing: """
            Jane Doe <jane@old.example>
            <jane@example.com> <jane@old.example>
            C# Dev <csharp@example.com>
            Proper <p@x.example> # was <c@x.example>
            Three <t@x.example> <t1@x.example> <t2@x.example>
            Empty <>
              # indented <ic@x.example>
            Unclosed <u@x.example> <v@x.example
            """ + "\nCrlf Name <crlf@x.example>\r\n<proper@x.example> <crlf2@x.example>\r\n")
        #expect(map.resolve(name: "j", email: "jane@old.example") == ("Jane Doe", "jane@example.com"), "simple lines for one email merge")
        #expect(map.resolve(name: "x", email: "csharp@example.com") == ("C# Dev", "csharp@example.com"), "# inside a line is text")
        #expect(map.resolve(name: "# was", email: "c@x.example") == ("Proper", "p@x.example"), "a name-specific line")
        #expect(map.resolve(name: "o", email: "c@x.example") == ("o", "c@x.example"))
        #expect(map.resolve(name: "a", email: "t1@x.example") == ("Three", "t@x.example"), "the first two emails count")
        #expect(map.resolve(name: "a", email: "t2@x.example") == ("a", "t2@x.example"))
        #expect(map.resolve(name: "a", email: "") == ("a", ""), "an empty first email makes no line")
        #expect(map.resolve(name: "a", email: "ic@x.example") == ("# indented", "ic@x.example"), "only a # at the start comments")
        #expect(map.resolve(name: "n", email: "u@x.example") == ("Unclosed", "u@x.example"))
        #expect(map.resolve(name: "n", email: "v@x.example") == ("n", "v@x.example"))
        #expect(map.resolve(name: "c", email: "CRLF@x.example") == ("Crlf Name", "CRLF@x.example"), "CRLF line ends")
        #expect(map.resolve(name: "c", email: "crlf2@x.example") == ("c", "proper@x.example"))
    }

    /// The activity of a set of commits does not depend on the order the store returns them in: a person with two
    /// spellings is shown with the one used most.
    @Test func theOrderOfTheCommitsDoesNotMatter() {
        var commits: [Activity.Sample] = []
        for day in [1.0, 5, 9] { commits.append(sample("Alice Example", "alice@example.com", daysAgo: day)) }
        commits.append(sample("alice", "Alice@Example.COM", daysAgo: 3))
        for day in [2.0, 4] { commits.append(sample("Bob", "bob@example.org", daysAgo: day)) }
        commits.append(sample("Bobby", "BOB@example.org", daysAgo: 6))
        for day in [7.0, 8] { commits.append(sample("Bob B.", "bob@example.org", daysAgo: day)) }  // ties with "Bob": the smaller name wins
        let window = Self.now.addingTimeInterval(-365 * 86_400)
        let forward = Activity.compute(commits: commits, lastCommitAt: nil, mailmap: .empty, windowStart: window, now: Self.now)
        for order in [Array(commits.reversed()), Array(commits[4...] + commits[..<4]), commits.sorted { $0.authorName > $1.authorName }] {
            #expect(Activity.compute(commits: order, lastCommitAt: nil, mailmap: .empty, windowStart: window, now: Self.now) == forward)
        }
        #expect(forward.topAuthors.map { "\($0.name) <\($0.email)> \($0.commits)" } == ["Bob <bob@example.org> 5", "Alice Example <alice@example.com> 4"])
    }

    /// "The last N days" include now − N days, as `git rev-list --since` does; so do the weeks, and the 365 days equal the
    /// window.
    @Test func windowBoundsAreIncludedAsGitSinceIncludesThem() {
        var commits: [Activity.Sample] = []
        for days in [7.0, 30, 90, 364, 365] { commits.append(sample("Ann", "ann@example.com", daysAgo: days)) }
        // One second before the window.
        commits.append(Activity.Sample(authorName: "Ann", authorEmail: "ann@example.com", committedAt: Self.now.addingTimeInterval(-365 * 86_400 - 1)))
        let activity = Activity.compute(
            commits: commits, lastCommitAt: nil, mailmap: .empty, windowStart: Self.now.addingTimeInterval(-365 * 86_400), now: Self.now)
        #expect(activity.commitsTotal == 5)
        #expect(activity.commits365d == 5, "the window's first second is one of the last 365 days")
        #expect(activity.commits90d == 3)
        #expect(activity.commits30d == 2)
        #expect(activity.weeklyCommits[51] == 1, "now − 7 days is in the last week")
        #expect(activity.weeklyCommits[0] == 1, "now − 364 days is in the 52nd week")
        #expect(activity.weeklyCommits.reduce(0, +) == 4)
    }

    /// Bots (`…[bot]`, as GitHub Apps sign) count as commits, not as authors.
    @Test func botsCountAsCommitsButNotAsAuthors() {
        #expect(Activity.isBot(name: "dependabot[bot]", email: "49699333+dependabot[bot]@users.noreply.github.com"))
        #expect(Activity.isBot(name: "Renovate Bot", email: "29139614+renovate[bot]@users.noreply.github.com"), "by the e-mail")
        #expect(Activity.isBot(name: "Release[BOT]", email: "release@example.com"), "by the name, any case")
        #expect(!Activity.isBot(name: "Abbot Costello", email: "bot@example.com"))
        #expect(!Activity.isBot(name: "Ann", email: "ann@[bot]"), "the domain is not the account")

        var commits: [Activity.Sample] = []
        for day in 0..<20 { commits.append(sample("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", daysAgo: Double(day) + 0.5)) }
        for day in 0..<5 { commits.append(sample("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com", daysAgo: Double(day) + 0.25)) }
        commits.append(sample("Renovate Bot", "29139614+renovate[bot]@users.noreply.github.com", daysAgo: 2))
        for day in [1.0, 2, 3] { commits.append(sample("Ann", "ann@example.com", daysAgo: day)) }
        for day in [4.0, 5, 200] { commits.append(sample("Bob", "bob@example.org", daysAgo: day)) }
        for day in [6.0, 7] { commits.append(sample("Abbot Costello", "abbot@example.com", daysAgo: day)) }
        // A .mailmap can make a bot's commits a person's (and so the rule reads the identity after it).
        commits.append(sample("ci[bot]", "ci[bot]@example.com", daysAgo: 8))
        let mailmap = Mailmap(parsing: "Release Team <release@example.com> <ci[bot]@example.com>")
        let activity = Activity.compute(
            commits: commits, lastCommitAt: nil, mailmap: mailmap, windowStart: Self.now.addingTimeInterval(-365 * 86_400), now: Self.now)
        #expect(activity.commitsTotal == 35, "bots' commits are commits")
        #expect(activity.weeklyCommits.reduce(0, +) == 35)
        #expect(activity.activeAuthors90d == 4, "Ann, Bob, Abbot and the release team")
        #expect(activity.busFactor == 2, "Ann and Bob make 6 of the humans' 9 commits (dependabot alone would make 20 of 35)")
        #expect(activity.topAuthors.map(\.email) == ["ann@example.com", "bob@example.org", "abbot@example.com", "release@example.com"])
    }

    @Test func metricsFromCommits() {
        var commits: [Activity.Sample] = []
        // ann: 6 commits (two addresses, joined by .mailmap), bob 3, carol 1 long ago.
        for day in [1.0, 2, 3, 10, 40, 100] { commits.append(sample("Ann", day < 5 ? "ann@example.com" : "ann@old.example", daysAgo: day)) }
        for day in [5.0, 6, 200] { commits.append(sample("Bob", "Bob@Example.com", daysAgo: day)) }
        commits.append(sample("Carol", "carol@example.com", daysAgo: 300))
        commits.append(sample("Old", "old@example.com", daysAgo: 400))  // before the window: ignored
        let mailmap = Mailmap(parsing: "Ann <ann@example.com> <ann@old.example>")
        let activity = Activity.compute(
            commits: commits, lastCommitAt: Self.now.addingTimeInterval(-1.5 * 86_400), mailmap: mailmap,
            windowStart: Self.now.addingTimeInterval(-365 * 86_400), now: Self.now)
        #expect(activity.commitsTotal == 10)
        #expect(activity.commits30d == 6)
        #expect(activity.commits90d == 7)
        #expect(activity.commits365d == 10)
        #expect(activity.activeAuthors90d == 2, "ann's two addresses count once")
        #expect(activity.daysSinceLastCommit == 1)
        #expect(activity.busFactor == 1, "ann alone made 6 of 10")
        #expect(activity.weeklyCommits.count == 52)
        #expect(activity.weeklyCommits.reduce(0, +) == 10)
        #expect(activity.weeklyCommits[51] == 5, "days 1, 2, 3, 5 and 6 fall in the last week")
        #expect(activity.topAuthors.map(\.email) == ["ann@example.com", "Bob@Example.com", "carol@example.com"])
        #expect(activity.topAuthors.map(\.commits) == [6, 3, 1])
    }

    @Test func noCommitsMeansZeroActivityNotAnError() {
        let activity = Activity.compute(
            commits: [], lastCommitAt: Self.now.addingTimeInterval(-500 * 86_400), mailmap: .empty,
            windowStart: Self.now.addingTimeInterval(-365 * 86_400), now: Self.now)
        #expect(activity.commitsTotal == 0 && activity.busFactor == 0 && activity.activeAuthors90d == 0)
        #expect(activity.daysSinceLastCommit == 500)
        let unknown = Activity.compute(commits: [], lastCommitAt: nil, mailmap: .empty, windowStart: Self.now, now: Self.now)
        let json = String(decoding: try! JSONEncoder().encode(unknown), as: UTF8.self)
        #expect(json.contains("\"days_since_last_commit\":null"), "an unknown value is null, not missing: \(json)")
        #expect(activity.weeklyCommits == Array(repeating: 0, count: 52))
    }

    @Test func busFactorCountsTheFewestAuthorsForHalf() {
        // 4 authors with 3 commits each: two of them make half.
        let commits = (0..<12).map { sample("A\($0 % 4)", "a\($0 % 4)@x", daysAgo: Double($0)) }
        let activity = Activity.compute(commits: commits, lastCommitAt: nil, mailmap: .empty, windowStart: .distantPast, now: Self.now)
        #expect(activity.busFactor == 2)
    }
}
