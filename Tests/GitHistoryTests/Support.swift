import Foundation
import GitFixtures
import GitHistory
import Testing

/// The two readers, for parameterised tests.
enum ReaderKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case libgit2
    case gitLog

    var reader: any HistoryReader {
        switch self {
        case .libgit2: LibGit2HistoryReader()
        case .gitLog: GitLogHistoryReader()
        }
    }

    var testDescription: String { rawValue }
}

/// A fresh temporary folder.
func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("repowatch-history-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Two years of history ending now (2400 commits with merges, renames, binaries and odd paths), its complete clone
/// and a shallow clone of the last year, made once per test process and only read by the tests.
struct TwoYears: Sendable {
    var source: URL
    var full: URL
    var shallow: URL
    var end: Date
    var windowStart: Date
    var generated: GeneratedRepository

    static let shared = Task { try await HeavyTests.run { try await TwoYears.make() } }

    static func make() async throws -> TwoYears {
        // One folder per test process, named by its pid; those of processes that have ended are removed here (the
        // fixture outlives every test, so no test can remove it).
        let temporary = FileManager.default.temporaryDirectory
        let prefix = "repowatch-history-two-years-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? [] where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
            }
        }
        let root = temporary.appendingPathComponent(prefix + "\(getpid())")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let end = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let start = end.addingTimeInterval(-2 * 365 * 86_400)
        let windowStart = end.addingTimeInterval(-365 * 86_400)
        let generated = try await RepositoryGenerator.make(
            at: root.appendingPathComponent("source"), commits: 2400, span: start...end, seed: 42)
        let full = root.appendingPathComponent("full")
        try await RepositoryGenerator.clone(of: generated.path, into: full)
        let shallow = root.appendingPathComponent("shallow")
        try await RepositoryGenerator.shallowClone(of: generated.path, into: shallow, since: windowStart)
        return TwoYears(
            source: generated.path, full: full, shallow: shallow, end: end, windowStart: windowStart,
            generated: generated)
    }
}

/// What `git log` says about a range, parsed simply and independently of the readers.
struct Oracle {
    struct Entry: Equatable {
        var sha: String
        var parents: [String]
        var authorName: String
        var authorEmail: String
        var authorTime: Int64
        var committerTime: Int64
        var subject: String
        var files = 0
        var additions = 0
        var deletions = 0
    }

    var entries: [Entry]

    /// `git log --since=@<since> -n <limit>` in `repository` (plain git; numstat lines without -z: one per file,
    /// renames as `a TAB d TAB old => new`, odd paths quoted on the same line).
    static func load(_ repository: URL, since: Date, limit: Int) async throws -> Oracle {
        let range = ["--since=@\(Int64(since.timeIntervalSince1970))", "-n", "\(limit)"]
        let meta = try await git(
            ["log"] + range + ["--format=%H%x00%P%x00%an%x00%ae%x00%at%x00%ct%x00%s"], in: repository)
        var entries: [Entry] = []
        for line in meta.split(separator: "\n") {
            let fields = line.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
            try #require(fields.count == 7, "\(line)")
            entries.append(Entry(
                sha: fields[0], parents: fields[1].split(separator: " ").map(String.init), authorName: fields[2],
                authorEmail: fields[3], authorTime: Int64(fields[4]) ?? -1, committerTime: Int64(fields[5]) ?? -1,
                subject: fields[6]))
        }
        let numstat = try await git(["log"] + range + ["--numstat", "--format=@@@%H"], in: repository)
        var index: [String: Int] = [:]
        for (position, entry) in entries.enumerated() { index[entry.sha] = position }
        var current: Int?
        for line in numstat.split(separator: "\n") {
            if line.hasPrefix("@@@") {
                current = index[String(line.dropFirst(3))]
                try #require(current != nil)
                continue
            }
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let position = current else { continue }
            entries[position].files += 1
            entries[position].additions += Int(parts[0]) ?? 0
            entries[position].deletions += Int(parts[1]) ?? 0
        }
        return Oracle(entries: entries)
    }
}

/// The shas of `.git/shallow` (empty when complete).
func shallowBoundary(of repository: URL) -> Set<String> {
    let file = repository.appendingPathComponent(".git/shallow")
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
    return Set(text.split(separator: "\n").map(String.init))
}

/// Checks walk + records against the oracle; `truth` gives each commit's recorded parents (a complete repository).
func expectMatchesOracle(
    reader: any HistoryReader, repository: URL, since: Date, limit: Int, truth: URL
) async throws -> [CommitRecord] {
    let oracle = try await Oracle.load(repository, since: since, limit: limit)
    let boundary = shallowBoundary(of: repository)
    let walked = try await reader.walk(repository: repository.path, tip: nil, since: since, limit: limit, stop: [])
    #expect(walked.map(\.sha) == oracle.entries.map(\.sha))
    #expect(walked.filter(\.isShallowBoundary).map(\.sha).sorted() == oracle.entries.map(\.sha).filter(boundary.contains).sorted())
    let records = try await reader.records(repository: repository.path, for: walked)
    #expect(records.map(\.sha) == walked.map(\.sha))
    // Parents as recorded in the objects: from the complete repository (a shallow clone's git log grafts them away).
    let parentLines = try await git(["log", "--format=%H %P", "--all"], in: truth)
    var parents: [String: [String]] = [:]
    for line in parentLines.split(separator: "\n") {
        let fields = line.split(separator: " ").map(String.init)
        if let sha = fields.first { parents[sha] = Array(fields.dropFirst()) }
    }
    var mismatches = 0
    for (record, entry) in zip(records, oracle.entries) where mismatches < 10 {
        let expectedStats: CommitStats? = boundary.contains(entry.sha)
            ? nil : CommitStats(filesChanged: entry.files, additions: entry.additions, deletions: entry.deletions)
        let expected = CommitRecord(
            sha: entry.sha, parents: parents[entry.sha] ?? ["missing from truth"], authorName: entry.authorName,
            authorEmail: entry.authorEmail, authorDate: Date(timeIntervalSince1970: TimeInterval(entry.authorTime)),
            committerDate: Date(timeIntervalSince1970: TimeInterval(entry.committerTime)), summary: entry.subject,
            stats: expectedStats)
        if record != expected { mismatches += 1 }
        #expect(record == expected)
    }
    return records
}
