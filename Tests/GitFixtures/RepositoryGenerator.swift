import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A git repository made by ``RepositoryGenerator``.
public struct GeneratedRepository: Sendable {
    /// The repository's folder (the work tree, or the repository itself when bare).
    public var path: URL
    /// Commits on `main`, merges and side-branch commits included.
    public var commitCount: Int
    /// Two-parent merge commits among them.
    public var mergeCount: Int
    /// Commits that change no file.
    public var emptyCommitCount: Int
    /// The sha of `main`'s newest commit.
    public var head: String
    /// True for a bare repository.
    public var isBare: Bool
}

/// Makes real git repositories for tests and benchmarks, deterministically from a seed, with `git fast-import`
/// (10 000 commits take a few seconds).
///
/// The history has several authors (two sharing an e-mail in different case, one mapped by a `.mailmap` line, some
/// with non-ASCII names, various timezone offsets), text files added, edited and deleted, pure renames and renames
/// with edits, binary files, paths with spaces, unicode, tabs and quotes, side branches merged with two-parent
/// commits, and optionally empty commits. Committer dates increase strictly, one commit per instant, spread evenly
/// over the span and ending exactly at its upper bound.
public enum RepositoryGenerator {
    /// The branch every generated repository has checked out.
    public static let branch = "main"

    /// Creates a repository at `url` (which must not exist or be empty) with `commits` commits.
    public static func make(
        at url: URL, commits: Int, span: ClosedRange<Date>, seed: UInt64, merges: Bool = true,
        emptyCommits: Bool = true, bare: Bool = false
    ) async throws -> GeneratedRepository {
        precondition(commits > 0, "at least one commit")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        _ = try await git(["init", "-q", "-b", branch] + (bare ? ["--bare"] : []) + ["."], in: url)
        let (counts, stream) = await offCooperativePool {
            var history = HistoryWriter(seed: seed)
            let stream = history.stream(commits: commits, span: span, merges: merges, emptyCommits: emptyCommits)
            return ((commits: history.commitCount, merges: history.mergeCount, empty: history.emptyCount), stream)
        }
        _ = try await gitBytes(["fast-import", "--quiet", "--done"], in: url, input: stream)
        if !bare { _ = try await git(["reset", "-q", "--hard"], in: url) }
        let head = try await git(["rev-parse", "refs/heads/\(branch)"], in: url)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return GeneratedRepository(
            path: url, commitCount: counts.commits, mergeCount: counts.merges,
            emptyCommitCount: counts.empty, head: head, isBare: bare)
    }

    /// Appends `count` linear commits to `main` of the repository at `url` (adding and editing files under
    /// `appended/`), committer dates spread after the current head up to `until`; returns the new head sha.
    @discardableResult
    public static func appendCommits(
        to url: URL, count: Int, until: Date = Date(), seed: UInt64 = 1
    ) async throws -> String {
        precondition(count > 0, "at least one commit")
        let headTime = try await git(["log", "-1", "--format=%ct", "refs/heads/\(branch)"], in: url)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let headSeconds = Int64(headTime) else { throw FixtureError("no head date: \(headTime)") }
        let end = max(Int64(until.timeIntervalSince1970), headSeconds + Int64(count))
        let stream = await offCooperativePool {
            var history = HistoryWriter(seed: seed)
            return history.appendStream(count: count, after: headSeconds, until: end)
        }
        _ = try await gitBytes(["fast-import", "--quiet", "--done"], in: url, input: stream)
        let isBare = try await git(["rev-parse", "--is-bare-repository"], in: url)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "true"
        if !isBare { _ = try await git(["reset", "-q", "--hard"], in: url) }
        return try await git(["rev-parse", "refs/heads/\(branch)"], in: url)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Clones `source` into `destination` over `file://` with `--shallow-since` (a local path would ignore it).
    public static func shallowClone(of source: URL, into destination: URL, since: Date, bare: Bool = false) async throws {
        let parent = destination.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        _ = try await git(
            ["clone", "-q"] + (bare ? ["--bare"] : []) + [
                "--shallow-since=@\(Int64(since.timeIntervalSince1970))",
                fileURL(source), destination.path,
            ], in: parent)
    }

    /// Clones `source` into `destination` completely (`--no-local`, so objects are copied as over the network).
    public static func clone(of source: URL, into destination: URL, bare: Bool = false) async throws {
        let parent = destination.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        _ = try await git(
            ["clone", "-q", "--no-local"] + (bare ? ["--bare"] : []) + [fileURL(source), destination.path], in: parent)
    }

    /// `file://` URL of a local folder, as git wants it.
    public static func fileURL(_ folder: URL) -> String {
        "file://" + folder.standardizedFileURL.path
    }
}

/// Runs CPU-bound work (building a fast-import stream of thousands of commits) on a thread of its own:
/// on Swift's cooperative pool — as many threads as cores — it would stall every other test of the
/// process, servers included, for as long as it runs.
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}

/// A failure of a fixture helper.
public struct FixtureError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `git` with `args` in `dir` with a neutral configuration (no system or global config, C locale) and returns its
/// standard output; throws ``FixtureError`` with the standard error when it exits non-zero.
public func git(_ args: [String], in dir: URL, environment: [String: String] = [:]) async throws -> String {
    String(decoding: try await gitBytes(args, in: dir, environment: environment), as: UTF8.self)
}

/// Like ``git(_:in:environment:)`` with bytes on standard input and out.
public func gitBytes(
    _ args: [String], in dir: URL, environment: [String: String] = [:], input: [UInt8] = []
) async throws -> [UInt8] {
    let inherited = ProcessInfo.processInfo.environment
    var variables: [Environment.Key: String] = [
        "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
        "HOME": inherited["HOME"] ?? "/tmp",
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        "GIT_AUTHOR_NAME": "Fixture", "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "Fixture", "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
    ]
    for (key, value) in environment { variables[Environment.Key(stringLiteral: key)] = value }
    let result = try await Subprocess.run(
        .name("git"),
        arguments: Arguments(args),
        environment: .custom(variables),
        workingDirectory: FilePath(dir.path),
        input: .array(input),
        output: .bytes(limit: 1 << 31),
        error: .string(limit: 256 * 1024)
    )
    guard case .exited(0) = result.terminationStatus else {
        throw FixtureError("git \(args.joined(separator: " ")) in \(dir.path): \(result.terminationStatus): \(result.standardError)")
    }
    return result.standardOutput
}

/// SplitMix64: small, fast, deterministic (fixture content from a seed).
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes the `git fast-import` stream of a generated history.
struct HistoryWriter {
    struct Person {
        var name: String
        var email: String
        var zone: String
    }

    static let people: [Person] = [
        Person(name: "Alice Example", email: "alice@example.com", zone: "+0200"),
        Person(name: "alice", email: "Alice@Example.com", zone: "+0100"),  // same e-mail, other case
        Person(name: "Bob Builder", email: "bob@example.org", zone: "-0500"),
        Person(name: "Bob B.", email: "bob@users.noreply.example.org", zone: "-0800"),  // mapped by .mailmap
        Person(name: "Zoë Ünicode", email: "zoe@example.net", zone: "+0530"),
        Person(name: "陈伟", email: "chen@example.cn", zone: "+0800"),
        Person(name: "Dana O'Brien", email: "dana@example.ie", zone: "+0000"),
    ]
    static let directories = ["src", "src/core", "docs/user guide", "src/ünïcode", "lib/日本語", "tests", "weird"]
    static let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
                        "lambda", "mu", "café", "naïve", "smörgåsbord", "東京", "🙂"]

    var random: SeededGenerator
    var out: [UInt8] = []
    var files: [String: [String]] = [:]
    var paths: [String] = []  // the keys of `files`, for random choice
    var lineCounter = 0
    var pathCounter = 0
    var mark = 0
    var commitCount = 0
    var mergeCount = 0
    var emptyCount = 0

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    // MARK: stream pieces

    mutating func write(_ text: String) { out.append(contentsOf: text.utf8) }

    mutating func data(_ bytes: [UInt8]) {
        write("data \(bytes.count)\n")
        out.append(contentsOf: bytes)
        write("\n")
    }

    /// A fast-import path: always quoted, C-style escapes for quote, backslash, tab and newline.
    static func quoted(_ path: String) -> String {
        var result = "\""
        for scalar in path.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    mutating func header(branch: String, person: Person, time: Int64, message: String) -> Int {
        mark += 1
        commitCount += 1
        let authored = time - Int64.random(in: 0...172_800, using: &random)
        write("commit refs/heads/\(branch)\nmark :\(mark)\n")
        write("author \(person.name) <\(person.email)> \(authored) \(person.zone)\n")
        write("committer \(person.name) <\(person.email)> \(time) \(person.zone)\n")
        data(Array(message.utf8))
        return mark
    }

    mutating func modify(_ path: String, _ lines: [String]) {
        write("M 100644 inline \(Self.quoted(path))\n")
        data(Array(lines.map { $0 + "\n" }.joined().utf8))
    }

    // MARK: content

    mutating func word() -> String { Self.words.randomElement(using: &random) ?? "word" }

    mutating func newLine() -> String {
        lineCounter += 1
        return "line \(lineCounter): \(word()) \(word()) \(word())"
    }

    mutating func newPath(in directory: String? = nil) -> String {
        pathCounter += 1
        let folder = directory ?? Self.directories.randomElement(using: &random) ?? "src"
        let name: String
        switch Int.random(in: 0..<10, using: &random) {
        case 0: name = "notes \(pathCounter).md"
        case 1: name = "ça va \(pathCounter).txt"
        case 2: name = "tab\there \(pathCounter).txt"
        case 3: name = "quote\"d \(pathCounter).txt"
        case 4: name = "файл-\(pathCounter).txt"
        default: name = "file\(pathCounter).txt"
        }
        return "\(folder)/\(name)"
    }

    mutating func newContent(for path: String, lines: Int) -> [String] {
        ["id: \(path) #\(pathCounter)"] + (0..<lines).map { _ in newLine() }
    }

    mutating func add(_ path: String, _ lines: [String]) {
        if files[path] == nil { paths.append(path) }
        files[path] = lines
        modify(path, lines)
    }

    mutating func remove(_ path: String) {
        files[path] = nil
        if let index = paths.firstIndex(of: path) { paths.swapAt(index, paths.count - 1); paths.removeLast() }
        write("D \(Self.quoted(path))\n")
    }

    mutating func edit(_ path: String) {
        guard var lines = files[path] else { return }
        for _ in 0..<Int.random(in: 1...5, using: &random) { lines.append(newLine()) }
        if lines.count > 3, Bool.random(using: &random) {
            lines.remove(at: Int.random(in: 1..<lines.count, using: &random))
        }
        if lines.count > 3, Int.random(in: 0..<3, using: &random) == 0 {
            lines[Int.random(in: 1..<lines.count, using: &random)] = newLine()
        }
        if lines.count > 120 { lines.removeSubrange(1..<40) }  // keep files small
        files[path] = lines
        modify(path, lines)
    }

    mutating func binary(_ path: String) {
        var bytes = (0..<Int.random(in: 256...1024, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes[0] = 0  // a NUL: binary for git and libgit2
        write("M 100644 inline \(Self.quoted(path))\n")
        data(bytes)
    }

    /// One ordinary change on main.
    mutating func change() {
        let roll = Int.random(in: 0..<100, using: &random)
        let withEnoughLines = paths.filter { (files[$0]?.count ?? 0) >= 10 }
        switch roll {
        case 0..<40 where !paths.isEmpty:
            if let path = paths.randomElement(using: &random) { edit(path) }
        case 40..<58:
            let path = newPath()
            add(path, newContent(for: path, lines: Int.random(in: 3...25, using: &random)))
        case 58..<64 where paths.count > 12:
            if let path = paths.randomElement(using: &random) { remove(path) }
        case 64..<72 where !paths.isEmpty:  // pure rename
            if let path = paths.randomElement(using: &random), let lines = files[path] {
                let target = newPath()
                files[path] = nil
                if let index = paths.firstIndex(of: path) { paths.swapAt(index, paths.count - 1); paths.removeLast() }
                files[target] = lines
                paths.append(target)
                write("R \(Self.quoted(path)) \(Self.quoted(target))\n")
            }
        case 72..<80 where !withEnoughLines.isEmpty:  // rename with a small edit
            if let path = withEnoughLines.randomElement(using: &random), var lines = files[path] {
                remove(path)
                lines.append(newLine())
                lines[lines.count / 2] = newLine()
                add(newPath(), lines)
            }
        case 80..<86:
            binary(Bool.random(using: &random) ? "assets/logo.bin" : "assets/data blob.bin")
        default:
            for _ in 0..<Int.random(in: 2...4, using: &random) {
                if let path = paths.randomElement(using: &random) { edit(path) } else {
                    let path = newPath()
                    add(path, newContent(for: path, lines: 5))
                }
            }
        }
    }

    mutating func message(_ index: Int) -> String {
        let verbs = ["Fix", "Add", "Refactor", "Update", "Remove", "Tidy", "Document", "Réécrire"]
        let verb = verbs.randomElement(using: &random) ?? "Change"
        return "\(verb) \(word()) handling (#\(index))\n\nLonger explanation of change \(index).\nSecond line.\n"
    }

    // MARK: histories

    /// The whole history: `commits` commits on main (merges and side commits included).
    mutating func stream(commits: Int, span: ClosedRange<Date>, merges: Bool, emptyCommits: Bool) -> [UInt8] {
        let start = Int64(span.lowerBound.timeIntervalSince1970)
        let end = Int64(span.upperBound.timeIntervalSince1970)
        var times: [Int64] = []
        for index in 0..<commits {
            let fraction = commits == 1 ? 1.0 : Double(index) / Double(commits - 1)
            var time = start + Int64((Double(end - start) * fraction).rounded(.down))
            if let previous = times.last, time <= previous { time = previous + 1 }
            times.append(time)
        }
        var next = 0  // index into times
        var mainTip: Int?
        var side: (branch: String, tip: Int, files: [String: [String]], remaining: Int)?
        var sideCounter = 0

        while next < commits {
            let time = times[next]
            let person = Self.people.randomElement(using: &random) ?? Self.people[0]
            if var current = side, current.remaining > 0, Bool.random(using: &random) || next + 1 >= commits {
                // A commit on the side branch: add or edit a file of its own folder.
                let commitMark = header(branch: current.branch, person: person, time: time, message: message(next))
                write("from :\(current.tip)\n")
                if let path = current.files.keys.sorted().randomElement(using: &random), Bool.random(using: &random) {
                    var lines = current.files[path] ?? []
                    lines.append(newLine())
                    current.files[path] = lines
                    modify(path, lines)
                } else {
                    let path = newPath(in: "side/\(current.branch)")
                    let lines = newContent(for: path, lines: Int.random(in: 3...12, using: &random))
                    current.files[path] = lines
                    modify(path, lines)
                }
                current.tip = commitMark
                current.remaining -= 1
                side = current
                next += 1
                continue
            }
            if let current = side, current.remaining == 0 {
                // The merge: main's tree plus the side branch's files.
                let commitMark = header(
                    branch: "main", person: person, time: time,
                    message: "Merge branch '\(current.branch)'\n\nBrings in \(current.files.count) files.\n")
                if let mainTip { write("from :\(mainTip)\n") }
                write("merge :\(current.tip)\n")
                for path in current.files.keys.sorted() { add(path, current.files[path] ?? []) }
                mainTip = commitMark
                mergeCount += 1
                side = nil
                next += 1
                continue
            }
            // A commit on main.
            let isEmpty = emptyCommits && mainTip != nil && Int.random(in: 0..<33, using: &random) == 0
            let commitMark = header(
                branch: "main", person: person, time: time,
                message: isEmpty ? "Empty commit \(next) (CI trigger)\n" : message(next))
            if let mainTip { write("from :\(mainTip)\n") }
            if mainTip == nil {
                add(".mailmap", ["Bob Builder <bob@example.org> <bob@users.noreply.example.org>"])
                let readme = "docs/user guide/read me.md"
                add(readme, newContent(for: readme, lines: 12))
                for _ in 0..<8 {
                    let path = newPath()
                    add(path, newContent(for: path, lines: Int.random(in: 10...20, using: &random)))
                }
            } else if isEmpty {
                emptyCount += 1
            } else {
                change()
            }
            mainTip = commitMark
            next += 1
            // Start a side branch now and then, when there is room for its commits and the merge.
            if merges, side == nil, commits - next >= 8, Int.random(in: 0..<40, using: &random) == 0 {
                sideCounter += 1
                side = ("topic-\(sideCounter)", commitMark, [:], Int.random(in: 2...3, using: &random))
            }
        }
        write("done\n")
        return out
    }

    /// `count` linear commits on top of the existing `main`, under `appended/`.
    mutating func appendStream(count: Int, after head: Int64, until end: Int64) -> [UInt8] {
        let step = max(1, (end - head) / Int64(count))
        var time = head
        let seedTag = random.next() % 1_000_000
        for index in 0..<count {
            time = index == count - 1 ? max(end, time + 1) : time + step
            let person = Self.people.randomElement(using: &random) ?? Self.people[0]
            _ = header(branch: "main", person: person, time: time, message: "Append \(index) (\(seedTag))\n")
            if index == 0 { write("from refs/heads/main^0\n") }
            if index == 0 || Int.random(in: 0..<3, using: &random) == 0 {
                let path = "appended/\(seedTag)/new \(index).txt"
                add(path, newContent(for: path, lines: Int.random(in: 2...9, using: &random)))
            } else if let path = paths.randomElement(using: &random) {
                edit(path)
            }
        }
        write("done\n")
        return out
    }
}
