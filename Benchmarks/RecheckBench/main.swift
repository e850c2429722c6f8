import Analysis
import Domain
import Foundation
import GitFixtures
import GitHistory
import GitTransport
import Ingestion
import Logging
import Pipeline
import Queue
import Scorecard
import ServiceLifecycle
import Store

// recheck-bench: what a re-check costs, and what the scheduler's pass costs.
//
//   recheck-bench [--database-url postgres://…] [--scorecard PATH] [--commits 2000] [--repositories 10000] [--json FILE]
//
// 1. Re-check of an unchanged repository against its first setup: a generated repository served over
//    smart HTTP on loopback is added, and the pipeline's real handlers run in workers until it is ready
//    (clone, backfill, Scorecard with the given command, report): that is the first setup. Then a
//    re-check is started as the scheduler starts it, and timed until the repository is ready again with
//    its next report. Median of 5 re-checks. Target (issue 5): ≤ 5 % of the first setup.
// 2. The scheduler's pass with N repositories in the store (5 % of them due): the query that finds the
//    due ones (`dueRepositories`, an index range scan), median and worst of 50. Target: < 100 ms.
// SQLite unless --database-url is given.

struct Options {
    var databaseURL: String?
    var scorecard: String?
    var commits = 2000
    var repositories = 10_000
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
            case "--database-url": databaseURL = value()
            case "--scorecard": scorecard = value()
            case "--commits": commits = Int(value()) ?? commits
            case "--repositories": repositories = Int(value()) ?? repositories
            case "--json": json = value()
            default: fatalError("unknown argument \(arguments[i])")
            }
            i += 1
        }
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let logger: Logger = {
    var logger = Logger(label: "recheck-bench")
    logger.logLevel = .warning
    return logger
}()

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("recheck-bench-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: scratch) }
let engine = options.databaseURL == nil ? "sqlite" : "postgres"
let store: any Store = try await {
    if let url = options.databaseURL { return PostgresStore(configuration: try PostgresURL.parse(url), logger: logger) }
    return try await SQLiteStore.open(path: scratch.appendingPathComponent("bench.sqlite").path, logger: logger)
}()
let scorecardCommand = options.scorecard ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    .deletingLastPathComponent().appendingPathComponent("repowatch-scorecard").path

var results: [String: Any] = ["engine": engine]
try await withRunningStore(store) { store in
    try await store.migrate(logger: logger)
    let lifecycle = Lifecycle(
        queue: JobQueue(store: store),
        schedule: CheckSchedule(interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400)))
    let queue = lifecycle.installed(on: JobQueue(store: store))

    // 1. First setup, then re-checks of the unchanged repository.
    let served = scratch.appendingPathComponent("served")
    let now = Date()
    let generated = try await RepositoryGenerator.make(
        at: served.appendingPathComponent("bench/repository"), commits: options.commits,
        span: now.addingTimeInterval(-300 * 86_400)...now.addingTimeInterval(-3600), seed: 5, bare: true)
    let server = try await GitHTTPServer.start(root: served)
    let ingestion = Ingestion(
        cache: CloneCache(root: scratch.appendingPathComponent("clones"), budgetBytes: 1 << 40, logger: logger),
        git: GitClient(limits: GitLimits(timeout: .seconds(600), maxBytes: 1 << 40), allowedProtocols: ["http"], logger: logger),
        history: HistoryReaders.preferred(), window: .seconds(365 * 86_400), maxCommits: 1000, tokens: nil, lifecycle: lifecycle)
    let runner = ScorecardRunner(command: scorecardCommand, arguments: ["--local={clone}", "--format=json", "--show-details"], logger: logger)
    var registry = JobRegistry()
    ingestion.register(into: &registry, timeout: .seconds(600))
    registry.register(HealthAnalysisHandler(ingestion: ingestion, runner: runner, cacheTTL: .seconds(86_400)), timeout: .seconds(600))
    registry.register(ScheduleRechecksHandler(lifecycle: lifecycle))
    let workers = JobWorkers(
        queue: queue, registry: registry,
        configuration: .init(
            concurrency: ["repository-setup": 1, "commit-backfill": 1, "health-analysis": 1, "maintenance": 1], pollInterval: .milliseconds(5)),
        logger: logger)
    let group = ServiceGroup(configuration: .init(services: [.init(service: workers)], logger: logger))
    let running = Task { try await group.run() }

    func waitUntil(_ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(2))
        }
        fatalError("timed out")
    }
    let url = try RepositoryURL(parsing: "http://127.0.0.1:\(server.port)/bench/repository")
    let started = ContinuousClock.now
    let id = try await store.transaction { tx in
        let user = try await tx.user(named: "bench", createIfMissing: true)!
        let added = try await tx.addToWatchlist(userID: user.id, url: url, alertsJSON: "{}", notes: nil, now: Date())
        try await lifecycle.added(repository: added.entry.repository.id, in: tx)
        return added.entry.repository.id
    }
    try await waitUntil { try await store.read { try await $0.repository(id: id) }?.state.status == .ready }
    let firstSetup = seconds(ContinuousClock.now - started)
    var rechecks: [Double] = []
    for round in 1...5 {
        _ = try await store.write("UPDATE repositories SET next_check_at = \(Date(timeIntervalSince1970: 1)) WHERE id = \(id)")
        let start = ContinuousClock.now
        try await queue.enqueue(ScheduleRechecksJob())
        try await waitUntil {
            let reports = try await store.read { try await $0.healthReports(repository: id, before: nil, limit: 10) }.count
            let refreshing = try await store.read { try await $0.repository(id: id) }?.state.refreshing
            return reports == round + 1 && refreshing == false
        }
        rechecks.append(seconds(ContinuousClock.now - start))
    }
    await group.triggerGracefulShutdown()
    _ = try? await running.value
    await server.stop()
    let scorecardRuns = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM scorecard_results")?.int("n") } ?? 0
    let recheck = median(rechecks)
    print("""
        re-check (\(engine)): first setup of \(generated.commitCount) commits (clone, backfill, Scorecard \(URL(fileURLWithPath: scorecardCommand).lastPathComponent), report) \
        \(String(format: "%.3f", firstSetup)) s; re-check of the unchanged repository, median of 5: \(String(format: "%.3f", recheck)) s \
        = \(String(format: "%.1f", recheck / firstSetup * 100)) % of the first setup; Scorecard ran \(scorecardRuns) time(s) in all
        """)
    results["first_setup_seconds"] = firstSetup
    results["recheck_seconds"] = recheck
    results["recheck_share"] = recheck / firstSetup
    results["scorecard_runs"] = scorecardRuns

    // 2. The scheduler's pass over N repositories, 5 % due.
    let total = options.repositories
    let base = Date()
    try await store.transaction { tx in
        for start in stride(from: 0, to: total, by: 500) {
            var sql: SQL = """
                INSERT INTO repositories (id, canonical_url, scheme, host, port, owner, name, status, stage, progress, refreshing,
                    next_check_at, created_at, updated_at) VALUES
                """
            for n in start..<min(start + 500, total) {
                // Every 20th is due; the rest are spread over the next day.
                let next = n % 20 == 0 ? base.addingTimeInterval(-Double(n)) : base.addingTimeInterval(Double(n % 86_400) + 60)
                sql = sql + """
                    \(raw: n == start ? " " : ", ")(\(UUID.v7(at: base)), \("https://github.com/bench/r\(n)"), 'https', 'github.com', NULL, 'bench',
                    \("r\(n)"), 'ready', 'done', 100, \(false), \(next), \(base), \(base))
                    """
            }
            try await tx.execute(sql)
        }
    }
    if store.dialect == .postgres { try await store.read { try await $0.execute("ANALYZE repositories") } }
    var passes: [Double] = []
    var found = 0
    for _ in 0..<50 {
        let start = ContinuousClock.now
        found = try await store.read { try await $0.dueRepositories(now: base, limit: 1000) }.count
        passes.append(seconds(ContinuousClock.now - start) * 1000)
    }
    print("""
        scheduler pass (\(engine)): \(total + 1) repositories, \(found) due: median \(String(format: "%.2f", median(passes))) ms, \
        worst \(String(format: "%.2f", passes.max() ?? 0)) ms of 50
        """)
    results["scheduler_repositories"] = total + 1
    results["scheduler_due"] = found
    results["scheduler_median_ms"] = median(passes)
    results["scheduler_worst_ms"] = passes.max() ?? 0
}
if let path = options.json {
    try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
}
