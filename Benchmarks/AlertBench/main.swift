import Domain
import Egress
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Pipeline
import Queue
import ServiceLifecycle
import Store
import Synchronization
import Webhooks

// alert-bench: the time from a report's commit to a webhook's receipt, as `make bench` reports it.
//
//   alert-bench [--database-url postgres://…] [--events 200] [--poll-interval 1s]
//
// One repository, one watchlist entry whose rules ask for the `processing` alert, one webhook whose endpoint is a
// receiver in this process on loopback. Each round is the owner's re-check completed by the lifecycle in one
// transaction — the report written, the alert raised, its delivery job enqueued — and the round's time is from that
// transaction's commit to the receiver's handler seeing the signed POST (the real webhook-delivery worker, handler and
// sender, through the egress policy). Rounds run one after another, each after a random pause of up to one poll
// interval. Without --database-url, on a new SQLite file.

struct Options {
    var databaseURL: String?
    var events = 200
    var pollInterval: Duration = .seconds(1)

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
            case "--events": events = Int(value()) ?? events
            case "--poll-interval": pollInterval = parseDuration(value()) ?? pollInterval
            default: fatalError("unknown argument \(arguments[i])")
            }
            i += 1
        }
    }
}

/// When each message arrived, by webhook-id.
final class Arrivals: Sendable {
    let times = Mutex<[String: ContinuousClock.Instant]>([:])
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
var logger = Logger(label: "alert-bench")
logger.logLevel = .warning

let store: any Store
if let url = options.databaseURL {
    store = PostgresStore(configuration: try PostgresURL.parse(url), logger: logger)
} else {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("alert-bench-\(UUID().uuidString)/bench.sqlite").path
    store = try await SQLiteStore.open(path: path, logger: logger)
}

let arrivals = Arrivals()
let router = Router()
router.post("hook") { request, _ -> Response in
    var request = request
    _ = try await request.collectBody(upTo: 1 << 20)
    let now = ContinuousClock.now
    if let id = request.headers[HTTPField.Name("webhook-id")!] { arrivals.times.withLock { $0[id] = now } }
    return Response(status: .noContent)
}
let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
let receiver = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in
        portContinuation.yield(channel.localAddress?.port ?? 0)
        portContinuation.finish()
    }, logger: logger)

let engine = options.databaseURL == nil ? "SQLite" : "PostgreSQL"
var latencies = try await withThrowingTaskGroup(of: Void.self) { tasks -> [Double] in
    var latencies: [Double] = []
    tasks.addTask { try await store.run() }
    let receiverGroup = ServiceGroup(configuration: .init(services: [.init(service: receiver)], gracefulShutdownSignals: [], logger: logger))
    let receiverTask = Task { try await receiverGroup.run() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next() else { fatalError("the receiver did not start") }
    try await store.waitUntilReachable()
    try await store.migrate(logger: logger)

    let secrets = try TokenCipher(base64Key: Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
    let bare = JobQueue(store: store, configuration: .init(maxAttempts: 3))
    let schedule = CheckSchedule(
        interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400), failureBackoff: .seconds(300))
    let lifecycle = Lifecycle(queue: bare, schedule: schedule)
    let queue = lifecycle.installed(on: bare)
    var registry = JobRegistry()
    registry.register(
        WebhookDeliveryHandler(
            sender: WebhookSender(
                egress: EgressPolicy(hosts: try HostPolicy(anyPublicHostAnd: ["127.0.0.1:\(port)"])), timeout: .seconds(10),
                connectTimeout: .seconds(5), maxResponseBytes: 16_384),
            secrets: secrets, disabling: .init(failures: 1000, duration: .seconds(86_400))))
    let workers = JobWorkers(
        queue: queue, registry: registry,
        configuration: .init(concurrency: [WebhookDeliveryJob.queue: 4], pollInterval: options.pollInterval), logger: logger)
    let workerGroup = ServiceGroup(configuration: .init(services: [.init(service: workers)], gracefulShutdownSignals: [], logger: logger))
    let workerTask = Task { try await workerGroup.run() }

    // The entry (ready, with a report) and the webhook.
    let now = Date()
    let head = String(repeating: "a", count: 40)
    let (repository, entry) = try await store.transaction { tx -> (UUID, UUID) in
        let user = try await tx.user(named: "bench", createIfMissing: true)!
        let added = try await tx.addToWatchlist(
            userID: user.id, url: try RepositoryURL(parsing: "https://github.com/bench/alerts-\(UUID().uuidString.prefix(8).lowercased())"), alertsJSON: #"{"processing": true}"#, notes: nil, now: now)
        let id = UUID.v7(at: now)
        let secret = WebhookSignature.newSecret()
        try await tx.insertWebhook(WebhookRecord(
            id: id, userID: user.id, url: "http://127.0.0.1:\(port)/hook", format: .standard, eventTypes: nil, entryIDs: nil, description: nil,
            secretSealed: try secrets.seal(secret, boundTo: id, purpose: WebhookDeliveryHandler.secretPurpose), createdAt: now, updatedAt: now))
        return (added.entry.repository.id, added.entry.entry.id)
    }

    /// Completes the run under way: setup, backfill and analysis recorded for its generation, then the lifecycle's
    /// reconcile writes the report (and the alert, and its delivery) — one transaction, as the last stage's end is.
    func completeRun() async throws {
        try await store.transaction { tx in
            guard let work = try await tx.repositoryWork(id: repository) else { fatalError("repository gone") }
            let generation = work.generation
            try await tx.recordSetup(
                ofRepository: repository, generation: generation, head: head, branch: "main", headCommittedAt: now, windowEmpty: false, mailmap: nil)
            try await tx.recordBackfill(ofRepository: repository, generation: generation, head: head, windowStart: now.addingTimeInterval(-365 * 86_400), keep: 1000)
            try await tx.storeScorecard(
                StoredScorecard(
                    headCommit: head, commandKey: "bench", version: "v0", reportJSON: #"{"score": 7, "checks": []}"#, aggregate: 7,
                    erroredChecks: [], exitCode: 0, createdAt: Date(), expiresAt: Date().addingTimeInterval(86_400)),
                repository: repository, durationMilliseconds: 1)
            try await tx.recordAnalysis(ofRepository: repository, generation: generation, head: head)
            guard case .completed = try await lifecycle.reconcile(repository: repository, in: tx) else { fatalError("the run did not complete") }
        }
    }

    try await completeRun()  // the first report (its processing alert is the add's: not measured)
    try await Task.sleep(for: .seconds(2))
    arrivals.times.withLock { $0.removeAll() }
    for _ in 0..<options.events {
        // A random pause first: alerts come at random moments, not just after the worker's last poll (rounds that
        // followed each other at once would all wait a whole poll interval on SQLite).
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...Int(options.pollInterval.seconds * 1000))))
        _ = try await store.transaction { try await lifecycle.recheck(repository: repository, requestedBy: entry, in: $0) }
        try await completeRun()
        let committed = ContinuousClock.now
        let notification = try await store.read { tx in
            try await tx.alertEvents(visibleTo: nil, entry: entry, after: nil, limit: 100_000).last?.event.notificationID
        }
        let id = "msg_" + (notification?.lowercased ?? "")
        let deadline = ContinuousClock.now + .seconds(30)
        while arrivals.times.withLock({ $0[id] }) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .microseconds(200)) }
        guard let arrived = arrivals.times.withLock({ $0[id] }) else { fatalError("message \(id) did not arrive within 30 s") }
        latencies.append(max(0, (arrived - committed).seconds) * 1000)
    }
    await workerGroup.triggerGracefulShutdown()
    try await workerTask.value
    await receiverGroup.triggerGracefulShutdown()
    try await receiverTask.value
    tasks.cancelAll()
    return latencies
}

latencies.sort()
func percentile(_ p: Double, of sorted: [Double]) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
print(String(
    format: "%@: report commit → webhook received, %d events (jobs.poll_interval %@): median %.1f ms, p99 %.1f ms, max %.1f ms",
    engine, latencies.count, "\(options.pollInterval)", percentile(0.5, of: latencies), percentile(0.99, of: latencies), latencies.last ?? 0))
