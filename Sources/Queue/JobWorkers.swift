import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// The workers of one process: for each configured queue, up to N jobs at a time, claimed in batches.
///
/// A swift-service-lifecycle `Service`. On graceful shutdown it stops claiming (a claim waiting for the
/// database is cancelled), lets running jobs finish within `shutdownGrace`, then cancels the rest and gives
/// their jobs back (without using up an attempt). Those last writes get `shutdownWriteGrace` more; a write
/// still waiting then (the database is gone) is abandoned, its job's lease lapses and another worker runs
/// it again — so shutdown takes at most `shutdownGrace + shutdownWriteGrace`, whatever the database's state. Idle workers wake on PostgreSQL `NOTIFY` within milliseconds of an enqueue's
/// commit, and poll every `pollInterval` as the fallback (and on SQLite). Every worker also rescues
/// expired leases, so recovery does not hang on one leader staying alive.
public final class JobWorkers: Service, Sendable {
    public struct Configuration: Sendable {
        /// Queue name → how many of its jobs may run at once in this process.
        public var concurrency: [String: Int]
        /// Queue name → how many jobs to claim ahead of free slots (fewer round trips for short jobs).
        /// A prefetched job that waits longer than a third of its lease before it starts is given back
        /// unrun, so prefetching never lets a lease lapse on a job that has not started.
        public var prefetch: [String: Int]
        public var pollInterval: Duration
        public var rescueInterval: Duration
        public var shutdownGrace: Duration
        /// After `shutdownGrace`, how long the writes recording the last outcomes (completed, failed, given back)
        /// may still wait for the database before they are abandoned.
        public var shutdownWriteGrace: Duration
        /// Identifies this process in `lease_owner`: host, pid and a random suffix.
        public var workerID: String

        public init(
            concurrency: [String: Int], prefetch: [String: Int] = [:], pollInterval: Duration = .seconds(1),
            rescueInterval: Duration = .seconds(5), shutdownGrace: Duration = .seconds(30), shutdownWriteGrace: Duration = .seconds(5),
            workerID: String = JobWorkers.defaultWorkerID()
        ) {
            self.concurrency = concurrency.filter { $0.value > 0 }
            self.prefetch = prefetch.filter { $0.value > 0 }
            self.pollInterval = pollInterval
            self.rescueInterval = rescueInterval
            self.shutdownGrace = shutdownGrace
            self.shutdownWriteGrace = shutdownWriteGrace
            self.workerID = workerID
        }
    }

    public let queue: JobQueue
    public let registry: JobRegistry
    public let configuration: Configuration
    let migrations: MigrationService?
    let logger: Logger
    private let stopping = Mutex(false)
    private let wakers: [String: AsyncStream<Void>.Continuation]
    private let streams: Mutex<[String: AsyncStream<Void>]>
    /// Successful jobs waiting to be marked completed, in batches (one statement per batch).
    private let completions = Mutex<[ClaimedJob]>([])
    private let completionSignal: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    /// Outcome writes under way (see ``finish(_:)``), abandoned once shutdown has waited long enough.
    private let writes = PendingWrites()

    /// - Parameter migrations: when given, the workers start once it has brought the schema up to date.
    public init(queue: JobQueue, registry: JobRegistry, configuration: Configuration, migrations: MigrationService? = nil, logger: Logger) {
        self.queue = queue
        self.migrations = migrations
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        var wakers: [String: AsyncStream<Void>.Continuation] = [:]
        var streams: [String: AsyncStream<Void>] = [:]
        for name in configuration.concurrency.keys {
            // Wake-ups coalesce: one pending signal is enough to make a loop look for work.
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            wakers[name] = continuation
            streams[name] = stream
        }
        self.wakers = wakers
        self.streams = Mutex(streams)
        self.completionSignal = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public static func defaultWorkerID() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host)-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    /// Wakes the loops of `queue` (all queues when nil).
    func wake(_ queue: String? = nil) {
        if let queue {
            wakers[queue]?.yield()
        } else {
            for waker in wakers.values { waker.yield() }
        }
    }

    public func run() async throws {
        try await migrations?.waitUntilDone()
        let loops = streams.withLock { $0 }
        logger.info("workers starting", metadata: [
            "worker": "\(configuration.workerID)", "queues": "\(configuration.concurrency.sorted { $0.key < $1.key })",
            "kinds": "\(registry.kinds)", "wakeups": "\(queue.store.supportsNotifications ? "notify+poll" : "poll")",
        ])
        let abandonWrites = Mutex<Task<Void, Never>?>(nil)
        defer { abandonWrites.withLock { $0?.cancel() } }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { helpers in
                if queue.store.supportsNotifications {
                    helpers.addTask { await self.listen() }
                }
                helpers.addTask { await self.rescueLoop() }
                helpers.addTask { await self.pollTimer() }
                helpers.addTask { await self.completionLoop() }
                await withTaskGroup(of: Void.self) { runners in
                    for (name, stream) in loops {
                        runners.addTask {
                            await self.runQueue(
                                name, concurrency: self.configuration.concurrency[name] ?? 1,
                                prefetch: self.configuration.prefetch[name] ?? 0, wakeups: stream)
                        }
                    }
                }
                // Every queue loop has drained: record the last completions, then stop the helpers.
                await self.flushCompletions()
                helpers.cancelAll()
            }
        } onGracefulShutdown: {
            self.stopping.withLock { $0 = true }
            for waker in self.wakers.values { waker.finish() }
            let (writes, limit) = (self.writes, self.configuration.shutdownGrace + self.configuration.shutdownWriteGrace)
            abandonWrites.withLock {
                $0 = Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    writes.abandon()
                }
            }
        }
        logger.info("workers stopped", metadata: ["worker": "\(configuration.workerID)"])
    }

    // MARK: One queue

    private func runQueue(_ name: String, concurrency: Int, prefetch: Int, wakeups: AsyncStream<Void>) async {
        let inFlight = InFlight()
        let kinds = registry.kinds
        // A prefetched job must start within a third of its lease, or it is given back unrun.
        let maxWait = queue.configuration.lease / 3
        await withDiscardingTaskGroup { jobs in
            var wakeups = wakeups.makeAsyncIterator()
            var buffer: [(job: ClaimedJob, claimed: ContinuousClock.Instant)] = []
            while !isStopping {
                // Prefetched jobs that have waited a third of their lease go back unrun now, even while
                // every slot stays busy (the poll timer wakes this loop): their lease never lapses unrun.
                let instant = ContinuousClock.now
                let expired = buffer.filter { instant - $0.claimed > maxWait }
                if !expired.isEmpty {
                    buffer.removeAll { instant - $0.claimed > maxWait }
                    for (job, _) in expired { await finish { _ = try await self.queue.release(job) } }
                }
                var free = concurrency - inFlight.count
                var claimedFullBatch = false
                if free > 0 && buffer.isEmpty {
                    // Claim the free slots (and the prefetch) in one statement.
                    let limit = free + prefetch
                    do {
                        // The leases start somewhere inside the claim's round trip: a prefetched job's wait is counted
                        // from before it (under load the round trip itself can take seconds), never from after.
                        let asked = ContinuousClock.now
                        // A claim waiting for an unreachable database must not hold up shutdown.
                        let claimed = try await cancelWhenGracefulShutdown {
                            try await self.queue.claim(queue: name, limit: limit, owner: self.configuration.workerID, kinds: kinds)
                        }
                        buffer = claimed.map { ($0, asked) }
                        claimedFullBatch = claimed.count == limit
                    } catch {
                        if !isStopping {
                            logger.warning("claim failed", metadata: ["queue": "\(name)", "error": "\(String(reflecting: error))"])
                        }
                    }
                }
                while free > 0 && !buffer.isEmpty {
                    let (job, claimed) = buffer.removeFirst()
                    if ContinuousClock.now - claimed > maxWait {
                        await finish { _ = try await self.queue.release(job) }
                        continue
                    }
                    free -= 1
                    inFlight.add(1)
                    jobs.addTask {
                        await self.execute(job)
                        inFlight.add(-1)
                        self.wake(name)
                    }
                }
                // More may be waiting (a full batch, or prefetched jobs): look again without sleeping.
                if free > 0 && (claimedFullBatch || !buffer.isEmpty) { continue }
                guard await wakeups.next() != nil else { break }
            }
            // Prefetched jobs that never started go back to the queue, attempts untouched.
            for (job, _) in buffer {
                await finish { _ = try await self.queue.release(job) }
            }
            // Shutting down: give running jobs the grace period, then cancel them (they give their jobs back).
            let deadline = ContinuousClock.now + configuration.shutdownGrace
            while inFlight.count > 0 && ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if inFlight.count > 0 {
                logger.warning("grace period over; releasing running jobs", metadata: ["queue": "\(name)", "jobs": "\(inFlight.count)"])
                jobs.cancelAll()
            }
        }
    }

    // MARK: One job

    enum Outcome: Sendable {
        case succeeded
        case failed(any Error)
        case leaseLost
        case timedOut(Duration)
    }

    func execute(_ job: ClaimedJob) async {
        let logger = {
            var logger = self.logger
            logger[metadataKey: "job"] = "\(job.id)"
            logger[metadataKey: "kind"] = "\(job.kind)"
            logger[metadataKey: "attempt"] = "\(job.attempt)"
            return logger
        }()
        queue.metrics?.started(job)
        let started = ContinuousClock.now
        guard let entry = registry.entry(for: job.kind) else {
            await finish { _ = try await self.queue.fail(job, error: JobFailure.permanent("no handler for kind \(job.kind)")) }
            return
        }
        let context = JobContext(job: job, queue: queue, logger: logger, workerID: configuration.workerID)
        let heartbeatEvery = configuration.leaseInterval(queue.configuration.lease(for: job.kind))

        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    try await entry.run(job, context)
                    return .succeeded
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                // Heartbeat at a third of the lease (QUEUE-NOTES: renewing at the lease itself duplicates work).
                while !Task.isCancelled {
                    do { try await Task.sleep(for: heartbeatEvery) } catch { return nil }
                    do {
                        if try await !self.queue.heartbeat(job) { return .leaseLost }
                    } catch {
                        logger.warning("heartbeat failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
                return nil
            }
            if let timeout = entry.timeout {
                group.addTask {
                    do { try await Task.sleep(for: timeout) } catch { return nil }
                    return .timedOut(timeout)
                }
            }
            var result: Outcome = .failed(CancellationError())
            while let next = await group.next() {
                if let next {
                    result = next
                    break
                }
            }
            group.cancelAll()
            return result
        }
        queue.metrics?.runTime(job, ContinuousClock.now - started)

        // The outcome is written even when this task is being cancelled (shutdown), in a task of its own.
        let shuttingDown = Task.isCancelled
        await finish {
            switch outcome {
            case .succeeded:
                // Marked completed in the next batch (see completionLoop), still fenced by the lease token.
                self.completions.withLock { $0.append(job) }
                self.completionSignal.continuation.yield()
            case .leaseLost:
                logger.warning("lease lost (expired or cancelled); stopped the handler")
            case .timedOut(let limit):
                _ = try await self.queue.fail(job, error: JobTimedOut(limit: limit))
            case .failed(let error as LeaseLost):
                logger.warning("\(error)")
            case .failed(let error) where error is CancellationError || shuttingDown:
                if try await self.queue.release(job) { logger.info("released at shutdown") }
            case .failed(let error):
                let state = try await self.queue.fail(job, error: error)
                logger.log(level: state == .discarded ? .error : .warning, "attempt failed", metadata: [
                    "error": "\(error)", "next": "\(state?.rawValue ?? "lease lost")",
                ])
            }
        }
    }

    /// Runs a final status write to completion even if the caller is cancelled — unless shutdown has already
    /// waited `shutdownGrace + shutdownWriteGrace`: then the write is cancelled, and the job's lease lapses.
    private func finish(_ write: @escaping @Sendable () async throws -> Void) async {
        let logger = self.logger
        let task = Task {
            do {
                try await write()
            } catch where Task.isCancelled {
                logger.error("shutdown could not record a job's outcome in time; its lease will lapse and it will run again")
            } catch {
                logger.error("could not record a job's outcome", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
        let id = writes.add(task)
        await task.value
        writes.remove(id)
    }

    // MARK: Completions

    /// Marks finished jobs completed, as many per statement as have piled up since the last one.
    private func completionLoop() async {
        for await _ in completionSignal.stream {
            await flushCompletions()
        }
    }

    func flushCompletions() async {
        while true {
            let batch = completions.withLock { pending -> [ClaimedJob] in
                let batch = Array(pending.prefix(500))
                pending.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            await finish {
                let done = try await self.queue.complete(batch)
                let missed = batch.filter { !done.contains($0.id) }
                guard !missed.isEmpty else { return }
                // A job completed inside its handler's own transaction is already `completed`; any other
                // miss lost its lease (expired and rescued, or cancelled): its result does not count.
                for job in missed {
                    let state = try await self.queue.job(id: job.id)?.state
                    if state != .completed {
                        self.logger.warning("lease lost before completion; result dropped", metadata: [
                            "job": "\(job.id)", "state": "\(state?.rawValue ?? "deleted")",
                        ])
                    }
                }
            }
        }
    }

    // MARK: Helpers

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await queue.store.listen(channel: JobQueue.channel) { [weak self] payload in self?.wake(payload) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; polling until it is back", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func pollTimer() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.pollInterval) } catch { return }
            wake()
        }
    }

    private func rescueLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.rescueInterval) } catch { return }
            do {
                let rescued = try await queue.rescueExpiredLeases()
                if !rescued.isEmpty {
                    logger.warning("rescued jobs whose lease expired", metadata: ["jobs": "\(rescued.map { "\($0.id)→\($0.state.rawValue)" })"])
                    wake()
                }
            } catch {
                logger.warning("rescue failed", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }
}

extension JobWorkers.Configuration {
    /// Heartbeats run at a third of the lease.
    func leaseInterval(_ lease: Duration) -> Duration { lease / 3 }
}

/// An attempt ran longer than its kind's timeout.
public struct JobTimedOut: Error, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "timed out after \(limit)" }
}

/// The outcome writes under way; once abandoned (shutdown waited long enough), every one is cancelled,
/// and so is any started later.
final class PendingWrites: Sendable {
    private struct State {
        var next = 0
        var tasks: [Int: Task<Void, Never>] = [:]
        var abandoned = false
    }
    private let state = Mutex(State())

    func add(_ task: Task<Void, Never>) -> Int {
        let (id, abandoned) = state.withLock { state -> (Int, Bool) in
            state.next += 1
            if !state.abandoned { state.tasks[state.next] = task }
            return (state.next, state.abandoned)
        }
        if abandoned { task.cancel() }
        return id
    }

    func remove(_ id: Int) { _ = state.withLock { $0.tasks.removeValue(forKey: id) } }

    func abandon() {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.abandoned = true
            defer { state.tasks = [:] }
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
    }
}

/// Jobs running on one queue loop, shared with the tasks that run them.
final class InFlight: Sendable {
    private let value = Atomic<Int>(0)
    var count: Int { value.load(ordering: .relaxed) }
    func add(_ delta: Int) { value.add(delta, ordering: .relaxed) }
}
