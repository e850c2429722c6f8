import Foundation

/// Histories shaped like busy projects' — long-lived branches, merges made long after a branch started, branches
/// whose last commit is old when merged, idle stretches on the main line, the odd commit dated before its parent —
/// written with `git fast-import` into a bare repository. Deterministic from a seed.
///
/// These are the shapes where `git clone --shallow-since` and `git log --since` disagree: a merge inside the window
/// with one parent older than the window start is cut off whole by the shallow clone.
public enum MergeHistory {
    /// One commit to write: its branch, its parents (marks of earlier commits), its date.
    public struct Commit: Sendable {
        public var mark: Int
        public var branch: String
        /// Marks of the parents, first parent first; empty for a root.
        public var parents: [Int]
        public var date: Date
        public var message: String

        public init(mark: Int, branch: String, parents: [Int], date: Date, message: String) {
            self.mark = mark
            self.branch = branch
            self.parents = parents
            self.date = date
            self.message = message
        }
    }

    /// A random history of `events` steps over `span` (oldest → newest), ending on `main`.
    ///
    /// Each step either commits on the main line, starts a branch from it, commits on a branch, merges a branch into
    /// the main line (sometimes a branch idle for months), merges the main line into a branch, or lets time pass
    /// with nothing on the main line; about one branch commit in twenty gets a committer date before its parent's.
    public static func random(seed: UInt64, events: Int, span: ClosedRange<Date>) -> [Commit] {
        var random = SeededGenerator(seed: seed)
        var commits: [Commit] = []
        var tips: [String: Int] = [:]
        var lastDate: [Int: Date] = [:]
        var branchCount = 0
        // An event moves the clock by one step on average, and one in fourteen idles for 15 more: about two steps an
        // event, so the events fill a bit more than the span (the clock stops at its end).
        let step = (span.upperBound.timeIntervalSince(span.lowerBound)) / (1.6 * Double(max(events, 1)))
        var clock = span.lowerBound

        func add(_ branch: String, parents: [Int], message: String, date: Date? = nil) {
            let mark = commits.count + 1
            var when = date ?? clock
            // Now and then a commit on a branch claims a time before its first parent (a wrong clock, a rebase):
            // `git log --since` stops there.
            if date == nil, branch != "main", let first = parents.first, let parentDate = lastDate[first], random.next() % 20 == 0 {
                when = parentDate.addingTimeInterval(-Double(random.next() % 200) * 86_400 - 1)
            }
            commits.append(Commit(mark: mark, branch: branch, parents: parents, date: when, message: message))
            lastDate[mark] = when
            tips[branch] = mark
        }

        add("main", parents: [], message: "root")
        for index in 0..<events {
            clock = clock.addingTimeInterval(step * (0.5 + Double(random.next() % 100) / 100))
            if clock > span.upperBound { clock = span.upperBound }
            let branches = tips.keys.filter { $0 != "main" }.sorted()
            switch random.next() % 100 {
            case 0..<30:
                add("main", parents: [tips["main"]!], message: "main \(index)")
            case 30..<42:
                branchCount += 1
                let name = "topic\(branchCount)"
                add(name, parents: [tips["main"]!], message: "start \(name)")
            case 42..<72 where !branches.isEmpty:
                let name = branches[Int(random.next() % UInt64(branches.count))]
                add(name, parents: [tips[name]!], message: "\(name) \(index)")
            case 72..<88 where !branches.isEmpty:
                let name = branches[Int(random.next() % UInt64(branches.count))]
                add("main", parents: [tips["main"]!, tips[name]!], message: "merge \(name)")
                if random.next() % 2 == 0 { tips[name] = nil }
            case 88..<93 where !branches.isEmpty:
                let name = branches[Int(random.next() % UInt64(branches.count))]
                add(name, parents: [tips[name]!, tips["main"]!], message: "merge main into \(name)")
            case 93..<100:
                // The main line idles: time passes with no commit, so its next merge has an old first parent.
                clock = clock.addingTimeInterval(step * Double(3 + random.next() % 25))
                if clock > span.upperBound { clock = span.upperBound }
            default:
                add("main", parents: [tips["main"]!], message: "main \(index)")
            }
        }
        // Every branch still open is merged at the end of the span, so the main line reaches all of them.
        for name in tips.keys.filter({ $0 != "main" }).sorted() {
            add("main", parents: [tips["main"]!, tips[name]!], message: "final merge \(name)", date: span.upperBound)
        }
        return commits
    }

    /// Writes `commits` into the bare repository at `bare` (created if needed), every commit changing a file of its
    /// own branch, and points `main` at the last main-line commit; returns that commit's sha. A history can be written
    /// in parts (a prefix first, the rest later: the marks of earlier parts are kept in the repository).
    @discardableResult
    public static func write(_ commits: some Collection<Commit>, to bare: URL) async throws -> String {
        if !FileManager.default.fileExists(atPath: bare.appendingPathComponent("HEAD").path) {
            try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
            try await runGit(["init", "--quiet", "--bare", "--initial-branch=main"], in: bare)
        }
        var stream = Data()
        func add(_ text: String) { stream.append(Data(text.utf8)) }
        func data(_ text: String) {
            let bytes = Data(text.utf8)
            add("data \(bytes.count)\n")
            stream.append(bytes)
            add("\n")
        }
        for commit in commits {
            let seconds = Int64(commit.date.timeIntervalSince1970)
            // Every commit goes through one scratch ref; `from` and `merge` give its real parents.
            if commit.parents.isEmpty { add("reset refs/heads/fixture-build\n") }
            add("commit refs/heads/fixture-build\n")
            add("mark :\(commit.mark)\n")
            add("author Fixture Author <author@example.invalid> \(seconds) +0000\n")
            add("committer Fixture Committer <committer@example.invalid> \(seconds) +0000\n")
            data(commit.message)
            if let first = commit.parents.first {
                add("from :\(first)\n")
                for other in commit.parents.dropFirst() { add("merge :\(other)\n") }
            }
            add("M 100644 inline \(commit.branch).txt\n")
            data("\(commit.message) \(commit.mark)\n")
            add("\n")
        }
        if let mainHead = commits.reversed().first(where: { $0.branch == "main" }) { add("reset refs/heads/main\nfrom :\(mainHead.mark)\n\n") }
        add("done\n")
        let marks = bare.appendingPathComponent("fixture-marks")
        let streamFile = bare.appendingPathComponent("fast-import-\(UUID().uuidString).txt")
        try stream.write(to: streamFile)
        defer { try? FileManager.default.removeItem(at: streamFile) }
        var arguments = ["fast-import", "--quiet", "--done", "--export-marks=\(marks.path)"]
        if FileManager.default.fileExists(atPath: marks.path) { arguments.append("--import-marks=\(marks.path)") }
        try await runGit(arguments, in: bare, standardInput: streamFile)
        try await runGit(["update-ref", "-d", "refs/heads/fixture-build"], in: bare)
        return try await runGit(["rev-parse", "refs/heads/main"], in: bare).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The commits `git log --since=<since>` lists from `main` of `repository` (any repository, full or not).
    public static func logSince(_ since: Date, in repository: URL, revision: String = "main") async throws -> Set<String> {
        let output = try await runGit(
            ["log", "--format=%H", "--max-age=\(Int64(since.timeIntervalSince1970))", revision, "--"], in: repository)
        return Set(output.split(separator: "\n").map(String.init))
    }
}
