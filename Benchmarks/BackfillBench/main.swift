import Domain
import Foundation
import GitFixtures
import GitHistory
import GitTransport
import Ingestion
import Logging
import Pipeline
import Queue
import Store
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

// backfill-bench: commits per second of a whole backfill (walk, stats, writes) into SQLite and
// PostgreSQL, beside `git log --numstat` and PyDriller on the same clone, in the same run.
//
//   backfill-bench [--commits 10000] [--runs 3] [--database-url postgres://…] [--pydriller PYTHON] [--json FILE]
//
// A repository of N commits spread over the last 360 days is generated (git fast-import) and
// cloned completely (`git clone --no-local`): every commit is in the one-year window. Each system
// reads that one clone:
// - `git log --numstat --format=%H`, the lower bound of any reader that shells out to git;
// - RepoWatch's backfill exactly as the `commit-backfill` job runs it (`Ingestion.backfill`): the
//   walk, the stats in batches of 500, each batch stored with its progress in one transaction —
//   into a new SQLite file, and into PostgreSQL when a URL is given;
// - PyDriller, when a Python with pydriller is given: `Repository(clone).traverse_commits()` reading
//   each commit's files, insertions and deletions (what the backfill stores), nothing written.
// Times are the median of --runs runs (PyDriller: one run), wall clock, whole operation.

struct Options {
    var commits = 10_000
    var runs = 3
    var databaseURL: String?
    var pydriller: String?
    var json: String?

    init(_ arguments: [String]) {
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else { fatalError("missing value for \(arguments[i - 1])") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--commits": commits = Int(value()) ?? commits
            case "--runs": runs = max(1, Int(value()) ?? runs)
            case "--database-url": databaseURL = value()
            case "--pydriller": pydriller = value()
            case "--json": json = value()
            default: fatalError("unknown argument \(arguments[i])")
            }
            i += 1
        }
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let logger: Logger = {
    var logger = Logger(label: "backfill-bench")
    logger.logLevel = .warning
    return logger
}()

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
func peakMemoryMiB() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kib / 1024
}

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("backfill-bench-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: scratch) }
let now = Date()
let source = scratch.appendingPathComponent("source")
let clone = scratch.appendingPathComponent("clone")
print("generating \(options.commits) commits …")
let generated = try await RepositoryGenerator.make(
    at: source, commits: options.commits, span: now.addingTimeInterval(-360 * 86_400)...now.addingTimeInterval(-60), seed: 2026,
    bare: true)
try await RepositoryGenerator.clone(of: source, into: clone)
let windowStart = now.addingTimeInterval(-365 * 86_400)

var rows: [(system: String, seconds: Double, commits: Int, memory: String)] = []

// git log --numstat, as a process (its start included, as for every system here).
var gitTimes: [Double] = []
var gitCommits = 0
for _ in 0..<options.runs {
    let started = ContinuousClock.now
    let result = try await Subprocess.run(
        .name("git"), arguments: ["log", "--numstat", "--format=%H"], workingDirectory: FilePath(clone.path),
        output: .bytes(limit: 1 << 30), error: .discarded)
    gitTimes.append(seconds(ContinuousClock.now - started))
    gitCommits = result.standardOutput.split(separator: 0x0A).filter { line in
        line.count == 40 && line.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }.count
}
rows.append(("`git log --numstat --format=%H`", median(gitTimes), gitCommits, "–"))

/// One backfill of the whole clone into `store`, as the job runs it.
@MainActor
func backfill(into store: any Store, label: String) async throws -> Double {
    let ingestion = Ingestion(
        cache: CloneCache(root: scratch.appendingPathComponent("unused-cache"), budgetBytes: 1 << 40, logger: logger),
        git: GitClient(limits: GitLimits(timeout: .seconds(600), maxBytes: 1 << 40), logger: logger),
        history: HistoryReaders.preferred(), window: .seconds(365 * 86_400), maxCommits: generated.commitCount + 1, tokens: nil,
        lifecycle: Lifecycle(
            queue: JobQueue(store: store),
            schedule: CheckSchedule(interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400))))
    var times: [Double] = []
    for run in 0..<options.runs {
        let url = try RepositoryURL(parsing: "https://github.com/bench/\(label)-\(run)-\(UUID().uuidString.prefix(8))")
        let id = try await store.transaction { tx in
            let user = try await tx.user(named: "bench", createIfMissing: true)!
            return try await tx.addToWatchlist(userID: user.id, url: url, alertsJSON: "{}", notes: nil, now: now).entry.repository.id
        }
        let started = ContinuousClock.now
        let result = try await ingestion.backfill(
            repository: id, store: store, clone: clone, head: generated.head, stop: [], windowStart: windowStart)
        times.append(seconds(ContinuousClock.now - started))
        guard result.inserted == generated.commitCount else {
            fatalError("\(label): stored \(result.inserted) commits, expected \(generated.commitCount)")
        }
    }
    return median(times)
}

let sqlite = try await SQLiteStore.open(path: scratch.appendingPathComponent("bench.sqlite").path, logger: logger)
let sqliteSeconds = try await withRunningStore(sqlite) { store in
    try await store.migrate(logger: logger)
    return try await backfill(into: store, label: "sqlite")
}
rows.append(("RepoWatch backfill → SQLite", sqliteSeconds, generated.commitCount, String(format: "%.0f MiB", peakMemoryMiB())))

if let url = options.databaseURL {
    let postgres = PostgresStore(configuration: try PostgresURL.parse(url), logger: logger)
    let postgresSeconds = try await withRunningStore(postgres) { store in
        try await store.migrate(logger: logger)
        return try await backfill(into: store, label: "postgres")
    }
    rows.append(("RepoWatch backfill → PostgreSQL", postgresSeconds, generated.commitCount, String(format: "%.0f MiB", peakMemoryMiB())))
}

if let python = options.pydriller {
    let script = """
        import sys, time, resource
        from pydriller import Repository
        start = time.monotonic()
        commits = files = insertions = deletions = 0
        for commit in Repository(sys.argv[1]).traverse_commits():
            commits += 1
            files += commit.files
            insertions += commit.insertions
            deletions += commit.deletions
        elapsed = time.monotonic() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{commits} {elapsed:.3f} {peak:.0f} {files} {insertions} {deletions}")
        """
    let result = try await Subprocess.run(
        .path(FilePath(python)), arguments: ["-c", script, clone.path], output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
    let fields = result.standardOutput.split(separator: " ")
    if case .exited(0) = result.terminationStatus, fields.count >= 3, let n = Int(fields[0]), let s = Double(fields[1]) {
        rows.append(("PyDriller (`traverse_commits`: files, insertions, deletions)", s, n, "\(fields[2]) MiB"))
    } else {
        print("PyDriller failed: \(result.terminationStatus) \(result.standardError)")
    }
}

let gitSeconds = median(gitTimes)
print("")
print("| system | commits | seconds | commits/s | ÷ git log | peak memory |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
var json: [[String: Any]] = []
for row in rows {
    let rate = Double(row.commits) / row.seconds
    print("| \(row.system) | \(row.commits) | \(String(format: "%.3f", row.seconds)) | \(String(format: "%.0f", rate)) | \(String(format: "%.2f", row.seconds / gitSeconds)) | \(row.memory) |")
    json.append(["system": row.system, "commits": row.commits, "seconds": row.seconds, "commits_per_second": rate,
                 "ratio_to_git_log": row.seconds / gitSeconds, "memory": row.memory])
}
if let path = options.json {
    let data = try JSONSerialization.data(withJSONObject: ["rows": json, "commits": options.commits, "runs": options.runs], options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
}
