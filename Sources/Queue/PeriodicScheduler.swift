import Foundation
import Logging
import ServiceLifecycle
import Store

/// A job enqueued on a schedule.
public struct PeriodicJob: Sendable {
    public let name: String
    public let schedule: Schedule
    /// Enqueues the job for the slot `scheduledAt`, inside the transaction that records the slot.
    public let enqueue: @Sendable (JobQueue, Date, any SQLExecutor) async throws -> Void

    public init<A: JobArguments>(name: String, schedule: Schedule, arguments: @escaping @Sendable (Date) -> A, options: JobOptions = .init()) {
        self.name = name
        self.schedule = schedule
        self.enqueue = { queue, slot, tx in
            var options = options
            options.uniqueKey = "periodic:\(name):\(Int64(slot.timeIntervalSince1970))"
            try await queue.enqueue(arguments(slot), options: options, in: tx)
        }
    }
}

/// Fires periodic jobs from exactly one process among all that share the database.
///
/// Leadership is a PostgreSQL session advisory lock held on a dedicated connection: if the leader
/// dies, its connection closes, the server frees the lock and a standby takes over within
/// `standbyInterval`. Each slot is recorded in `periodic_runs` with a compare-and-set in the same
/// transaction as its job, so even two leaders at once (a network partition, or two processes on
/// one SQLite file) fire a slot once. A new leader fires the latest missed slot once, not every one.
public final class PeriodicScheduler: Service, Sendable {
    public let queue: JobQueue
    public let jobs: [PeriodicJob]
    let standbyInterval: Duration
    let tick: Duration
    let migrations: MigrationService?
    let logger: Logger
    /// Any constant no other application on the database uses for an advisory lock.
    static let lockKey: Int64 = 0x5257_5343_4845_44  // "RWSCHED"

    public init(
        queue: JobQueue, jobs: [PeriodicJob], standbyInterval: Duration = .seconds(2), tick: Duration = .seconds(1),
        migrations: MigrationService? = nil, logger: Logger
    ) {
        self.queue = queue
        self.migrations = migrations
        self.jobs = jobs
        self.standbyInterval = standbyInterval
        self.tick = tick
        self.logger = logger
    }

    public func run() async throws {
        guard !jobs.isEmpty else { return try await gracefulShutdown() }
        try await migrations?.waitUntilDone()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let led = try await self.queue.store.withExclusiveLock(key: Self.lockKey) { lockConnection in
                        self.logger.info("became the scheduler leader", metadata: ["jobs": "\(self.jobs.map(\.name))"])
                        try await self.lead(lockConnection)
                    }
                    if led { self.logger.info("stepped down as scheduler leader") }
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    self.logger.warning("scheduler leadership lost", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: self.standbyInterval)
            }
        }
    }

    /// The leader's loop: fire due slots; check every tick that the lock's connection still lives.
    private func lead(_ lockConnection: any SQLExecutor) async throws {
        var next: [String: Date] = [:]
        let recorded = try await queue.store.read { try await $0.query("SELECT name, last_scheduled_at FROM periodic_runs") }
        var last: [String: Date] = [:]
        for row in recorded { last[try row.require("name", row.string)] = try row.date("last_scheduled_at") }
        let now = queue.now
        for job in jobs {
            next[job.name] = job.schedule.next(after: last[job.name] ?? now)
        }
        while !Task.isCancelled {
            _ = try await lockConnection.query("SELECT 1 AS alive")
            let now = queue.now
            for job in jobs {
                guard let slot = next[job.name], slot <= now else { continue }
                if try await fire(job, slot: slot) {
                    logger.debug("fired", metadata: ["job": "\(job.name)", "slot": "\(slot)"])
                }
                next[job.name] = job.schedule.next(after: now)
            }
            try await Task.sleep(for: tick)
        }
    }

    /// Records `slot` as fired and enqueues its job, atomically; false when the slot was already fired.
    func fire(_ job: PeriodicJob, slot: Date) async throws -> Bool {
        try await queue.store.transaction { tx in
            let advanced = try await tx.first("""
                INSERT INTO periodic_runs (name, last_scheduled_at) VALUES (\(job.name), \(slot))
                ON CONFLICT (name) DO UPDATE SET last_scheduled_at = excluded.last_scheduled_at
                WHERE periodic_runs.last_scheduled_at < excluded.last_scheduled_at
                RETURNING name
                """)
            guard advanced != nil else { return false }
            try await job.enqueue(self.queue, slot, tx)
            return true
        }
    }
}
