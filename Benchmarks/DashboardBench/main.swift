import Domain
import Foundation
import GitFixtures
import Logging
import Pipeline
import Queue
import Scorecard
import Settings
import Store
import Synchronization
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

// dashboard-bench: time to first byte and size of the dashboard's two heaviest pages, as a browser gets them.
//
//   dashboard-bench [--database-url postgres://…] [--data-dir DIR] [--server PATH] [--requests 200] [--warmup 20]
//                   [--entries 500] [--commits 1000] [--reports 100] [--rows FILE] [--role api|serve]
//
// 1. Seeds a new store through the store's and the pipeline's own APIs — the writes a worker makes, in its order:
//    one user with an API key; `--entries` watchlist entries on as many repositories, most of them `ready` with a health
//    report (their stage jobs claimed, begun, finished and completed on the real queue, so the lifecycle writes the
//    report), some `processing` at every stage (their jobs left where a worker would be), a few `failed` (their setup
//    job failed permanently: the lifecycle records the failure). One of them — "the big one" — has `--commits` commits
//    in the last year (by 30 people and a bot, unevenly, so the top authors and the 52 weekly buckets are real) and
//    `--reports` health reports spread over the year: the runs are played with a clock that walks through the year, each
//    with its own Scorecard result (the 18 checks of a real `scorecard --show-details` output, scores moving a little
//    from run to run).
// 2. Starts the real server (`repowatch api`, the binary next to this one unless --server) on that store: the HTTP role
//    alone, no worker and no scheduler, so nothing changes under the measurement (`--role serve` runs every role with
//    every worker at 0 instead: REPOWATCH_WORKERS_CONCURRENCY=repository-setup=0,…, set for both).
// 3. Signs in as a browser does (GET /sign-in: the `rw_signin` cookie and the form's csrf_token; POST /sign-in, form
//    encoded; keeps `rw_session`), checks both pages (status 200, 500 `data-entry-id` rows in table#watchlist; 52
//    `rect.bar` in svg#commits-chart, one `circle.point` per report in svg#health-chart, 18 `tr.check`) — a benchmark
//    of an error page would be worthless — then warms up and requests each page `--requests` times, one request at a
//    time, on one kept-alive connection.
//
// How time to first byte is measured: a plain blocking TCP socket (TCP_NODELAY), no HTTP library. The clock starts just
// before the request's single write() and stops when the first recv() returns bytes of the answer; the rest of the
// answer is then read (Content-Length or chunked) and its bytes counted as they came off the wire. A client library
// would add its own event-loop hops and buffering between the bytes' arrival and the callback that reports them;
// here the only client cost inside the interval is one syscall wake-up. Client and server share this machine's cores.
// Each page is measured twice: with `Accept-Encoding: gzip, deflate, br` as a browser's requests carry, so the table
// shows whether the server compresses (Content-Encoding), then with `identity`; a compressed answer is fetched again
// uncompressed for the checks.
// SQLite (a new data folder) unless --database-url is given (then that database must be empty or RepoWatch's own).

struct Options {
    var databaseURL: String?
    var dataDir: String?
    var server: String?
    var requests = 200
    var warmup = 20
    var entries = 500
    var commits = 1000
    var reports = 100
    var rows: String?
    /// `api`: the HTTP role alone, no background work at all. `serve` (every role) with every worker at 0 stops at once
    /// on this commit ("Service failed(Queue.JobWorkers)": the workers' service returns when it has no queue to run).
    var role = "api"

    init(_ arguments: [String]) {
        var i = 0
        func value() -> String {
            i += 1
            guard i < arguments.count else { fail("missing value for \(arguments[i - 1])") }
            return arguments[i]
        }
        func number() -> Int {
            let text = value()
            guard let n = Int(text), n > 0 else { fail("\(arguments[i - 1]) wants a positive number, not \(text)") }
            return n
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--database-url": databaseURL = value()
            case "--data-dir": dataDir = value()
            case "--server": server = value()
            case "--requests": requests = number()
            case "--warmup": warmup = number()
            case "--entries": entries = number()
            case "--commits": commits = number()
            case "--reports": reports = number()
            case "--rows": rows = value()
            case "--role":
                role = value()
                guard role == "api" || role == "serve" else { fail("--role is api or serve, not \(role)") }
            default: fail("unknown argument \(arguments[i])")
            }
            i += 1
        }
        guard entries >= 20 else { fail("--entries must be at least 20 (the mix of statuses needs them)") }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dashboard-bench: error: \(message)\n".utf8))
    exit(1)
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("dashboard-bench: \(message)\n".utf8))
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
var logger = Logger(label: "dashboard-bench")
logger.logLevel = .warning
let engine = options.databaseURL == nil ? "SQLite" : "PostgreSQL"

// MARK: - Seeding

/// An object id from the seeded generator (the fixtures' SplitMix64: every run seeds the same data).
extension SeededGenerator {
    mutating func sha() -> String {
        (0..<5).map { _ in String(format: "%08x", UInt32(truncatingIfNeeded: next())) }.joined()
    }
}

/// The clock of the lifecycle and the queue while seeding: real time, or a moment of the past while the big
/// repository's history is played.
final class SeedClock: Sendable {
    let fixed = Mutex<Date?>(nil)
    func now() -> Date { fixed.withLock { $0 } ?? Date() }
    func set(_ date: Date?) { fixed.withLock { $0 = date } }
}

/// Where one repository's run is to stop, as the dashboard will show it.
enum Target {
    case queued
    case cloning(progress: Int)
    case backfilling(progress: Int)
    case analyzing(progress: Int)
    case failed(PipelineFailure)
    case ready
}

/// What a run of one repository finds: its head, the commits its backfill stores, the Scorecard result of its analysis.
struct Run {
    var target: Target
    var head: String
    var headCommittedAt: Date?
    var commits: [Commit]
    var scorecard: ScorecardReport
}

/// The real Scorecard outputs the tests parse (18 checks; the first with `--show-details`).
let fixtures: [ScorecardReport] = {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/ScorecardTests/Fixtures")
    return ["example-1-github.com-ossf-scorecard.json", "example-2-github.com-expadox-docutrust.json"].map { name in
        let path = folder.appendingPathComponent(name)
        guard let data = try? Data(contentsOf: path) else { fail("cannot read the Scorecard fixture \(path.path)") }
        do { return try ScorecardReport.parse(data) } catch { fail("\(name): \(error)") }
    }
}()

/// A Scorecard result for `repository` at `head`: a fixture's checks (with their details and documentation links),
/// each conclusive score moved by up to `drift`, the aggregate recomputed as the CLI prints it.
func scorecard(_ base: ScorecardReport, repository: String, head: String, at date: Date, drift: Int, using rng: inout SeededGenerator)
    -> ScorecardReport
{
    var report = base.naming(repository: repository, head: head)
    report.date = ISO8601DateFormatter().string(from: date)
    for index in report.checks.indices where report.checks[index].score >= 0 && drift > 0 {
        report.checks[index].score = min(10, max(0, report.checks[index].score + Int.random(in: -drift...drift, using: &rng)))
    }
    report.score = ScorecardReport.printedAggregate(of: report.checks)
    return report
}

/// `count` commits between `start` and `end` by `authors` people (the first ones write most, as in real projects)
/// and a bot, newest first, each the child of the next.
func history(count: Int, authors: Int, from start: Date, to end: Date, using rng: inout SeededGenerator) -> [Commit] {
    let first = ["Ada", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Guido", "Radia", "Bjarne", "Hedy",
                 "Donald", "Katherine", "Niklaus", "Sophie", "Edsger", "Anita", "John", "Shafi"]
    let last = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "van Rossum", "Perlman"]
    let people = (0..<authors).map { n -> (name: String, email: String) in
        let name = "\(first[n % first.count]) \(last[(n / first.count + n) % last.count])"
        return (name, name.lowercased().replacingOccurrences(of: " ", with: ".") + "\(n)@example.org")
    }
    // Zipf-like shares: the k-th person writes about 1/k as much as the first; about 4 % of commits are a bot's.
    let weights = (1...max(authors, 1)).map { 1.0 / Double($0) }
    let total = weights.reduce(0, +)
    let verbs = ["Fix", "Add", "Update", "Refactor", "Remove", "Document", "Test", "Speed up"]
    let nouns = ["parser", "scheduler", "CLI flags", "README", "CI workflow", "error messages", "cache", "dependency pins", "tests"]
    var dates = (0..<count).map { _ -> Date in
        // More commits on weekdays and in some weeks than others: a random day, kept with a weekday-weighted chance.
        var date: Date
        repeat {
            date = Date(timeIntervalSince1970: Double.random(in: start.timeIntervalSince1970...end.timeIntervalSince1970, using: &rng))
        } while Calendar(identifier: .gregorian).isDateInWeekend(date) && Double.random(in: 0..<1, using: &rng) < 0.7
        return date
    }
    dates.sort(by: >)
    let shas = (0..<count).map { _ in rng.sha() }
    return dates.enumerated().map { index, date in
        let author: (name: String, email: String)
        if authors == 0 || Double.random(in: 0..<1, using: &rng) < 0.04 {
            author = ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com")
        } else {
            var pick = Double.random(in: 0..<total, using: &rng)
            var chosen = 0
            while chosen < weights.count - 1 && pick >= weights[chosen] {
                pick -= weights[chosen]
                chosen += 1
            }
            author = people[chosen]
        }
        let files = Int.random(in: 1...12, using: &rng)
        return Commit(
            sha: shas[index], parents: index + 1 < count ? [shas[index + 1]] : [], authorName: author.name, authorEmail: author.email,
            authoredAt: date.addingTimeInterval(-Double.random(in: 0...7200, using: &rng)), committedAt: date,
            summary: "\(verbs.randomElement(using: &rng)!) \(nouns.randomElement(using: &rng)!)",
            stats: .init(filesChanged: files, additions: Int.random(in: 0...400, using: &rng), deletions: Int.random(in: 0...200, using: &rng)))
    }
}

/// Seeds the store; returns the API key, the big entry's id and how many entries of each status there are.
func seed(_ store: any Store, options: Options, fixtures: [ScorecardReport]) async throws -> (key: String, bigEntry: UUID, statuses: [String: Int]) {
    let clock = SeedClock()
    let schedule = CheckSchedule(interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400))
    let bare = JobQueue(store: store, clock: { clock.now() })
    let lifecycle = Lifecycle(queue: bare, schedule: schedule, clock: { clock.now() })
    let queue = lifecycle.installed(on: bare)
    var rng = SeededGenerator(seed: 13)
    let now = Date()
    let day = 86_400.0

    let (user, key) = try await store.transaction { tx in
        let created = try await tx.createAPIKey(userName: "dashboard-bench", isAdmin: false, now: now)
        return (created.record.userID, created.key)
    }

    /// Plays the stage jobs of the runs under way the way workers do — claim, begin, record, complete in the
    /// transaction that records — and stops each repository where its plan says (a job left running, or waiting).
    func play(_ runs: [UUID: Run]) async throws {
        func claim(_ name: String) async throws -> [ClaimedJob] {
            // All that wait (earlier batches' jobs that stay waiting are older, and would come first): those of other
            // repositories are given back at once.
            try await queue.claim(queue: name, limit: 100_000, owner: "dashboard-bench")
        }
        @Sendable func begin<J: StageJob>(_ job: J, _ claimed: ClaimedJob, in tx: any SQLExecutor) async throws {
            guard try await lifecycle.begin(job, attempt: claimed.attempt, in: tx) != nil else {
                throw PipelineFailure(reason: "seed", message: "the \(claimed.kind) job of \(job.repositoryID) is not wanted")
            }
        }
        @Sendable func complete(_ claimed: ClaimedJob, in tx: any SQLExecutor) async throws {
            guard try await queue.complete(claimed, in: tx) else { throw BenchError("lost the lease on job \(claimed.id)") }
        }
        for claimed in try await claim(PipelineJobs.RepositorySetup.queue) {
            let job = try claimed.arguments(as: PipelineJobs.RepositorySetup.self)
            guard let run = runs[job.repositoryID] else {
                _ = try await queue.release(claimed)
                continue
            }
            switch run.target {
            case .queued:
                _ = try await queue.release(claimed)
            case .cloning(let progress):
                try await store.transaction { tx in
                    try await begin(job, claimed, in: tx)
                    try await tx.reportStageProgress(progress, stage: .cloning, ofRepository: job.repositoryID, now: clock.now())
                }
            case .failed(let failure):
                try await store.transaction { try await begin(job, claimed, in: $0) }
                _ = try await queue.fail(claimed, error: failure.thrown(permanent: true))
            case .backfilling, .analyzing, .ready:
                try await store.transaction { tx in
                    try await begin(job, claimed, in: tx)
                    try await lifecycle.setupFinished(
                        job, head: run.head, branch: "main", headCommittedAt: run.headCommittedAt, windowEmpty: run.commits.isEmpty,
                        mailmap: nil, in: tx)
                    try await complete(claimed, in: tx)
                }
            }
        }
        for claimed in try await claim(PipelineJobs.CommitBackfill.queue) {
            let job = try claimed.arguments(as: PipelineJobs.CommitBackfill.self)
            guard let run = runs[job.repositoryID] else {
                _ = try await queue.release(claimed)
                continue
            }
            switch run.target {
            case .backfilling(let progress):
                try await store.transaction { tx in
                    try await begin(job, claimed, in: tx)
                    try await tx.reportStageProgress(progress, stage: .backfilling, ofRepository: job.repositoryID, now: clock.now())
                }
            case .analyzing, .ready:
                try await store.transaction { tx in
                    try await begin(job, claimed, in: tx)
                    try await tx.insertCommits(run.commits, repository: job.repositoryID)
                    try await lifecycle.backfillFinished(job, windowStart: clock.now().addingTimeInterval(-schedule.window.seconds), in: tx)
                    try await complete(claimed, in: tx)
                }
            default:
                _ = try await queue.release(claimed)
            }
        }
        for claimed in try await claim(PipelineJobs.HealthAnalysis.queue) {
            let job = try claimed.arguments(as: PipelineJobs.HealthAnalysis.self)
            guard let run = runs[job.repositoryID] else {
                _ = try await queue.release(claimed)
                continue
            }
            switch run.target {
            case .analyzing(let progress):
                try await store.transaction { tx in
                    try await begin(job, claimed, in: tx)
                    try await tx.reportStageProgress(progress, stage: .analyzing, ofRepository: job.repositoryID, now: clock.now())
                }
            case .ready:
                // As HealthAnalysisHandler does: begin, store the Scorecard result, then record the analysis and complete
                // the job in one transaction — whose finish hook lets the lifecycle write the report.
                try await store.transaction { try await begin(job, claimed, in: $0) }
                let at = clock.now()
                let result = StoredScorecard(
                    headCommit: run.head, commandKey: "scorecard \(run.scorecard.scorecard.version) --format=json --show-details",
                    version: run.scorecard.scorecard.version, reportJSON: run.scorecard.json(),
                    aggregate: ScorecardReport.aggregate(of: run.scorecard.checks),
                    erroredChecks: run.scorecard.checks.filter { $0.reason.hasPrefix("internal error:") }.map(\.name), exitCode: 0,
                    createdAt: at, expiresAt: at.addingTimeInterval(86_400))
                try await store.transaction { try await $0.storeScorecard(result, repository: job.repositoryID, durationMilliseconds: 41_000) }
                try await store.transaction { tx in
                    try await lifecycle.analysisFinished(job, in: tx)
                    try await complete(claimed, in: tx)
                }
            default:
                _ = try await queue.release(claimed)
            }
        }
    }

    func add(_ url: String, alerts: String, notes: String?, at date: Date) async throws -> (entry: UUID, repository: UUID) {
        try await store.transaction { tx in
            let added = try await tx.addToWatchlist(
                userID: user, url: try RepositoryURL(parsing: url), alertsJSON: alerts, notes: notes, now: date)
            try await lifecycle.added(repository: added.entry.repository.id, in: tx)
            return (added.entry.entry.id, added.entry.repository.id)
        }
    }

    // The big one first, alone on the queue: its history is played with the clock walking through the year, one run per
    // report (the add, then re-checks), the last one an hour ago.
    let bigName = "github.com/ossf/scorecard"
    let commits = history(
        count: options.commits, authors: 30, from: now.addingTimeInterval(-364 * day), to: now.addingTimeInterval(-2 * 3600), using: &rng)
    let runTimes = (0..<options.reports).map { i in
        now.addingTimeInterval(-3600 - Double(options.reports - 1 - i) * (355 * day / Double(max(options.reports - 1, 1))))
    }
    clock.set(runTimes[0])
    let big = try await add(
        "https://\(bigName)", alerts: #"{"metric": "health", "score_drop": 3, "check_regressed": "any", "processing": true, "failed": true}"#,
        notes: "The benchmark's repository page: \(options.commits) commits, \(options.reports) reports.", at: runTimes[0])
    for (index, time) in runTimes.enumerated() {
        clock.set(time)
        if index > 0 {
            guard case .restarted = try await store.transaction({ try await lifecycle.recheck(repository: big.repository, in: $0) }) else {
                fail("the re-check of the big repository was refused")
            }
        }
        let head = commits.first { $0.committedAt <= time } ?? commits.last!
        try await play([
            big.repository: Run(
                target: .ready, head: head.sha, headCommittedAt: head.committedAt, commits: index == 0 ? commits : [],
                scorecard: scorecard(fixtures[0], repository: bigName, head: head.sha, at: time, drift: 1, using: &rng))
        ])
    }
    clock.set(nil)
    let reports = try await store.read { try await $0.healthReports(repository: big.repository, before: nil, limit: options.reports + 10) }
    guard reports.count == options.reports else { fail("the big repository has \(reports.count) reports, not \(options.reports)") }

    // The others: mostly ready, some processing at each stage, a few failed. Added in batches, each batch's jobs played.
    let others = options.entries - 1
    let failedCount = max(3, others * 3 / 100)
    let processingCount = max(8, others * 11 / 100)
    let failures = [
        PipelineFailure(reason: "not_found", message: "the remote answered 404: repository not found"),
        PipelineFailure(reason: "auth_required", message: "the remote asks for credentials: a private repository needs a token"),
        PipelineFailure(reason: "too_large", message: "the clone exceeded git.max_clone_bytes (2 GiB)"),
    ]
    let words = ["atlas", "beacon", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "iris", "juniper", "kepler", "lumen"]
    var batch: [UUID: Run] = [:]
    for n in 0..<others {
        // Every (others / processing + 1)-th entry is processing, at each stage in turn; every (others / failed)-th, offset
        // so as never to meet those, failed; the rest ready.
        let slot = others / processingCount + 1
        let target: Target
        if n % slot == 1 {
            switch (n / slot) % 4 {
            case 0: target = .queued
            case 1: target = .cloning(progress: Int.random(in: 0...90, using: &rng))
            case 2: target = .backfilling(progress: Int.random(in: 5...95, using: &rng))
            default: target = .analyzing(progress: Int.random(in: 0...80, using: &rng))
            }
        } else if n % (others / failedCount) == (others / failedCount) / 2 && n % slot != 1 {
            target = .failed(failures[n % failures.count])
        } else {
            target = .ready
        }
        let owner = "\(words[n % words.count])-labs-\(n / words.count)"
        let name = "\(words[(n * 7 + 3) % words.count])-\(n)"
        let active = Int.random(in: 0..<10, using: &rng) > 1
        let repositoryCommits = active
            ? history(count: Int.random(in: 1...60, using: &rng), authors: Int.random(in: 1...6, using: &rng),
                from: now.addingTimeInterval(-360 * day), to: now.addingTimeInterval(-Double.random(in: 1...90, using: &rng) * day), using: &rng)
            : []
        let head = repositoryCommits.first?.sha ?? rng.sha()
        let headCommittedAt = repositoryCommits.first?.committedAt ?? now.addingTimeInterval(-Double.random(in: 400...1500, using: &rng) * day)
        let added = try await add(
            "https://github.com/\(owner)/\(name)", alerts: #"{"processing": true, "failed": true}"#,
            notes: n % 5 == 0 ? "Dependency of the \(words[n % words.count]) service; owner: team \(n % 7)." : nil, at: now)
        batch[added.repository] = Run(
            target: target, head: head, headCommittedAt: headCommittedAt, commits: repositoryCommits,
            scorecard: scorecard(
                fixtures[n % 3 == 2 ? 1 : 0], repository: "github.com/\(owner)/\(name)", head: head, at: now, drift: 3, using: &rng))
        if batch.count == 50 || n == others - 1 {
            try await play(batch)
            batch = [:]
        }
    }

    // Nothing may be left for a worker but the jobs of the entries still processing.
    let statuses = try await store.read { tx in
        var counts: [String: Int] = [:]
        for row in try await tx.query(
            "SELECT r.status, COUNT(*) AS n FROM watchlist_entries e JOIN repositories r ON r.id = e.repository_id GROUP BY r.status")
        {
            counts[try row.require("status", row.string)] = Int(try row.require("n", row.int))
        }
        return counts
    }
    guard statuses.values.reduce(0, +) == options.entries else { fail("seeded \(statuses) entries, not \(options.entries)") }
    if store.dialect == .postgres { _ = try await store.write("ANALYZE") }
    return (key, big.entry, statuses)
}

// MARK: - HTTP over a plain socket

/// One HTTP/1.1 answer as it came off the wire.
struct Answer {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Status line, headers, body and any chunk framing: every byte of the answer.
    var wireBytes: Int
    var headerBytes: Int
    var firstByte: Duration
    var lastByte: Duration

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    func all(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A kept-alive HTTP/1.1 connection on a blocking socket (see the top of the file for why).
final class Connection {
    let port: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    /// Connections opened, so that a server closing kept-alive connections shows.
    private(set) var opened = 0

    init(port: Int) { self.port = port }
    deinit { if fd >= 0 { close(fd) } }

    private func connect() throws {
        if fd >= 0 { close(fd) }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket(): \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            fd = -1
            throw BenchError("connect to 127.0.0.1:\(port): \(message)")
        }
        buffer = []
        opened += 1
    }

    /// Sends a request and reads its whole answer.
    func send(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8] = []) throws -> Answer {
        if fd < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method == "POST" || !body.isEmpty { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw BenchError("send(): \(String(cString: strerror(errno)))") }
            sent += n
        }
        var firstByte: Duration?
        var wire = 0
        /// Reads more bytes into the buffer; false at the end of the stream.
        func fill() throws -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw BenchError("recv(): \(String(cString: strerror(errno)))") }
            if n == 0 { return false }
            if firstByte == nil { firstByte = clock.now - start }
            wire += n
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        func line() throws -> String {
            while true {
                if let end = buffer.firstIndex(of: 10) {
                    let text = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: .init(charactersIn: "\r"))
                    buffer.removeSubrange(...end)
                    return text
                }
                guard try fill() else { throw BenchError("the server closed the connection mid-answer") }
            }
        }
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            while buffer.count < count {
                guard try fill() else { throw BenchError("the server closed the connection mid-body") }
            }
            let bytes = buffer[..<count]
            buffer.removeSubrange(..<count)
            return bytes
        }
        // Bytes left in the buffer from an earlier answer would be a protocol error: there are none (one request at a time).
        precondition(buffer.isEmpty)
        let statusLine = try line()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw BenchError("not an HTTP status line: \(statusLine)") }
        var answerHeaders: [(name: String, value: String)] = []
        while true {
            let text = try line()
            if text.isEmpty { break }
            guard let colon = text.firstIndex(of: ":") else { throw BenchError("bad header line: \(text)") }
            answerHeaders.append((String(text[..<colon]), text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let headerBytes = wire - buffer.count
        var answer = Answer(status: status, headers: answerHeaders, body: [], wireBytes: 0, headerBytes: headerBytes, firstByte: .zero, lastByte: .zero)
        if method == "HEAD" || status == 204 || status == 304 {
            // No body.
        } else if answer.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try line()
                guard let size = Int(sizeLine.split(separator: ";").first.map(String.init) ?? "", radix: 16) else {
                    throw BenchError("bad chunk size: \(sizeLine)")
                }
                if size == 0 {
                    while try !line().isEmpty {}  // trailers
                    break
                }
                answer.body += try take(size)
                _ = try take(2)
            }
        } else if let length = answer.header("Content-Length").flatMap(Int.init) {
            answer.body = Array(try take(length))
        } else {
            while try fill() {}
            answer.body = buffer
            buffer = []
        }
        answer.wireBytes = wire
        answer.firstByte = firstByte ?? .zero
        answer.lastByte = clock.now - start
        if answer.header("Connection")?.lowercased() == "close" {
            close(fd)
            fd = -1
        }
        return answer
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}


// MARK: - Reading the pages

/// A start or end tag of an HTML document, with its attributes (values unescaped).
struct Tag {
    var name: String
    var closing: Bool
    var attributes: [String: String]

    func has(class name: String) -> Bool { attributes["class"]?.split(separator: " ").contains { $0 == name } ?? false }
}

/// The tags of `html`, in order (comments, doctype, and what script and style elements hold skipped).
func tags(_ html: String) -> [Tag] {
    let bytes = Array(html.utf8)
    var tags: [Tag] = []
    var i = 0
    func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 || b == 0x0C }
    func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&#x27;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
    func find(_ needle: String, from start: Int) -> Int? {
        let n = Array(needle.utf8)
        var j = start
        while j + n.count <= bytes.count {
            if bytes[j] == n[0] && Array(bytes[j..<(j + n.count)]).map({ $0 | 0x20 }) == n.map({ $0 | 0x20 }) { return j }
            j += 1
        }
        return nil
    }
    while i < bytes.count {
        guard bytes[i] == UInt8(ascii: "<") else {
            i += 1
            continue
        }
        if bytes[i...].starts(with: Array("<!--".utf8)) {
            i = (find("-->", from: i).map { $0 + 3 }) ?? bytes.count
            continue
        }
        i += 1
        guard i < bytes.count else { break }
        if bytes[i] == UInt8(ascii: "!") || bytes[i] == UInt8(ascii: "?") {
            while i < bytes.count && bytes[i] != UInt8(ascii: ">") { i += 1 }
            continue
        }
        var tag = Tag(name: "", closing: false, attributes: [:])
        if bytes[i] == UInt8(ascii: "/") {
            tag.closing = true
            i += 1
        }
        let nameStart = i
        while i < bytes.count && !isSpace(bytes[i]) && bytes[i] != UInt8(ascii: ">") && bytes[i] != UInt8(ascii: "/") { i += 1 }
        tag.name = String(decoding: bytes[nameStart..<i], as: UTF8.self).lowercased()
        guard !tag.name.isEmpty, tag.name.first!.isLetter else { continue }
        // Attributes.
        while i < bytes.count && bytes[i] != UInt8(ascii: ">") {
            if isSpace(bytes[i]) || bytes[i] == UInt8(ascii: "/") {
                i += 1
                continue
            }
            let attributeStart = i
            while i < bytes.count && !isSpace(bytes[i]) && bytes[i] != UInt8(ascii: "=") && bytes[i] != UInt8(ascii: ">") { i += 1 }
            let name = String(decoding: bytes[attributeStart..<i], as: UTF8.self).lowercased()
            var value = ""
            while i < bytes.count && isSpace(bytes[i]) { i += 1 }
            if i < bytes.count && bytes[i] == UInt8(ascii: "=") {
                i += 1
                while i < bytes.count && isSpace(bytes[i]) { i += 1 }
                if i < bytes.count && (bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'")) {
                    let quote = bytes[i]
                    i += 1
                    let valueStart = i
                    while i < bytes.count && bytes[i] != quote { i += 1 }
                    value = String(decoding: bytes[valueStart..<min(i, bytes.count)], as: UTF8.self)
                    i += 1
                } else {
                    let valueStart = i
                    while i < bytes.count && !isSpace(bytes[i]) && bytes[i] != UInt8(ascii: ">") { i += 1 }
                    value = String(decoding: bytes[valueStart..<i], as: UTF8.self)
                }
            }
            tag.attributes[name] = unescape(value)
        }
        i += 1
        tags.append(tag)
        if !tag.closing && (tag.name == "script" || tag.name == "style"), let end = find("</\(tag.name)", from: i) { i = end }
    }
    return tags
}

/// The tags inside the element `name` with `id`, up to its end tag (nested elements of the same name counted).
func inside(_ tags: [Tag], element name: String, id: String) -> [Tag]? {
    guard let start = tags.firstIndex(where: { !$0.closing && $0.name == name && $0.attributes["id"] == id }) else { return nil }
    var depth = 0
    for index in start..<tags.count where tags[index].name == name {
        depth += tags[index].closing ? -1 : 1
        if depth == 0 { return Array(tags[(start + 1)..<index]) }
    }
    return Array(tags[(start + 1)...])
}

/// Checks the watchlist page; returns a description of what it holds, or a list of what is wrong.
func checkWatchlist(_ answer: Answer, entries: Int) -> Result<String, BenchError> {
    guard answer.status == 200 else { return .failure(BenchError("GET /watchlist answered \(answer.status)")) }
    let all = tags(answer.text)
    guard let table = inside(all, element: "table", id: "watchlist") else { return .failure(BenchError("no table#watchlist")) }
    let rows = table.filter { !$0.closing && $0.name == "tr" && $0.attributes["data-entry-id"] != nil }
    let ids = Set(rows.compactMap { $0.attributes["data-entry-id"] })
    var problems: [String] = []
    if rows.count != entries || ids.count != entries {
        problems.append("table#watchlist has \(rows.count) rows with data-entry-id (\(ids.count) distinct), not \(entries)")
    }
    let progress = table.filter { !$0.closing && $0.name == "progress" && $0.attributes["data-role"] == "progress" }.count
    if progress != entries { problems.append("\(progress) progress[data-role=progress], not \(entries)") }
    let links = table.filter { !$0.closing && $0.name == "a" && $0.has(class: "repo-link") }.count
    if links != entries { problems.append("\(links) a.repo-link, not \(entries)") }
    if !problems.isEmpty { return .failure(BenchError(problems.joined(separator: "; "))) }
    let statuses = Dictionary(grouping: rows, by: { $0.attributes["data-status"] ?? "?" }).mapValues(\.count)
    return .success("\(rows.count) rows (" + statuses.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")")
}

func checkRepositoryPage(_ answer: Answer, reports: Int, checks: Int) -> Result<String, BenchError> {
    guard answer.status == 200 else { return .failure(BenchError("the repository page answered \(answer.status)")) }
    let all = tags(answer.text)
    var problems: [String] = []
    let bars = inside(all, element: "svg", id: "commits-chart")?.filter { !$0.closing && $0.name == "rect" && $0.has(class: "bar") }.count
    if bars != 52 { problems.append("svg#commits-chart has \(bars.map(String.init) ?? "no svg") rect.bar, not 52") }
    let points = inside(all, element: "svg", id: "health-chart")?.filter { !$0.closing && $0.name == "circle" && $0.has(class: "point") }.count
    if points != reports { problems.append("svg#health-chart has \(points.map(String.init) ?? "no svg") circle.point, not \(reports)") }
    let checkRows = inside(all, element: "table", id: "checks")?.filter { !$0.closing && $0.name == "tr" && $0.has(class: "check") }.count
    if checkRows != checks { problems.append("table#checks has \(checkRows.map(String.init) ?? "no table") tr.check, not \(checks)") }
    // The rows of table#top-authors' body (all its rows but the first when it has no tbody).
    let authors = inside(all, element: "table", id: "top-authors").map { table -> Int in
        let rows = table.filter { !$0.closing && $0.name == "tr" }.count
        guard let body = table.firstIndex(where: { !$0.closing && $0.name == "tbody" }) else { return max(rows - 1, 0) }
        return table[body...].filter { !$0.closing && $0.name == "tr" }.count
    }
    if authors == nil || authors == 0 { problems.append("table#top-authors is missing or has no rows") }
    if !all.contains(where: { $0.attributes["id"] == "health-score" }) { problems.append("no #health-score") }
    if !problems.isEmpty { return .failure(BenchError(problems.joined(separator: "; "))) }
    return .success("\(bars!) bars, \(points!) points, \(checkRows!) checks, \(authors!) top authors")
}

// MARK: - Main

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dashboard-bench-\(UUID().uuidString)")
let dataDir = options.dataDir ?? scratch.appendingPathComponent("data").path
try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
let serverBinary = options.server
    ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("repowatch").path
guard FileManager.default.isExecutableFile(atPath: serverBinary) else { fail("no repowatch binary at \(serverBinary) (build it, or pass --server)") }

// The SQLite file where `serve --data-dir` looks for it.
let sqlitePath: String
do {
    sqlitePath = try Settings.load(environment: [:], overrides: .init(dataDir: dataDir)).sqlitePath
} catch {
    fail("cannot resolve the data folder's SQLite file: \(error)")
}
let store: any Store = try await StoreFactory.open(databaseURL: options.databaseURL, sqlitePath: sqlitePath, logger: logger)
let seedStart = ContinuousClock.now
let seeded = try await withRunningStore(store) { store in
    try await store.waitUntilReachable()
    try await store.migrate(logger: logger)
    return try await seed(store, options: options, fixtures: fixtures)
}
note(String(format: "%@: seeded %d entries (%@) and the big one's %d commits and %d reports in %.1f s", engine, options.entries,
    seeded.statuses.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "), options.commits, options.reports,
    (ContinuousClock.now - seedStart) / .seconds(1)))

// The server: no background work, warnings only (a log line per request would be measured too).
let port = try LoopbackSocket.freePort()
var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REPOWATCH_") && $0.key != "DATABASE_URL" }
environment["REPOWATCH_WORKERS_CONCURRENCY"] = "repository-setup=0,commit-backfill=0,health-analysis=0,maintenance=0,webhook-delivery=0"
var arguments = [options.role, "--data-dir", dataDir, "--port", "\(port)", "--log-level", "warning"]
if let url = options.databaseURL { arguments += ["--database-url", url] }
let server = try await ChildProcess.start(serverBinary, arguments, environment: environment)
note("\(engine): repowatch \(options.role) on port \(port), pid \(server.pid)")
@MainActor func stopServer() async {
    server.send(SIGTERM)
    _ = await server.waitForExit()
}
@MainActor func abort(_ message: String) async -> Never {
    await stopServer()
    FileHandle.standardError.write(Data("--- server stderr (last 3000 characters) ---\n\(server.stderr.suffix(3000))\n".utf8))
    fail(message)
}

let connection = Connection(port: port)
let browserHeaders: [(String, String)] = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) dashboard-bench"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "en-GB,en;q=0.9"),
]
do {
    let deadline = ContinuousClock.now + .seconds(60)
    while true {
        if server.hasExited { await abort("the server exited before it was ready") }
        if let answer = try? Connection(port: port).send("GET", "/health/ready", headers: []), answer.status == 200 { break }
        if ContinuousClock.now > deadline { await abort("the server did not answer /health/ready with 200 within 60 s") }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// `headers` with their Accept-Encoding replaced by `encoding`.
func accepting(_ encoding: String, _ headers: [(String, String)]) -> [(String, String)] {
    headers.map { $0.0 == "Accept-Encoding" ? ($0.0, encoding) : $0 }
}

/// The cookies a Set-Cookie list sets, by name.
func cookies(_ answer: Answer) -> [String: String] {
    var jar: [String: String] = [:]
    for header in answer.all("Set-Cookie") {
        let pair = header.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        guard let equals = pair.firstIndex(of: "=") else { continue }
        jar[pair[..<equals].trimmingCharacters(in: .whitespaces)] = String(pair[pair.index(after: equals)...])
    }
    return jar
}
func formEncode(_ fields: [(String, String)]) -> [UInt8] {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return Array(fields.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
}

// Sign in as a browser: the form (and its pre-session cookie), then the form posted back. (Uncompressed: this client
// reads the form's token and does not decompress.)
let session: String
do {
    let signInHeaders = accepting("identity", browserHeaders)
    let form = try connection.send("GET", "/sign-in", headers: signInHeaders)
    guard form.status == 200 else { await abort("GET /sign-in answered \(form.status)") }
    guard let signin = cookies(form)["rw_signin"] else { await abort("GET /sign-in set no rw_signin cookie: \(form.all("Set-Cookie"))") }
    let formTags = tags(form.text)
    guard let token = formTags.first(where: { $0.name == "input" && $0.attributes["name"] == "csrf_token" })?.attributes["value"], !token.isEmpty
    else { await abort("the sign-in form has no csrf_token input") }
    let posted = try connection.send(
        "POST", "/sign-in",
        headers: signInHeaders + [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://127.0.0.1:\(port)"),
            ("Referer", "http://127.0.0.1:\(port)/sign-in"), ("Cookie", "rw_signin=\(signin)"),
        ],
        body: formEncode([("api_key", seeded.key), ("csrf_token", token)]))
    guard posted.status == 303, let cookie = cookies(posted)["rw_session"], !cookie.isEmpty else {
        await abort("POST /sign-in answered \(posted.status), Set-Cookie \(posted.all("Set-Cookie")): \(posted.text.prefix(500))")
    }
    session = cookie
}
let pageHeaders = browserHeaders + [("Cookie", "rw_session=\(session)")]

struct Page {
    let name: String
    let path: String
    let check: (Answer) -> Result<String, BenchError>
}
let pages = [
    Page(name: "watchlist (\(options.entries) entries)", path: "/watchlist") { checkWatchlist($0, entries: options.entries) },
    Page(name: "repository (\(options.commits) commits, \(options.reports) reports)", path: "/watchlist/\(seeded.bigEntry.uuidString.lowercased())") {
        checkRepositoryPage($0, reports: options.reports, checks: fixtures[0].checks.count)
    },
]

struct Measured {
    var page: Page
    /// What the requests' Accept-Encoding said.
    var acceptEncoding: String
    var firstByte: [Double]  // milliseconds
    var lastByte: [Double]
    var bodyBytes: [Int]
    var wireBytes: [Int]
    var headerBytes: Int
    var encoding: String?
    var contentType: String?
    var holds: String
    /// The server's CPU time per measured request, in milliseconds.
    var serverCPU: Double?
    var load: (before: String, after: String)
}

/// CPU time (user + system) a process has used so far, from /proc: what the server spent, whatever else ran on the machine.
func cpuSeconds(of pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let paren = stat.lastIndex(of: ")") else { return nil }
    // After "pid (comm)": state is field 3, utime 14, stime 15 (proc(5)).
    let fields = stat[stat.index(after: paren)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The 1-minute load average, to tell a quiet machine from a busy one.
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
}

func percentile(_ p: Double, of values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
}
func milliseconds(_ duration: Duration) -> Double { duration / .milliseconds(1) }

var measured: [Measured] = []
// Each page twice: as a browser asks (gzip accepted), then with `Accept-Encoding: identity`, so one run shows what
// compression saves on the wire and what it costs the server.
for (page, acceptEncoding) in pages.flatMap({ page in ["gzip, deflate, br", "identity"].map { (page, $0) } }) {
    let pageHeaders = accepting(acceptEncoding, pageHeaders)
    // The check, on an uncompressed answer.
    let first = try connection.send("GET", page.path, headers: pageHeaders)
    var plain = first
    if let encoding = first.header("Content-Encoding"), encoding.lowercased() != "identity" {
        plain = try connection.send("GET", page.path, headers: accepting("identity", pageHeaders))
    }
    let holds: String
    switch page.check(plain) {
    case .success(let description): holds = description
    case .failure(let problem):
        let file = scratch.appendingPathComponent("bad-page.html")
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        try? Data(plain.body).write(to: file)
        await abort("\(engine): GET \(page.path) is not the page to measure: \(problem) (the answer is in \(file.path))")
    }
    note("\(engine): GET \(page.path): \(first.status), \(holds)")
    for _ in 0..<options.warmup { _ = try connection.send("GET", page.path, headers: pageHeaders) }
    var result = Measured(
        page: page, acceptEncoding: acceptEncoding, firstByte: [], lastByte: [], bodyBytes: [], wireBytes: [], headerBytes: first.headerBytes,
        encoding: first.header("Content-Encoding"), contentType: first.header("Content-Type"), holds: holds, serverCPU: nil,
        load: (loadAverage(), ""))
    let cpuBefore = cpuSeconds(of: server.pid)
    for _ in 0..<options.requests {
        let answer = try connection.send("GET", page.path, headers: pageHeaders)
        guard answer.status == 200 else { await abort("\(engine): GET \(page.path) answered \(answer.status) during the measurement") }
        result.firstByte.append(milliseconds(answer.firstByte))
        result.lastByte.append(milliseconds(answer.lastByte))
        result.bodyBytes.append(answer.body.count)
        result.wireBytes.append(answer.wireBytes)
    }
    if let before = cpuBefore, let after = cpuSeconds(of: server.pid) { result.serverCPU = (after - before) * 1000 / Double(options.requests) }
    result.load.after = loadAverage()
    measured.append(result)
}
let connectionsOpened = connection.opened
await stopServer()
try? FileManager.default.removeItem(at: scratch)

func bytes(_ values: [Int]) -> String {
    let low = values.min() ?? 0, high = values.max() ?? 0
    func format(_ n: Int) -> String {
        let text = String(n)
        var out = ""
        for (index, character) in text.enumerated() {
            if index > 0 && (text.count - index) % 3 == 0 { out += " " }
            out.append(character)
        }
        return out + String(format: " (%.1f KiB)", Double(n) / 1024)
    }
    return low == high ? format(low) : "\(format(low)) – \(format(high))"
}
var rows: [String] = []
for m in measured {
    rows.append(String(
        format: "| %@ | %@ | %@ | %d | %.2f ms | %.2f ms | %.2f ms | %@ | %@ | %@ | %@ |", engine, "GET \(m.page.name)", m.acceptEncoding, m.firstByte.count,
        percentile(0.5, of: m.firstByte), percentile(0.99, of: m.firstByte), percentile(0.5, of: m.lastByte),
        m.serverCPU.map { String(format: "%.1f ms", $0) } ?? "?", bytes(m.bodyBytes),
        bytes(m.wireBytes), m.encoding.map { "yes (\($0))" } ?? "no"))
}
print("| engine | page | Accept-Encoding | requests | median TTFB | p99 TTFB | median last byte | server CPU / request | body bytes | transferred bytes (headers + body) | compressed |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
rows.forEach { print($0) }
print()
for m in measured {
    print("- \(engine), GET \(m.page.path), Accept-Encoding \(m.acceptEncoding): \(m.holds); Content-Type \(m.contentType ?? "none"); response headers \(m.headerBytes) bytes; load average \(m.load.before) before, \(m.load.after) after.")
}
// Per measured page: the check (twice when the first answer was compressed), the warm-up and the measured requests; and
// the sign-in's two.
let requestsSent = measured.map { options.requests + options.warmup + ($0.encoding == nil ? 1 : 2) }.reduce(2, +)
print("- \(engine): \(connectionsOpened) connection(s) opened for \(requestsSent) requests (kept alive).")
if let path = options.rows {
    let handle = FileManager.default.fileExists(atPath: path) ? FileHandle(forWritingAtPath: path) : {
        _ = FileManager.default.createFile(atPath: path, contents: nil)  // a failure shows as the nil handle below
        return FileHandle(forWritingAtPath: path)
    }()
    guard let handle else { fail("cannot write \(path)") }
    handle.seekToEndOfFile()
    handle.write(Data((rows.joined(separator: "\n") + "\n").utf8))
    handle.closeFile()
}
