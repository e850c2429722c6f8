import Domain
import Foundation
import Logging
import Queue
import ServiceLifecycle
import Store
import Synchronization
import TestSupport
import Testing

/// Records what ran, for assertions.
final class Ledger: Sendable {
    let runs = Mutex<[Int]>([])
    func record(_ n: Int) { runs.withLock { $0.append($0.count >= 0 ? n : n) } }
    var all: [Int] { runs.withLock { $0 } }
}

struct Work: JobArguments {
    static let kind = "test-work"
    static let queue = "work"
    let n: Int
    var sleepMilliseconds = 0
    var failTimes = 0
}

struct WorkHandler: JobHandler {
    let ledger: Ledger
    func handle(_ arguments: Work, context: JobContext) async throws {
        ledger.record(arguments.n)
        if context.job.attempt <= arguments.failTimes { throw TestFailure(message: "planned failure \(context.job.attempt)") }
        try await context.progress(50, "half way")
        if arguments.sleepMilliseconds > 0 { try await Task.sleep(for: .milliseconds(arguments.sleepMilliseconds)) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

@Suite("Workers and scheduler")
struct WorkerTests {
    static func queue(_ store: any Store, lease: Duration = .seconds(30)) -> JobQueue {
        JobQueue(store: store, configuration: .init(maxAttempts: 3, retry: RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(50), jitter: 0), lease: lease))
    }

    /// Runs `services` in a service group for the duration of `body`, then shuts them down gracefully.
    static func running(_ services: [any Service], _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: TestDatabase.logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body()
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test(arguments: Engine.allCases)
    func workersRunEveryJobOnceAndRetryFailures(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let queue = Self.queue(store)
            let ledger = Ledger()
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: ledger))
            let workers = JobWorkers(
                queue: queue, registry: registry,
                configuration: .init(concurrency: ["work": 4], pollInterval: .milliseconds(50)), logger: TestDatabase.logger)
            try await Self.running([workers]) { () async throws in
                try await store.transaction { tx in
                    for i in 0..<40 { try await queue.enqueue(Work(n: i), in: tx) }
                    try await queue.enqueue(Work(n: 100, failTimes: 1), in: tx)
                    try await queue.enqueue(Work(n: 200, failTimes: 5), in: tx)
                }
                let settled = try await waitUntil {
                    let stats = try await queue.stats(queues: ["work"]).first?.counts ?? [:]
                    return stats[.completed] == 41 && stats[.discarded] == 1
                }
                #expect(settled)
            }
            let runs = ledger.all
            #expect(runs.filter { $0 < 100 }.sorted() == Array(0..<40), "each job ran exactly once")
            #expect(runs.filter { $0 == 100 }.count == 2, "failed once, then succeeded")
            #expect(runs.filter { $0 == 200 }.count == 3, "three attempts, then discarded")
            let discarded = try await queue.list(state: .discarded)
            #expect(discarded.first?.errors.map(\.error) == ["planned failure 1", "planned failure 2", "planned failure 3"])
        }
    }

    /// Claiming ahead of free slots (prefetch) still runs every job exactly once and completes it.
    @Test(arguments: Engine.allCases)
    func prefetchingWorkersRunEveryJobOnce(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let queue = Self.queue(store)
            let ledger = Ledger()
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: ledger))
            let workers = JobWorkers(
                queue: queue, registry: registry,
                configuration: .init(concurrency: ["work": 2], prefetch: ["work": 18], pollInterval: .milliseconds(50)),
                logger: TestDatabase.logger)
            try await store.transaction { tx in
                for i in 0..<300 { try await queue.enqueue(Work(n: i), in: tx) }
            }
            try await Self.running([workers]) { () async throws in
                #expect(try await waitUntil { try await queue.stats(queues: ["work"]).first?.counts[.completed] == 300 })
            }
            #expect(ledger.all.sorted() == Array(0..<300))
            #expect(try await queue.stats(queues: ["work"]).first?.counts[.running] == nil)
        }
    }

    /// Jobs claimed ahead (prefetched) while the only slot stays busy for longer than the lease are given
    /// back unrun before their lease lapses: none loses an attempt or gets a "lease expired" error without
    /// having run, and every one then runs once.
    @Test(arguments: Engine.allCases)
    func prefetchedJobsWaitingBehindABusySlotKeepTheirAttempts(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            // A lease long enough that a loaded machine (the whole suite on two cores) cannot starve the give-back past it.
            let queue = Self.queue(store, lease: .seconds(6))
            let ledger = Ledger()
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: ledger))
            let workers = JobWorkers(
                queue: queue, registry: registry,
                configuration: .init(concurrency: ["work": 1], prefetch: ["work": 3], pollInterval: .milliseconds(50), rescueInterval: .milliseconds(100)),
                logger: TestDatabase.logger)
            try await store.transaction { tx in
                // The first holds the one slot for more than two leases (it heartbeats); the others are claimed with it.
                try await queue.enqueue(Work(n: 0, sleepMilliseconds: 13_000), options: .init(priority: 0), in: tx)
                for i in 1...3 { try await queue.enqueue(Work(n: i), options: .init(priority: 1), in: tx) }
            }
            try await Self.running([workers]) { () async throws in
                #expect(try await waitUntil(.seconds(60)) { try await queue.stats(queues: ["work"]).first?.counts[.completed] == 4 })
            }
            #expect(ledger.all.filter { $0 > 0 }.sorted() == [1, 2, 3], "each prefetched job ran once")
            for job in try await queue.list(queue: "work") where !job.argsJSON.contains("\"n\":0") {
                #expect(job.attempt == 1 && job.errors.isEmpty, "job \(job.id): attempt \(job.attempt), errors \(job.errors.map(\.error))")
            }
        }
    }

    /// Shutdown stops claiming, gives running jobs the grace period, then releases them without using an attempt.
    @Test(arguments: Engine.allCases)
    func gracefulShutdownReleasesWhatItCannotFinish(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let queue = Self.queue(store)
            let ledger = Ledger()
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: ledger))
            let workers = JobWorkers(
                queue: queue, registry: registry,
                configuration: .init(concurrency: ["work": 2], pollInterval: .milliseconds(50), shutdownGrace: .seconds(3)),
                logger: TestDatabase.logger)
            let quick = try await queue.enqueue(Work(n: 1, sleepMilliseconds: 100)).jobID
            let slow = try await queue.enqueue(Work(n: 2, sleepMilliseconds: 60_000)).jobID
            try await Self.running([workers]) { () async throws in
                #expect(try await waitUntil { ledger.all.count == 2 }, "both started")
            }
            #expect(try await queue.job(id: quick)?.state == .completed, "finished within the grace period")
            let released = try #require(try await queue.job(id: slow))
            #expect(released.state == .available, "given back, not failed")
            #expect(released.attempt == 0, "no attempt used up")
            #expect(released.errors.isEmpty)
        }
    }

    /// A handler that overruns its timeout fails the attempt; a kind nobody registered is never claimed.
    @Test(arguments: Engine.allCases)
    func timeoutsFailTheAttemptAndUnknownKindsWait(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let queue = Self.queue(store)
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: Ledger()), timeout: .milliseconds(100))
            let workers = JobWorkers(
                queue: queue, registry: registry, configuration: .init(concurrency: ["work": 1], pollInterval: .milliseconds(50)),
                logger: TestDatabase.logger)
            let id = try await queue.enqueue(Work(n: 1, sleepMilliseconds: 5_000), options: .init(maxAttempts: 1)).jobID
            let foreign = try await store.transaction { try await queue.enqueue(kind: "someone-elses", argsJSON: "{}", queue: "work", in: $0) }.jobID
            try await Self.running([workers]) { () async throws in
                #expect(try await waitUntil { try await queue.job(id: id)?.state == .discarded })
            }
            #expect(try await queue.job(id: id)?.errors.first?.error == "timed out after 0.1 seconds")
            #expect(try await queue.job(id: foreign)?.state == .available)
        }
    }

    /// A worker whose lease expires (it hung) has its job rescued by another worker; the first one's
    /// result is dropped. Here the "hung" worker is a claim made by hand that never reports back.
    @Test(arguments: Engine.allCases)
    func anotherWorkerRescuesAnAbandonedJob(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let queue = Self.queue(store, lease: .seconds(2))
            let ledger = Ledger()
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: ledger))
            let id = try await queue.enqueue(Work(n: 7)).jobID
            let abandoned = try #require(try await queue.claim(queue: "work", limit: 1, owner: "dead").first)
            let workers = JobWorkers(
                queue: queue, registry: registry,
                configuration: .init(concurrency: ["work": 1], pollInterval: .milliseconds(50), rescueInterval: .milliseconds(100)),
                logger: TestDatabase.logger)
            try await Self.running([workers]) { () async throws in
                #expect(try await waitUntil { try await queue.job(id: id)?.state == .completed })
            }
            let record = try #require(try await queue.job(id: id))
            #expect(record.attempt == 2)
            #expect(record.errors.map(\.error) == ["lease expired"])
            #expect(try await !queue.complete(abandoned), "the abandoned claim cannot complete it again")
        }
    }

    /// On PostgreSQL an enqueue wakes an idle worker through NOTIFY: with polling set to an hour, the
    /// job can only start because of the notification.
    @Test func notifyWakesAnIdleWorker() async throws {
        try await TestDatabase.withStore(.postgres) { store in
            let queue = Self.queue(store)
            let ledger = Ledger()
            var registry = JobRegistry()
            registry.register(WorkHandler(ledger: ledger))
            let workers = JobWorkers(
                queue: queue, registry: registry, configuration: .init(concurrency: ["work": 1], pollInterval: .seconds(3600)),
                logger: TestDatabase.logger)
            try await Self.running([workers]) { () async throws in
                // Let the worker do its first (empty) claim and start listening.
                try await Task.sleep(for: .milliseconds(500))
                let id = try await queue.enqueue(Work(n: 1)).jobID
                #expect(try await waitUntil(.seconds(20)) { try await queue.job(id: id)?.state == .completed })
            }
        }
    }

    struct Tick: JobArguments {
        static let kind = "tick"
        static let queue = "ticks"
        let slot: Date
    }

    /// Two schedulers on one database — two leaders at once, at worst — still fire each slot once.
    @Test(arguments: Engine.allCases)
    func twoSchedulersRacingFireEachSlotOnce(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let queue = Self.queue(store)
            let periodic = PeriodicJob(name: "tick", schedule: .every(.milliseconds(200)), arguments: { Tick(slot: $0) })
            let a = PeriodicScheduler(queue: queue, jobs: [periodic], standbyInterval: .milliseconds(50), tick: .milliseconds(20), logger: TestDatabase.logger)
            let b = PeriodicScheduler(queue: queue, jobs: [periodic], standbyInterval: .milliseconds(50), tick: .milliseconds(20), logger: TestDatabase.logger)
            try await Self.running([a, b]) { () async throws in
                #expect(try await waitUntil { try await queue.list(queue: "ticks").count >= 6 })
            }
            let jobs = try await queue.list(queue: "ticks", limit: 1000)
            let slots = try jobs.map { try JSONDecoder().decode(TickSlot.self, from: Data($0.argsJSON.utf8)).slot }
            #expect(Set(slots).count == slots.count, "no slot fired twice: \(slots.sorted())")
            #expect(Set(jobs.compactMap(\.uniqueKey)).count == jobs.count)
        }
    }

    struct TickSlot: Decodable { let slot: String }

    /// PostgreSQL: when the leader goes away, its advisory lock is freed and the standby takes over.
    @Test func aStandbySchedulerTakesOverWhenTheLeaderStops() async throws {
        try await TestDatabase.withStore(.postgres) { store in
            let queue = Self.queue(store)
            let periodic = PeriodicJob(name: "tick", schedule: .every(.milliseconds(100)), arguments: { Tick(slot: $0) })
            let leader = PeriodicScheduler(queue: queue, jobs: [periodic], standbyInterval: .milliseconds(50), tick: .milliseconds(20), logger: TestDatabase.logger)
            try await Self.running([leader]) { () async throws in
                #expect(try await waitUntil { try await !queue.list(queue: "ticks").isEmpty })
            }
            let before = try await queue.list(queue: "ticks", limit: 1000).count
            let standby = PeriodicScheduler(queue: queue, jobs: [periodic], standbyInterval: .milliseconds(50), tick: .milliseconds(20), logger: TestDatabase.logger)
            try await Self.running([standby]) { () async throws in
                #expect(try await waitUntil { try await queue.list(queue: "ticks", limit: 1000).count >= before + 3 })
            }
        }
    }

    @Test func cronExpressions() throws {
        let t = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15 08:00:00 UTC, a Friday
        #expect(try Schedule(parsing: "*/15 * * * *").next(after: t) == t.addingTimeInterval(15 * 60))
        #expect(try Schedule(parsing: "0 9 * * *").next(after: t) == t.addingTimeInterval(3600))
        #expect(try Schedule(parsing: "30 8 * * 1").next(after: t) == t.addingTimeInterval(3 * 86_400 + 30 * 60), "next Monday 08:30")
        #expect(try Schedule(parsing: "0 0 1 * *").next(after: t) == Date(timeIntervalSince1970: 1_801_440_000), "1 February 00:00")
        #expect(try Schedule(parsing: "@every 5m").next(after: t) == t.addingTimeInterval(300))
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "61 * * * *") }
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "* * *") }
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "@every soon") }
    }
}
