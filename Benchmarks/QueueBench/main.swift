import Domain
import Foundation
import Logging
import Queue
import ServiceLifecycle
import Store
import Synchronization

// queue-bench: the job queue's throughput and claim latency, as `make bench` reports them.
//
//   queue-bench [--database-url postgres://…] [--jobs 20000] [--concurrency 1,2,4] [--claim-rows 10000,1000000] [--json FILE]
//
// Without --database-url it runs on a new SQLite file. Each drain run: enqueue N no-op jobs (1 000
// per transaction), then start one worker process's workers with the given concurrency on the queue
// (claiming 10 jobs per worker at a time, as PgQueuer's benchmark does) and time until the N-th job is
// recorded complete. Claim latency: with R finished rows in the table
// and 1 000 due jobs, the time of one claim (1 job) + completion, median and p99 over 1 000 claims.

struct Options {
    var databaseURL: String?
    var jobs = 20_000
    var concurrency = [1, 2, 4]
    var claimRows = [10_000, 1_000_000]
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
            case "--jobs": jobs = Int(value()) ?? jobs
            case "--concurrency": concurrency = value().split(separator: ",").compactMap { Int($0) }
            case "--claim-rows": claimRows = value().split(separator: ",").compactMap { Int($0) }
            case "--json": json = value()
            default: fatalError("unknown argument \(arguments[i])")
            }
            i += 1
        }
    }
}

struct BenchJob: JobArguments {
    static let kind = "bench-noop"
    static let queue = "bench"
}

final class Counter: Sendable {
    let count = Atomic<Int>(0)
    /// When the handler last started (ContinuousClock nanoseconds since the process began).
    let lastStart = Atomic<Int64>(0)
}

let processStart = ContinuousClock.now
func nanosSinceStart() -> Int64 {
    let d = ContinuousClock.now - processStart
    return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
}

struct CountingHandler: JobHandler {
    let counter: Counter
    func handle(_ arguments: BenchJob, context: JobContext) async throws {
        counter.lastStart.store(nanosSinceStart(), ordering: .relaxed)
        counter.count.add(1, ordering: .relaxed)
    }
}

let logger: Logger = {
    var logger = Logger(label: "queue-bench")
    logger.logLevel = .warning
    return logger
}()
let options = Options(Array(CommandLine.arguments.dropFirst()))

func makeStore(_ options: Options, logger: Logger) async throws -> any Store {
    if let url = options.databaseURL {
        return PostgresStore(configuration: try PostgresURL.parse(url), logger: logger)
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("queue-bench-\(UUID().uuidString)/bench.sqlite").path
    return try await SQLiteStore.open(path: path, logger: logger)
}

func enqueue(_ queue: JobQueue, count: Int) async throws {
    var done = 0
    while done < count {
        let batch = min(1000, count - done)
        try await queue.store.transaction { tx in
            for _ in 0..<batch { try await queue.enqueue(BenchJob(), in: tx) }
        }
        done += batch
    }
}

func drain(_ queue: JobQueue, jobs: Int, concurrency: Int, logger: Logger) async throws -> Double {
    let counter = Counter()
    var registry = JobRegistry()
    registry.register(CountingHandler(counter: counter))
    let workers = JobWorkers(
        queue: queue, registry: registry,
        // Each worker claims batches of 10, as PgQueuer's benchmark consumers do (--dequeue-batch-size 10).
        configuration: .init(
            concurrency: ["bench": concurrency], prefetch: ["bench": 9 * concurrency], pollInterval: .milliseconds(100),
            shutdownGrace: .seconds(5)),
        logger: logger)
    let group = ServiceGroup(configuration: .init(services: [.init(service: workers)], logger: logger))
    let start = ContinuousClock.now
    var elapsed = Duration.zero
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        // The handler counts before completion is written: wait for the table to agree.
        while counter.count.load(ordering: .relaxed) < jobs { try await Task.sleep(for: .milliseconds(2)) }
        while try await queue.stats(queues: ["bench"]).first?.counts[.completed] ?? 0 < jobs { try await Task.sleep(for: .milliseconds(5)) }
        elapsed = ContinuousClock.now - start
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
    return Double(jobs) / elapsed.seconds
}

/// Fills the table with `rows` finished jobs in set-based statements (the generator differs per engine).
func fill(_ store: any Store, rows: Int) async throws {
    let now = Date()
    try await store.transaction { tx in
        try await tx.execute("""
            INSERT INTO jobs (queue, kind, args, state, priority, attempt, max_attempts, run_at, errors, created_at, finalized_at, updated_at)
            SELECT 'bench-history', 'bench-noop', \(SQLValue.json("{}")), 'completed', 0, 1, 3, \(now), \(SQLValue.json("[]")), \(now), \(now), \(now)
            FROM \(sqlite: "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ", postgres: "generate_series(1, ")\(rows)\(sqlite: ") SELECT i FROM n)", postgres: ")")
            """)
    }
    if store.dialect == .postgres { try await store.read { try await $0.execute("ANALYZE jobs") } }
}

func claimLatency(_ queue: JobQueue, samples: Int) async throws -> (median: Double, p99: Double) {
    try await enqueue(queue, count: samples)
    var times: [Double] = []
    for _ in 0..<samples {
        let start = ContinuousClock.now
        guard let job = try await queue.claim(queue: "bench", limit: 1, owner: "bench").first else { break }
        let claimed = ContinuousClock.now - start
        _ = try await queue.complete(job)
        times.append(claimed.seconds * 1000)
    }
    times.sort()
    return (times[times.count / 2], times[min(times.count - 1, Int(Double(times.count) * 0.99))])
}

/// PostgreSQL: how soon an idle worker (polling only every 10 s) starts a job after the enqueue commits.
func wakeupLatency(_ queue: JobQueue, samples: Int, logger: Logger) async throws -> (median: Double, p99: Double) {
    let counter = Counter()
    var registry = JobRegistry()
    registry.register(CountingHandler(counter: counter))
    let workers = JobWorkers(
        queue: queue, registry: registry, configuration: .init(concurrency: ["bench": 1], pollInterval: .seconds(10)), logger: logger)
    let group = ServiceGroup(configuration: .init(services: [.init(service: workers)], logger: logger))
    var times: [Double] = []
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        try await Task.sleep(for: .seconds(1))  // the worker is idle and listening
        for i in 1...samples {
            try await queue.enqueue(BenchJob())  // returns after the commit
            let committed = nanosSinceStart()
            while counter.count.load(ordering: .relaxed) < i { try await Task.sleep(for: .microseconds(200)) }
            times.append(Double(counter.lastStart.load(ordering: .relaxed) - committed) / 1_000_000)
            try await Task.sleep(for: .milliseconds(20))
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
    times.sort()
    return (times[times.count / 2], times[min(times.count - 1, Int(Double(times.count) * 0.99))])
}

var results: [String: Any] = ["engine": options.databaseURL == nil ? "sqlite" : "postgres", "jobs": options.jobs]
var drains: [String: Double] = [:]
var latencies: [String: [String: Double]] = [:]
let engine = options.databaseURL == nil ? "sqlite" : "postgres"

for c in options.concurrency {
    let store = try await makeStore(options, logger: logger)
    try await withRunningStore(store) { store in
        try await store.migrate(logger: logger)
        try await store.transaction { try await $0.execute("DELETE FROM jobs") }
        let queue = JobQueue(store: store)
        try await enqueue(queue, count: options.jobs)
        let rate = try await drain(queue, jobs: options.jobs, concurrency: c, logger: logger)
        drains[String(c)] = rate
        print("\(engine)\tdrain \(options.jobs) no-op jobs\tconcurrency \(c)\t\(String(format: "%.0f", rate)) jobs/s")
    }
}

for rows in options.claimRows {
    let store = try await makeStore(options, logger: logger)
    try await withRunningStore(store) { store in
        try await store.migrate(logger: logger)
        try await store.transaction { try await $0.execute("DELETE FROM jobs") }
        try await fill(store, rows: rows)
        let (median, p99) = try await claimLatency(JobQueue(store: store), samples: 1000)
        latencies[String(rows)] = ["median_ms": median, "p99_ms": p99]
        print("\(engine)\tclaim 1 job with \(rows) rows in the table\tmedian \(String(format: "%.3f", median)) ms\tp99 \(String(format: "%.3f", p99)) ms")
    }
}

if options.databaseURL != nil {
    let store = try await makeStore(options, logger: logger)
    try await withRunningStore(store) { store in
        try await store.migrate(logger: logger)
        try await store.transaction { try await $0.execute("DELETE FROM jobs") }
        let (median, p99) = try await wakeupLatency(JobQueue(store: store), samples: 100, logger: logger)
        results["wakeup_latency_ms"] = ["median": median, "p99": p99]
        print("\(engine)\tenqueue commit → idle worker starts the job (NOTIFY; polling every 10 s)\tmedian \(String(format: "%.2f", median)) ms\tp99 \(String(format: "%.2f", p99)) ms")
    }
}

results["drain_jobs_per_second"] = drains
results["claim_latency"] = latencies
if let path = options.json {
    let data = try JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
}
