import Foundation
import GitFixtures
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder with `repos/` (served) and `work/` (clones), removed by `cleanUp()`.
struct Sandbox {
    let root: URL
    var repos: URL { root.appendingPathComponent("repos") }
    var work: URL { root.appendingPathComponent("work") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gittransport-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("repos"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("work"), withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: root) }

    func clonePath(_ name: String) -> URL { work.appendingPathComponent(name) }
}

/// One commit for `FixtureRepo.append`: file changes (nil removes) with a date.
struct FixtureCommit {
    enum Entry {
        case file(String)
        case symlink(to: String)
        case gitlink(String)
        case delete
    }

    var date: Date
    var message: String
    var changes: [String: Entry]
}

/// Bare repositories built with `git fast-import` (one process for any number of commits).
enum FixtureRepo {
    static let day: TimeInterval = 86_400

    /// Creates `name.git` under `repos` with `branch` as HEAD and the given commits.
    @discardableResult
    static func create(_ name: String, in repos: URL, branch: String = "main", commits: [FixtureCommit]) async throws -> URL {
        let bare = repos.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        try await runGit(["init", "--quiet", "--bare", "--initial-branch=\(branch)"], in: bare)
        if !commits.isEmpty { try await append(commits, to: bare, branch: branch) }
        return bare
    }

    /// Adds commits on top of `branch` (or starts it).
    static func append(_ commits: [FixtureCommit], to bare: URL, branch: String) async throws {
        let existing = (try? await runGit(["rev-parse", "--verify", "--quiet", "refs/heads/\(branch)"], in: bare)) ?? ""
        var stream = Data()
        func add(_ text: String) { stream.append(Data(text.utf8)) }
        func addData(_ bytes: Data) {
            add("data \(bytes.count)\n")
            stream.append(bytes)
            add("\n")
        }
        for (index, commit) in commits.enumerated() {
            let seconds = Int64(commit.date.timeIntervalSince1970)
            add("commit refs/heads/\(branch)\n")
            add("author Fixture Author <author@example.invalid> \(seconds) +0000\n")
            add("committer Fixture Committer <committer@example.invalid> \(seconds) +0000\n")
            addData(Data(commit.message.utf8))
            if index == 0, !existing.isEmpty { add("from \(existing.trimmingCharacters(in: .whitespacesAndNewlines))\n") }
            for (path, entry) in commit.changes.sorted(by: { $0.key < $1.key }) {
                switch entry {
                case .file(let content):
                    add("M 100644 inline \(path)\n")
                    addData(Data(content.utf8))
                case .symlink(let target):
                    add("M 120000 inline \(path)\n")
                    addData(Data(target.utf8))
                case .gitlink(let sha):
                    add("M 160000 \(sha) \(path)\n")
                case .delete:
                    add("D \(path)\n")
                }
            }
            add("\n")
        }
        let streamFile = bare.appendingPathComponent("fast-import-\(UUID().uuidString).txt")
        try stream.write(to: streamFile)
        defer { try? FileManager.default.removeItem(at: streamFile) }
        try await runGit(["fast-import", "--quiet"], in: bare, standardInput: streamFile)
    }

    /// `count` commits evenly spread from `daysAgo` days ago to now; each adds ~2 KiB of poorly
    /// compressible text to one of 7 files, so transfers have a visible size.
    static func history(count: Int, daysAgo: Double, endingDaysAgo: Double = 0, now: Date = Date(), salt: String = "") -> [FixtureCommit] {
        var contents: [String: String] = [:]
        var generator = SeededGenerator(seed: UInt64(count) &* 31 &+ UInt64(salt.utf8.count))
        return (0..<count).map { index in
            let fraction = count == 1 ? 1 : Double(index) / Double(count - 1)
            let age = daysAgo - (daysAgo - endingDaysAgo) * fraction
            let path = "src/file\(index % 7).txt"
            var text = contents[path] ?? ""
            for _ in 0..<32 { text += String(generator.next(), radix: 36) + String(generator.next(), radix: 16) + "\n" }
            contents[path] = text
            return FixtureCommit(
                date: now.addingTimeInterval(-age * day),
                message: "commit \(salt)\(index)",
                changes: [path: .file(text)]
            )
        }
    }
}


/// Keeps every log line (message and metadata) written through `logger`, for checking what was logged.
final class LogRecorder: Sendable {
    let lines = Mutex<[String]>([])

    var logger: Logger {
        var logger = Logger(label: "GitTransportTests") { label in Handler(label: label, recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    var all: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let label: String
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            var line = "\(event.level) \(label): \(event.message)"
            if !merged.isEmpty {
                line += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            recorder.lines.withLock { $0.append(line) }
        }
    }
}

/// Processes, read from /proc.
enum Processes {
    /// Live (not zombie) processes whose process group is one of `groups`.
    static func alive(inGroups groups: Set<Int32>) -> [String] {
        var found: [String] = []
        for pid in allPIDs() {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            // After "comm)": state ppid pgrp …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let group = Int32(fields[2]) else { continue }
            if groups.contains(group), fields[0] != "Z" {
                found.append("\(pid) \(stat[...close]) \(fields[0])")
            }
        }
        return found
    }

    /// The command line of every process (arguments joined by spaces).
    static func commandLines() -> [Int32: String] {
        var lines: [Int32: String] = [:]
        for pid in allPIDs() {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { continue }
            lines[pid] = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        }
        return lines
    }

    static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// Waits up to `timeout` for the groups to be empty; returns what is still alive.
    static func waitUntilGone(_ groups: Set<Int32>, timeout: Duration = .seconds(3)) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        var left = alive(inGroups: groups)
        while !left.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            left = alive(inGroups: groups)
        }
        return left
    }
}

/// Collects process group ids reported by `GitClient.onProcessStart`.
final class GroupRecorder: Sendable {
    let groups = Mutex<Set<Int32>>([])
    func record(_ pid: Int32) { groups.withLock { _ = $0.insert(pid) } }
    var all: Set<Int32> { groups.withLock { $0 } }
}

func fileExists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

/// Runs git in a clone for checks (isolated from host config).
func gitOutput(_ args: [String], in dir: URL, input: URL? = nil) async throws -> String {
    try await runGit(args, in: dir, standardInput: input).trimmingCharacters(in: .whitespacesAndNewlines)
}
