// window-check: does a clone hold the window `git log --since` lists on the full repository, and what does the repair
// of cut-off merges cost? For each repository (bare, full history) served over smart HTTP on loopback (git-http-backend
// behind the test fixtures' server), it compares
//   - the full repository: `git log --since=<window start> --format=%H HEAD` (the tool of record);
//   - a plain `git clone --single-branch --no-tags --shallow-since=<window start>` (what git alone gives);
//   - RepoWatch's `GitClient.clone` (shallow clone + window repair);
// counting commits in the window, bytes on disk, bytes sent by the server and wall-clock time.
//
//   swift build -c release --product window-check
//   .build/release/window-check [--days 365] [--runs 3] [--generated] [--keep DIR] [BARE_REPO …]
//
// `--generated` adds the MergeHistory fixtures (seeded histories with long-lived branches); with no repository and no
// flag it runs those alone.
import Foundation
import GitFixtures
import GitTransport
import Logging

struct Options {
    var days = 365.0
    var runs = 3
    var generated = false
    /// Keep RepoWatch's clones of the last run here (one folder per repository), for inspection.
    var keep: String?
    var repositories: [String] = []

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--days": days = iterator.next().flatMap(Double.init) ?? days
            case "--runs": runs = iterator.next().flatMap(Int.init) ?? runs
            case "--generated": generated = true
            case "--keep": keep = iterator.next()
            default:
                guard !argument.hasPrefix("-") else {
                    print("usage: window-check [--days N] [--runs N] [--generated] [--keep DIR] [BARE_REPO …]")
                    exit(2)
                }
                repositories.append(argument)
            }
        }
        if repositories.isEmpty { generated = true }
    }
}

/// One clone's figures.
struct Sample {
    var inWindow: Int
    var diskBytes: Int64
    var sentBytes: Int64
    var seconds: Double
    var rounds = 0
    var repairBytes: Int64 = 0
    var repairSeconds = 0.0
    var matches = false
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

let options = Options(CommandLine.arguments)
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("window-check-\(UUID().uuidString)")
let served = scratch.appendingPathComponent("served")
try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: scratch) }
let now = Date()
let since = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - options.days * 86_400).rounded(.down))

var names: [(name: String, label: String)] = []
for (index, path) in options.repositories.enumerated() {
    let source = URL(fileURLWithPath: path)
    let name = "repo\(index).git"
    // A bare copy of the default branch's history (objects hard-linked where the file system allows).
    try await runGit(["clone", "--quiet", "--bare", "--single-branch", source.path, served.appendingPathComponent(name).path], in: scratch)
    names.append((name, source.pathComponents.suffix(2).joined(separator: "/")))
}
if options.generated {
    for seed: UInt64 in [1, 2, 3] {
        let name = "generated-\(seed).git"
        let history = MergeHistory.random(seed: seed, events: 1_500, span: now.addingTimeInterval(-3 * 365 * 86_400)...now)
        try await MergeHistory.write(history, to: served.appendingPathComponent(name))
        names.append((name, "MergeHistory seed \(seed), \(history.count) commits"))
    }
}

let server = try await GitHTTPServer.start(root: served)
var logger = Logger(label: "window-check")
logger.logLevel = .warning
let git = GitClient(limits: GitLimits(timeout: .seconds(1_800), maxBytes: 8 << 30), allowedProtocols: ["http"], logger: logger)
let clock = ContinuousClock()

print("window: since \(ISO8601DateFormatter().string(from: since)) (\(Int(options.days)) days), \(options.runs) runs each, medians")
print("| repository | git log --since (full) | plain --shallow-since: commits / disk / sent / time | RepoWatch clone: commits / disk / sent / time | repair: rounds / bytes / time | equal |")
print("|---|---|---|---|---|---|")
for (name, label) in names {
    let source = served.appendingPathComponent(name)
    let expected = try await MergeHistory.logSince(since, in: source, revision: "HEAD")
    var plain: [Sample] = []
    var ours: [Sample] = []
    for run in 0..<options.runs {
        let plainPath = scratch.appendingPathComponent("plain-\(run)")
        server.resetStatistics()
        var started = clock.now
        try await runGit(
            ["clone", "--quiet", "--single-branch", "--no-tags", "--shallow-since=\(Int64(since.timeIntervalSince1970))",
             server.url(for: name), plainPath.path],
            in: scratch)
        var elapsed = clock.now - started
        plain.append(Sample(
            inWindow: try await MergeHistory.logSince(since, in: plainPath, revision: "HEAD").count, diskBytes: DiskUsage.allocatedBytes(under: plainPath.path),
            sentBytes: server.statistics.bytesSent, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        try? FileManager.default.removeItem(at: plainPath)

        let oursPath = scratch.appendingPathComponent("ours-\(run)")
        server.resetStatistics()
        started = clock.now
        let result = try await git.clone(GitRemote(url: server.url(for: name)), into: oursPath, since: since)
        elapsed = clock.now - started
        let held = try await MergeHistory.logSince(since, in: oursPath, revision: "HEAD")
        let repair = result.window.duration.components
        ours.append(Sample(
            inWindow: held.count, diskBytes: DiskUsage.allocatedBytes(under: oursPath.path), sentBytes: server.statistics.bytesSent,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
            rounds: result.window.rounds, repairBytes: result.window.bytesAdded,
            repairSeconds: Double(repair.seconds) + Double(repair.attoseconds) / 1e18,
            matches: held == expected))
        if let keep = options.keep, run == options.runs - 1 {
            let kept = URL(fileURLWithPath: keep).appendingPathComponent(name)
            try? FileManager.default.removeItem(at: kept)
            try FileManager.default.createDirectory(at: kept.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: oursPath, to: kept)
        }
        try? FileManager.default.removeItem(at: oursPath)
    }
    func mib(_ bytes: Int64) -> String { String(format: "%.2f MiB", Double(bytes) / 1_048_576) }
    func kib(_ bytes: Int64) -> String { String(format: "%.0f KiB", Double(bytes) / 1024) }
    let p = plain[0], o = ours[0]
    let plainCell = "\(p.inWindow) / \(mib(p.diskBytes)) / \(mib(p.sentBytes)) / \(String(format: "%.2f s", median(plain.map(\.seconds))))"
    let oursCell = "\(o.inWindow) / \(mib(o.diskBytes)) / \(mib(o.sentBytes)) / \(String(format: "%.2f s", median(ours.map(\.seconds))))"
    let repairCell = "\(o.rounds) / \(kib(o.repairBytes)) / \(String(format: "%.2f s", median(ours.map(\.repairSeconds))))"
    print("| \(label) | \(expected.count) | \(plainCell) | \(oursCell) | \(repairCell) | \(ours.allSatisfy(\.matches) ? "yes" : "NO") |")
}
await server.stop()
