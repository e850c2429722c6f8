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
import Synchronization
import TestSupport
import Testing

/// Repositories served over smart HTTP on loopback, a store on one engine, and the ingestion stages
/// running in real workers: what `repowatch serve` does, minus the HTTP API.
struct IngestionHarness {
    let store: any Store
    /// The queue, with the lifecycle's finish hooks installed (as `repowatch` runs it).
    let queue: JobQueue
    let lifecycle: Lifecycle
    /// `var`: a test may change a setting between runs (the hosts allowed, say), as an operator would.
    var ingestion: Ingestion
    /// The Scorecard runner of the health-analysis stage, when the test runs it.
    let scorecard: ScorecardRunner?
    let server: GitHTTPServer
    /// The folder the server serves: `fixtures/<name>` bare repositories.
    let served: URL
    let scratch: URL
    let logs: LogRecorder
    /// Every stage runs as of this instant, so a test computes the same window as the handlers.
    let now: Date

    struct Options: Sendable {
        var maxCommits = 1000
        var maxCloneBytes: Int64 = 100 << 20
        var cacheBudgetBytes: Int64 = 1 << 40
        var serverToken: String?
        var gitTimeout: Duration = .seconds(60)
        var batchSize = 250
        /// When set, the health-analysis stage runs too, with this Scorecard command and arguments.
        var scorecard: (command: String, arguments: [String], timeout: Duration)?
        /// The Scorecard runner's cap on a clone's files (`scorecard.max_files`); nil: none.
        var scorecardMaxFiles: Int?
        var maxAttempts = 2
        var recheckBackoff: Duration = .seconds(300)
    }

    static let window: Duration = .seconds(365 * 86_400)

    static func with(_ engine: Engine, _ options: Options = .init(), _ body: (IngestionHarness) async throws -> Void) async throws {
        try await HeavyTests.run { try await run(engine, options, body) }
    }

    private static func run(_ engine: Engine, _ options: Options, _ body: (IngestionHarness) async throws -> Void) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("repowatch-ingestion-\(UUID().uuidString)")
        let served = scratch.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served.appendingPathComponent("fixtures"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let server = try await GitHTTPServer.start(root: served, token: options.serverToken)
        let logs = LogRecorder()
        let logger = Logger(label: "ingestion-test") { _ in logs.handler }
        let now = Date()
        do {
            try await TestDatabase.withStore(engine) { store in
                let bare = JobQueue(
                    store: store,
                    configuration: .init(
                        maxAttempts: options.maxAttempts, retry: RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(50), jitter: 0)))
                let lifecycle = Lifecycle(
                    queue: bare,
                    schedule: CheckSchedule(
                        interval: .seconds(86_400), minimumInterval: .seconds(3600), window: window, maxCommits: options.maxCommits,
                        failureBackoff: options.recheckBackoff),
                    clock: { now })
                let queue = lifecycle.installed(on: bare)
                let ingestion = Ingestion(
                    cache: CloneCache(root: scratch.appendingPathComponent("clones"), budgetBytes: options.cacheBudgetBytes, logger: logger),
                    git: GitClient(
                        executable: "git", limits: GitLimits(timeout: options.gitTimeout, maxBytes: options.maxCloneBytes),
                        allowedProtocols: ["http"], logger: logger),
                    history: HistoryReaders.preferred(),
                    window: window, maxCommits: options.maxCommits, tokens: tokenCipher, batchSize: options.batchSize,
                    lifecycle: lifecycle, clock: { now })
                let runner = options.scorecard.map {
                    ScorecardRunner(
                        command: $0.command, arguments: $0.arguments, timeout: $0.timeout, maxFiles: options.scorecardMaxFiles, logger: logger)
                }
                try await body(IngestionHarness(
                    store: store, queue: queue, lifecycle: lifecycle, ingestion: ingestion, scorecard: runner, server: server, served: served, scratch: scratch,
                    logs: logs, now: now))
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static let tokenCipher = try! TokenCipher(base64Key: Data(repeating: 7, count: 32).base64EncodedString())

    /// A generated bare repository served as `http://127.0.0.1:<port>/fixtures/<name>`.
    func serve(_ name: String, commits: Int, span: ClosedRange<Date>, seed: UInt64 = 42, merges: Bool = true) async throws -> GeneratedRepository {
        try await RepositoryGenerator.make(
            at: served.appendingPathComponent("fixtures/\(name)"), commits: commits, span: span, seed: seed, merges: merges, bare: true)
    }

    func source(_ name: String) -> URL { served.appendingPathComponent("fixtures/\(name)") }

    func url(_ name: String, host: String = "127.0.0.1") throws -> RepositoryURL {
        try RepositoryURL(parsing: "http://\(host):\(server.port)/fixtures/\(name)")
    }

    /// What `POST /v1/watchlist` does: the entry, the repository and its setup job in one transaction.
    @discardableResult
    func add(
        _ name: String, user: String = "alice", token: String? = nil, host: String = "127.0.0.1"
    ) async throws -> (repository: UUID, entry: UUID) {
        let url = try url(name, host: host)
        let lifecycle = lifecycle
        return try await store.transaction { tx in
            let user = try await tx.user(named: user, createIfMissing: true)!
            let added = try await tx.addToWatchlist(
                userID: user.id, url: url, privateTo: token == nil ? nil : user.id, alertsJSON: "{}", notes: nil, now: Date())
            let id = added.entry.repository.id
            if let token {
                try await tx.setRepositoryToken(sealed: try Self.tokenCipher.seal(token, boundTo: id), repository: id, privateTo: user.id)
            }
            try await lifecycle.added(repository: id, in: tx)
            return (id, added.entry.entry.id)
        }
    }

    /// A re-check: what the scheduler (or `POST …/recheck`) does.
    @discardableResult
    func recheck(_ id: UUID) async throws -> RestartOutcome? {
        let lifecycle = lifecycle
        return try await store.transaction { tx in try await lifecycle.recheck(repository: id, in: tx) }
    }

    /// `POST …/retry`.
    @discardableResult
    func retry(_ id: UUID) async throws -> RestartOutcome? {
        let lifecycle = lifecycle
        return try await store.transaction { tx in try await lifecycle.retry(repository: id, in: tx) }
    }

    func work(_ id: UUID) async throws -> RepositoryWork? {
        try await store.read { try await $0.repositoryWork(id: id) }
    }

    /// Runs the ingestion stages in workers until `condition` holds (or 120 s pass), then stops them gracefully.
    /// - Parameter queues: the queues these workers take (all by default), as `workers.concurrency` says.
    func runWorkers(queues: Set<String>? = nil, until condition: @escaping () async throws -> Bool) async throws -> Bool {
        var registry = JobRegistry()
        ingestion.register(into: &registry, timeout: .seconds(300))
        var concurrency = ["repository-setup": 2, "commit-backfill": 2, "maintenance": 1]
        if let scorecard {
            registry.register(HealthAnalysisHandler(ingestion: ingestion, runner: scorecard, cacheTTL: .seconds(86_400)), timeout: .seconds(300))
            registry.register(ScheduleRechecksHandler(lifecycle: lifecycle))
            concurrency["health-analysis"] = 2
        }
        if let queues { concurrency = concurrency.filter { queues.contains($0.key) } }
        let workers = JobWorkers(
            queue: queue, registry: registry,
            configuration: .init(
                concurrency: concurrency, pollInterval: .milliseconds(50),
                rescueInterval: .seconds(1)),
            logger: Logger(label: "workers") { _ in logs.handler })
        let group = ServiceGroup(configuration: .init(services: [.init(service: workers)], logger: TestDatabase.logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var met = false
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline {
                if try await condition() {
                    met = true
                    break
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return met
        }
    }

    /// Runs the workers until the repository's backfill is complete (its head stored) or it failed.
    func runUntilSettled(_ id: UUID) async throws -> RepositoryWork {
        let settled = try await runWorkers {
            guard let work = try await self.work(id) else { return true }
            return work.repository.state.status == .failed
                || (work.backfilledHead != nil && work.backfilledHead == work.repository.headCommit && work.repository.state.stage == .analyzing)
        }
        #expect(settled, "the repository settled within the time limit: \(logs.text.suffix(3000))")
        return try #require(try await work(id))
    }

    /// The stored commits, newest first.
    func storedCommits(_ id: UUID) async throws -> [Commit] {
        try await store.read { try await $0.commits(repository: id, after: nil, limit: 1_000_000) }
    }
}

/// `git log` on a complete clone of the source: the oracle for what the backfill must store.
struct GitLogOracle {
    struct Entry: Equatable {
        var sha: String
        var files = 0
        var additions = 0
        var deletions = 0
    }

    /// Commits of `git log --since=@<since> -n <limit>` with their `--numstat` sums, newest first.
    static func log(of source: URL, since: Date, limit: Int, scratch: URL) async throws -> [Entry] {
        let clone = scratch.appendingPathComponent("oracle-\(UUID().uuidString)")
        try await RepositoryGenerator.clone(of: source, into: clone)
        let text = try await git(
            ["log", "--since=@\(Int64(since.timeIntervalSince1970))", "-n", "\(limit)", "--numstat", "--format=%x1e%H"], in: clone)
        var entries: [Entry] = []
        for record in text.split(separator: "\u{1e}") {
            var lines = record.split(separator: "\n")
            guard !lines.isEmpty else { continue }
            var entry = Entry(sha: String(lines.removeFirst()))
            for line in lines where !line.isEmpty {
                let fields = line.split(separator: "\t", maxSplits: 2)
                guard fields.count == 3 else { continue }
                entry.files += 1
                entry.additions += Int(fields[0]) ?? 0
                entry.deletions += Int(fields[1]) ?? 0
            }
            entries.append(entry)
        }
        return entries
    }
}

/// Collects every log line — message, metadata of the logger and of the call, error — to check what was (never) logged.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func clear() { lines.withLock { $0.removeAll() } }

    /// A handler writing into this recorder.
    var handler: RecordingLogHandler { RecordingLogHandler(sink: self) }
}

struct RecordingLogHandler: LogHandler {
    let sink: LogRecorder
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) \(all) \(event.error.map { "\($0)" } ?? "")")
    }
}
