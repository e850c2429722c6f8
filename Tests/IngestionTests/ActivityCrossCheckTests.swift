import Domain
import Foundation
import GitFixtures
import Ingestion
import Store
import TestSupport
import Testing

/// The activity metrics (issue 12) against git's own tools, run on the very clone RepoWatch made and backfilled:
/// commit counts against `git rev-list --count --since`, people against `git shortlog -sne --since` (which applies the
/// `.mailmap`), the bus factor against CHAOSS's definition computed here from shortlog's counts, `.mailmap` against
/// `git log`'s `%aN`/`%aE` and `git check-mailmap`.
///
/// The mapping rule between shortlog and RepoWatch, which this test applies to shortlog's lines:
/// - shortlog groups by name and e-mail as written after `.mailmap`; RepoWatch by e-mail after `.mailmap`, ignoring
///   case. So shortlog lines whose e-mails are equal ignoring case are one person (`Alice Example <alice@example.com>`
///   and `alice <Alice@Example.COM>`), with the sum of their commits, shown as the line with the most commits (ties:
///   the smaller e-mail, then name). Lines with one e-mail under two names are the case the generated history makes.
/// - Bots — a name or e-mail local part ending in `[bot]`, ignoring case, after `.mailmap` — count in the commit
///   totals and weeks (as shortlog counts them) and are left out of the author metrics: active authors, bus factor
///   (of the humans' commits), top authors.
@Suite("Activity cross-check against git shortlog, rev-list and CHAOSS")
struct ActivityCrossCheckTests {
    static let day: Int64 = 86_400

    /// RepoWatch's path (clone over smart HTTP, backfill into the store, the store's activity) against git's tools on
    /// the clone, for several generated histories.
    @Test(arguments: Engine.allCases, [1, 2, 3] as [UInt64])
    func activityAgreesWithGitOnTheSameClone(engine: Engine, seed: UInt64) async throws {
        try await IngestionHarness.with(engine) { h in
            // Git's dates and `--since=@<seconds>` are whole seconds: the activity is computed as of a whole second (at
            // or after the harness's instant, so the stored window holds all of it).
            let nowSeconds = Int64(h.now.timeIntervalSince1970.rounded(.up))
            let now = Date(timeIntervalSince1970: TimeInterval(nowSeconds))
            let history = try await ActivityHistory.make(at: h.source("activity"), seed: seed, now: nowSeconds)
            let (id, _) = try await h.add("activity")
            let work = try await h.runUntilSettled(id)
            #expect(work.backfilledHead == history.head)
            let activity = try await h.store.read { try await $0.activity(of: work, window: IngestionHarness.window, now: now) }

            let clone = h.ingestion.cache.directory(for: id)
            let oracle = GitActivityOracle(clone: clone, now: nowSeconds)
            // The clone is shallow; the same tools on a complete clone of the source say the same (this history has
            // no merge reaching behind the window), so the clone is a fair place to ask them.
            let full = h.scratch.appendingPathComponent("full-\(seed)")
            try await RepositoryGenerator.clone(of: h.source("activity"), into: full)
            let fullOracle = GitActivityOracle(clone: full, now: nowSeconds)
            for days: Int64 in [30, 90, 364, 365] {
                #expect(try await oracle.count(days: days) == fullOracle.count(days: days), "\(days) days")
                #expect(try await oracle.shortlog(days: days) == fullOracle.shortlog(days: days), "\(days) days")
            }

            // What RepoWatch read: the .mailmap at the head, and every commit of the window.
            #expect(work.mailmap == (try await git(["show", "HEAD:.mailmap"], in: clone)))
            let stored = try await h.storedCommits(id)
            #expect(stored.count == (try await oracle.count(days: 365)))

            // The history exercises what it should: bots make a large share, .mailmap changes identities, and some
            // person appears in shortlog under two spellings of one e-mail.
            let year = try await oracle.shortlog(days: 365)
            let bots = year.filter { Self.isBot($0.name, $0.email) }.reduce(0) { $0 + $1.commits }
            let all = year.reduce(0) { $0 + $1.commits }
            #expect(bots * 100 >= all * 25, "bots made \(bots) of \(all) commits")
            let raw = Set(try await oracle.rawAuthors(days: 365).map { "\($0.name) <\($0.email)>" })
            let mapped = Set(year.map { "\($0.name) <\($0.email)>" })
            #expect(raw.subtracting(mapped).count >= 6, ".mailmap changed identities: \(raw.subtracting(mapped).sorted())")
            #expect(Dictionary(grouping: year) { $0.email.lowercased() }.values.contains { $0.count > 1 })

            // .mailmap: ours resolves every commit's author as git log's %aN/%aE does.
            let mailmap = Mailmap(parsing: work.mailmap ?? "")
            for author in try await oracle.authors(days: 500) {
                let ours = mailmap.resolve(name: author.raw.name, email: author.raw.email)
                #expect(ours.name == author.mapped.name && ours.email == author.mapped.email, "\(author)")
            }

            // Commits per window: ours = rev-list = shortlog's total.
            for (days, ours) in [(30, activity.commits30d), (90, activity.commits90d), (365, activity.commits365d)] as [(Int64, Int)] {
                let count = try await oracle.count(days: days)
                #expect(ours == count, "\(days) days: ours \(ours), git rev-list \(count)")
                #expect(try await oracle.shortlog(days: days).reduce(0) { $0 + $1.commits } == count, "\(days) days")
            }
            #expect(activity.commitsTotal == (try await oracle.count(days: 365)))
            // The history has its boundary commits: exactly 7, 30, 90, 364 and 365 days old, and one a second older than
            // the window (asked of the complete clone: RepoWatch's shallow one need not hold that last one).
            for days: Int64 in [7, 30, 90, 364, 365] {
                #expect(try await fullOracle.count(days: days) - fullOracle.count(seconds: days * Self.day - 1) == 1, "\(days) days")
            }
            #expect(try await fullOracle.count(seconds: 365 * Self.day + 1) - fullOracle.count(days: 365) == 1)

            // Weeks: week k (k weeks ago) is what `--since` counts for k + 1 weeks but not for k.
            var weeks: [Int] = []
            var previous = 0
            for k in 1...52 {
                let count = try await oracle.count(days: 7 * Int64(k))
                weeks.insert(count - previous, at: 0)
                previous = count
            }
            #expect(activity.weeklyCommits == weeks)

            let headTime = try #require(Int64(try await git(["log", "-1", "--format=%ct", "HEAD"], in: clone).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(activity.daysSinceLastCommit == Int((nowSeconds - headTime) / Self.day))

            // People: ours against shortlog's lines, grouped by the rule above.
            let people = Self.people(year)
            let recent = Self.people(try await oracle.shortlog(days: 90))
            #expect(activity.activeAuthors90d == recent.count, "ours \(activity.activeAuthors90d), shortlog \(recent.count)")
            let chaoss = Self.chaossBusFactor(people.map(\.commits))
            #expect(activity.busFactor == chaoss, "ours \(activity.busFactor), CHAOSS on shortlog's counts \(chaoss)")
            // Names and e-mails byte for byte (non-ASCII ones included), not merely equal after Unicode normalisation.
            let ourTop = activity.topAuthors.map { Array("\($0.name) <\($0.email)> \($0.commits)".utf8) }
            let expectedTop = people.prefix(10).map { Array("\($0.name) <\($0.email)> \($0.commits)".utf8) }
            #expect(ourTop == expectedTop, "ours \(activity.topAuthors), shortlog \(people.prefix(10))")
            #expect(people.count > 10, "the top-10 cut is exercised")
            #expect(!activity.topAuthors.contains { Self.isBot($0.name, $0.email) })

            let withBots = Self.chaossBusFactor(Dictionary(grouping: year) { $0.email.lowercased() }.values.map { $0.reduce(0) { $0 + $1.commits } })
            let (git30, git90, git365) = (try await oracle.count(days: 30), try await oracle.count(days: 90), try await oracle.count(days: 365))
            print("""
                activity cross-check, seed \(seed), \(engine): commits 30/90/365 d ours \(activity.commits30d)/\(activity.commits90d)/\(activity.commits365d), \
                rev-list \(git30)/\(git90)/\(git365); \
                shortlog lines \(year.count) (\(bots) bot commits), people \(people.count); active authors 90 d ours \(activity.activeAuthors90d), \
                shortlog \(recent.count); bus factor ours \(activity.busFactor), CHAOSS \(chaoss) (\(withBots) if bots counted); \
                top: \(activity.topAuthors.map { "\($0.name) <\($0.email)> \($0.commits)" }.joined(separator: ", "))
                """)
        }
    }

    /// `.mailmap` lines of every form, and the ones a naive reader gets wrong: ours against `git check-mailmap`.
    @Test func mailmapResolvesAsGitCheckMailmap() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mailmap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try await git(["init", "-q", "."], in: folder)
        let text = ActivityHistory.mailmap + """
            C# Dev <csharp@example.com>
            Proper <p@x.example> # was <c@x.example>
            Three <t@x.example> <t1@x.example> <t2@x.example>
            Empty <>
              # indented <ic@x.example>
            Unclosed <u@x.example> <v@x.example
            <> <empty-proper@x.example>
            Spaced   <  spaced@x.example  >
            Last <last1@x.example> same <same@x.example>
            Later <last2@x.example> SAME <same@x.example>

            """ + "Crlf Name <crlf@x.example>\r\n<proper@x.example> <crlf2@x.example>\r\n"
        try Data(text.utf8).write(to: folder.appendingPathComponent(".mailmap"))
        let mailmap = Mailmap(parsing: text)
        var identities = (ActivityHistory.humans + ActivityHistory.bots).map { $0.identity }
        identities += [
            ("x", "csharp@example.com"), ("# was", "c@x.example"), ("o", "c@x.example"), ("a", "t1@x.example"), ("a", "t2@x.example"),
            ("a", "ic@x.example"), ("n", "u@x.example"), ("n", "v@x.example"), ("e", "empty-proper@x.example"), ("s", "  spaced@x.example  "),
            ("s", "spaced@x.example"), ("Same", "same@x.example"), ("other", "same@x.example"), ("c", "CRLF@x.example"),
            ("c", "crlf2@x.example"), ("ZOE UNICODE", "ZOE@LAPTOP.LOCAL"), ("jdoe", "JANE@old.example"), ("Bob", "bob@example.org"),
        ].map { ActivityHistory.Identity(name: $0.0, email: $0.1) }
        let answers = try await git(["check-mailmap"] + identities.map { "\($0.name) <\($0.email)>" }, in: folder)
            .split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(answers.count == identities.count)
        for (identity, answer) in zip(identities, answers) {
            let ours = mailmap.resolve(name: identity.name, email: identity.email)
            #expect("\(ours.name) <\(ours.email)>" == String(answer), "\(identity.name) <\(identity.email)>")
        }
    }

    // MARK: the test's side of the rule

    /// The bot rule, stated independently of RepoWatch's.
    static func isBot(_ name: String, _ email: String) -> Bool {
        let local = email.split(separator: "@", omittingEmptySubsequences: false).dropLast().joined(separator: "@")
        return name.lowercased().hasSuffix("[bot]") || (email.contains("@") ? local : email).lowercased().hasSuffix("[bot]")
    }

    struct Person: Equatable {
        var name: String
        var email: String
        var commits: Int
    }

    /// Shortlog's lines as people: bots dropped, lines with e-mails equal ignoring case joined, shown as their line with
    /// the most commits (ties: smaller e-mail, then name); most commits first, ties by e-mail ignoring case.
    static func people(_ lines: [GitActivityOracle.Line]) -> [Person] {
        let humans = lines.filter { !isBot($0.name, $0.email) }
        return Dictionary(grouping: humans) { $0.email.lowercased() }.map { key, lines in
            let shown = lines.sorted { ($0.commits, $1.email, $1.name) > ($1.commits, $0.email, $0.name) }[0]
            return (key, Person(name: shown.name, email: shown.email, commits: lines.reduce(0) { $0 + $1.commits }))
        }
        .sorted { ($0.1.commits, $1.0) > ($1.1.commits, $0.0) }
        .map(\.1)
    }

    /// CHAOSS's bus factor: the smallest number of people who together made at least 50 % of the commits.
    static func chaossBusFactor(_ commits: [Int]) -> Int {
        let total = commits.reduce(0, +)
        var covered = 0
        for (index, count) in commits.sorted(by: >).enumerated() {
            covered += count
            if covered * 2 >= total { return index + 1 }
        }
        return 0
    }
}

/// git's own tools on one clone, as of a whole second.
struct GitActivityOracle {
    let clone: URL
    let now: Int64

    struct Line: Equatable {
        var name: String
        var email: String
        var commits: Int
    }

    /// `git rev-list --count --since=<now − days> HEAD`.
    func count(days: Int64) async throws -> Int { try await count(seconds: days * 86_400) }

    func count(seconds: Int64) async throws -> Int {
        let text = try await git(["rev-list", "--count", "--since=@\(now - seconds)", "HEAD"], in: clone)
        return try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `git shortlog -sne --since=<now − days> HEAD` (which applies the `.mailmap`): `count\tName <email>` lines.
    func shortlog(days: Int64) async throws -> [Line] {
        let text = try await git(["shortlog", "-sne", "--since=@\(now - days * 86_400)", "HEAD"], in: clone)
        return try text.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            let open = try #require(parts.last?.lastIndex(of: "<"))
            let ident = try #require(parts.last)
            return Line(
                name: String(ident[..<open].dropLast(ident[..<open].hasSuffix(" ") ? 1 : 0)),
                email: String(ident[ident.index(after: open)...].dropLast()),
                commits: try #require(Int(parts[0].trimmingCharacters(in: .whitespaces))))
        }
    }

    /// Every commit's author as recorded and after `.mailmap` (`%an`/`%ae`, `%aN`/`%aE`).
    func authors(days: Int64) async throws -> [(raw: ActivityHistory.Identity, mapped: ActivityHistory.Identity)] {
        let text = try await git(["log", "--since=@\(now - days * 86_400)", "--format=%an%x00%ae%x00%aN%x00%aE", "HEAD"], in: clone)
        return try text.split(separator: "\n").map { line in
            let fields = line.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 4, "\(line)")
            return (ActivityHistory.Identity(name: fields[0], email: fields[1]), ActivityHistory.Identity(name: fields[2], email: fields[3]))
        }
    }

    /// The authors as recorded, no `.mailmap`.
    func rawAuthors(days: Int64) async throws -> [ActivityHistory.Identity] {
        try await authors(days: days).map(\.raw)
    }
}

/// A deterministic history (one per seed) for the activity cross-check, made with `git fast-import`: about 520 commits
/// over 500 days, the newest an hour old, including commits exactly 7, 30, 90, 364 and 365 days old and one a second
/// older than the year; committer dates increase; author dates a little older (sometimes a year older: rebased work);
/// half of the commits committed by `GitHub <noreply@github.com>` (people are authors, not committers); a few merges of
/// short branches inside the window. Authors: people under several spellings joined by a `.mailmap` with a line of
/// each form, one e-mail in two cases without a line, non-ASCII names, and bots making about 45 % of the commits.
enum ActivityHistory {
    struct Identity: Equatable, CustomStringConvertible {
        var name: String
        var email: String
        var description: String { "\(name) <\(email)>" }
    }

    /// The `.mailmap` at the head: every form of line, and the merging of two lines for one e-mail.
    static let mailmap = """
        # Activity cross-check: one line of each form of gitmailmap(5).
        陈伟 <chen@example.cn>
        <dana@example.ie> <dana@old-job.example>
        Bob Builder <bob@example.org> <bob@users.noreply.example.org>
        Zoë Ünicode <zoe@example.net> Zoe Unicode <zoe@laptop.local>
        <emile@example.fr> <Emile@Example.FR>   # e-mails match ignoring case
        github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com> <action@github.com>
        Jane Doe <jane@old.example>
        <jane@example.com> <jane@old.example>

        """

    /// Commit authors as recorded, with a weight (how often each writes).
    static let humans: [(identity: Identity, weight: Double)] = [
        (Identity(name: "Alice Example", email: "alice@example.com"), 30),
        (Identity(name: "alice", email: "Alice@Example.COM"), 8),  // the same e-mail in other case, no .mailmap line
        (Identity(name: "Bob Builder", email: "bob@example.org"), 14),
        (Identity(name: "Bob B.", email: "bob@users.noreply.example.org"), 8),  // name and e-mail for an e-mail
        (Identity(name: "Zoë Ünicode", email: "zoe@example.net"), 10),
        (Identity(name: "Zoe Unicode", email: "zoe@laptop.local"), 6),  // name and e-mail for a name and e-mail
        (Identity(name: "zoe-ci", email: "zoe@laptop.local"), 2),  // the same e-mail, a name no line names: unchanged
        (Identity(name: "chen", email: "chen@example.cn"), 7),  // a name for an e-mail
        (Identity(name: "陈伟", email: "chen@example.cn"), 3),
        (Identity(name: "Dana O'Brien", email: "dana@old-job.example"), 5),  // an e-mail for an e-mail
        (Identity(name: "Dana O'Brien", email: "dana@example.ie"), 4),
        (Identity(name: "Émile Durand", email: "EMILE@example.fr"), 3),  // matched by a line in other case
        (Identity(name: "jdoe", email: "jane@old.example"), 4),  // two lines for one e-mail, merged
        (Identity(name: "Jane Doe", email: "jane@example.com"), 2),
        (Identity(name: "Kenji Sato", email: "kenji@example.jp"), 2),
        (Identity(name: "Ola Nordmann", email: "ola@example.no"), 2),
        (Identity(name: "Priya Patel", email: "priya@example.in"), 2),
        (Identity(name: "Ünal Yılmaz", email: "unal@example.com.tr"), 1),
        (Identity(name: "Mária Kovács", email: "maria@example.hu"), 1),
        (Identity(name: "Abbot Costello", email: "abbot@example.com"), 1),  // "bot" in the name, a person
    ]

    static let bots: [(identity: Identity, weight: Double)] = [
        (Identity(name: "dependabot[bot]", email: "49699333+dependabot[bot]@users.noreply.github.com"), 55),
        (Identity(name: "github-actions[bot]", email: "41898282+github-actions[bot]@users.noreply.github.com"), 20),
        (Identity(name: "GitHub Action", email: "action@github.com"), 5),  // a bot only after .mailmap
        (Identity(name: "renovate[bot]", email: "29139614+renovate[bot]@users.noreply.github.com"), 15),
        (Identity(name: "Renovate Bot", email: "29139614+renovate[bot]@users.noreply.github.com"), 5),  // a bot by e-mail
    ]

    static let zones = ["+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0800", "+0900"]

    struct Made {
        var head: String
        var commits: Int
    }

    /// Creates the bare repository at `url` as of `now` (seconds since 1970).
    static func make(at url: URL, seed: UInt64, now: Int64) async throws -> Made {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        _ = try await git(["init", "-q", "--bare", "-b", "main", "."], in: url)
        let (bytes, commits) = await offCooperativePool { stream(seed: seed, now: now) }
        _ = try await gitBytes(["fast-import", "--quiet", "--done"], in: url, input: bytes)
        let head = try await git(["rev-parse", "refs/heads/main"], in: url).trimmingCharacters(in: .whitespacesAndNewlines)
        return Made(head: head, commits: commits)
    }

    enum Role { case main, side, merge }

    static func stream(seed: UInt64, now: Int64) -> ([UInt8], Int) {
        var random = SeededGenerator(seed: seed)
        let day: Int64 = 86_400
        // Each seed weighs the authors differently (and so has its own bus factor).
        let authors = (humans + bots).map { ($0.identity, $0.weight * Double.random(in: 0.4...1.6, using: &random)) }
        let totalWeight = authors.reduce(0) { $0 + $1.1 }
        func author() -> Identity {
            var roll = Double.random(in: 0..<totalWeight, using: &random)
            for (identity, weight) in authors {
                roll -= weight
                if roll < 0 { return identity }
            }
            return authors[0].0
        }

        let boundaries: [Int64] = [7, 30, 90, 364, 365].map { now - $0 * day } + [now - 365 * day - 1]
        var times = Set(boundaries)
        while times.count < 520 { times.insert(Int64.random(in: (now - 500 * day)...(now - 3600), using: &random)) }

        var out: [UInt8] = []
        func write(_ text: String) { out.append(contentsOf: text.utf8) }
        func message(_ text: String) {
            write("data \(text.utf8.count)\n")
            write(text)
            write("\n")
        }
        var mark = 0
        var mainTip: Int?
        var sideTip = 0
        var sideFiles: [String: String] = [:]
        var branches = 0
        var plan: [Role] = []
        var mailmapComplete = false
        for (index, time) in times.sorted().enumerated() {
            let role = plan.isEmpty ? Role.main : plan.removeFirst()
            let person = author()
            let zone = zones.randomElement(using: &random)!
            var authored = time - Int64.random(in: 0...(3 * day), using: &random)
            if Int.random(in: 0..<20, using: &random) == 0 { authored = time - Int64.random(in: (300 * day)...(500 * day), using: &random) }
            let committer = Bool.random(using: &random) ? Identity(name: "GitHub", email: "noreply@github.com") : person
            mark += 1
            write("commit refs/heads/\(role == .side ? "topic-\(branches)" : "main")\nmark :\(mark)\n")
            write("author \(person.name) <\(person.email)> \(authored) \(zone)\n")
            write("committer \(committer.name) <\(committer.email)> \(time) \(zone)\n")
            switch role {
            case .main:
                message(person.name.hasSuffix("[bot]") ? "Bump library-\(index % 17) to 1.\(index)\n" : "Change \(index)\n")
                if let mainTip { write("from :\(mainTip)\n") }
                if mainTip == nil {
                    // The first .mailmap lacks the last two lines: the head's is the one that counts, for git and for us.
                    let lines = mailmap.split(separator: "\n")
                    file(lines.dropLast(2).joined(separator: "\n") + "\n", path: ".mailmap", write: write)
                } else if !mailmapComplete, time > now - 200 * day {
                    file(mailmap, path: ".mailmap", write: write)
                    mailmapComplete = true
                }
                file("change \(index) by \(person.name)\n", path: "files/\(index % 40).txt", write: write)
                mainTip = mark
                // Now and then a short branch, inside the window: two commits on it, one on main, then the merge.
                if index + 4 < times.count, time > now - 360 * day, Int.random(in: 0..<25, using: &random) == 0 {
                    branches += 1
                    plan = [.side, .main, .side, .merge]
                    sideTip = mark
                    sideFiles = [:]
                }
            case .side:
                message("Topic \(branches) work \(index)\n")
                write("from :\(sideTip)\n")
                let path = "topics/\(branches)/\(index).txt"
                sideFiles[path] = "topic \(branches) change \(index)\n"
                file(sideFiles[path]!, path: path, write: write)
                sideTip = mark
            case .merge:
                message("Merge branch 'topic-\(branches)'\n")
                write("from :\(mainTip!)\nmerge :\(sideTip)\n")
                for (path, content) in sideFiles.sorted(by: { $0.key < $1.key }) { file(content, path: path, write: write) }
                mainTip = mark
            }
            write("\n")
        }
        write("done\n")
        return (out, mark)
    }

    /// `M` of a file with inline content.
    private static func file(_ content: String, path: String, write: (String) -> Void) {
        write("M 100644 inline \(path)\n")
        write("data \(content.utf8.count)\n")
        write(content)
        write("\n")
    }
}
