import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Store
import Synchronization

/// Wakes the live status streams of this process when their repository or entry changes, whichever process changed it.
///
/// - PostgreSQL: one `LISTEN` on ``StatusNotifications/channel`` (triggers announce every repository update `r:<id>`,
///   every alert `a:<entry id>`, every deleted entry `e:<entry id>`), so a change made by a worker on another host
///   reaches a stream here at once.
/// - SQLite (one process): after every write this process commits (``Store/localWriteGeneration``), the new
///   `state_changes` and `alert_events` rows say whom to wake.
///
/// A wake is a hint, never the data: a woken stream reads what changed from the store, and every stream also looks
/// by itself every ``LiveStream/heartbeat`` — so a lost notification delays a change, it never loses it.
final class LiveUpdates: Service, Sendable {
    struct Subscriber: Sendable {
        let repository: UUID
        let entry: UUID
        let wake: AsyncStream<Void>.Continuation
        let changed: ChangeFlag
        /// The write under way to the client, and its connection: a client that does not take it in time is dropped.
        let pending: PendingWrite
        let channel: any Channel
    }

    /// Set when something the stream shows may have changed (a notification, a local write, a missed stretch); the
    /// stream reads the store only then — a heartbeat alone costs no query while notifications flow.
    final class ChangeFlag: Sendable {
        private let value = Atomic<Bool>(true)
        func set() { value.store(true, ordering: .relaxed) }
        /// True once after each ``set()``.
        func take() -> Bool { value.exchange(false, ordering: .relaxed) }
    }

    let store: any Store
    let logger: Logger
    /// A client that has not taken a write for this long is disconnected.
    let slowClientTimeout: Duration
    private let subscribers = Mutex<[UUID: Subscriber]>([:])
    /// While false (SQLite, or PostgreSQL between a lost connection and a new LISTEN), streams also poll every second.
    private let listening = Atomic<Bool>(false)

    /// The schema the listener reads must exist first (on a new database it starts with the migrations).
    let migrations: MigrationService?

    init(store: any Store, slowClientTimeout: Duration, migrations: MigrationService? = nil, logger: Logger) {
        self.store = store
        self.migrations = migrations
        self.slowClientTimeout = slowClientTimeout
        self.logger = logger
    }

    /// A stream of wake-ups for the entry's changes; they coalesce (one pending wake-up is enough).
    /// - Returns: the subscription's id, its wake-ups, the continuation (for the stream's own timer), and the flag that
    ///   says whether a wake-up is for a change.
    func subscribe(
        repository: UUID, entry: UUID, pending: PendingWrite, channel: any Channel
    ) -> (id: UUID, wakes: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation, changed: ChangeFlag) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        let changed = ChangeFlag()
        subscribers.withLock {
            $0[id] = Subscriber(repository: repository, entry: entry, wake: continuation, changed: changed, pending: pending, channel: channel)
        }
        return (id, stream, continuation, changed)
    }

    func unsubscribe(_ id: UUID) {
        subscribers.withLock { $0.removeValue(forKey: id) }?.wake.finish()
    }

    var count: Int { subscribers.withLock { $0.count } }

    /// True when changes arrive by notification; streams then poll only at their heartbeat.
    var isListening: Bool { listening.load(ordering: .relaxed) }

    func wake(repositories: Set<UUID> = [], entries: Set<UUID> = [], all: Bool = false) {
        subscribers.withLock { subscribers in
            for subscriber in subscribers.values where all || repositories.contains(subscriber.repository) || entries.contains(subscriber.entry) {
                subscriber.changed.set()
                subscriber.wake.yield()
            }
        }
    }

    func run() async throws {
        // A failed migration stops the process elsewhere; here it only means there is nothing to follow.
        do { try await migrations?.waitUntilDone() } catch { return }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.dropSlowClients() }
                if self.store.supportsNotifications {
                    await self.listen()
                } else {
                    await self.followLocalWrites()
                }
                group.cancelAll()
            }
        }
        // Streams end with the process: their loops see their wake-ups finish.
        subscribers.withLock { subscribers in
            for subscriber in subscribers.values { subscriber.wake.finish() }
            subscribers.removeAll()
        }
    }

    /// Once a second: the connection of a client that has not taken a write for `slowClientTimeout` is closed, so the
    /// pending write fails and its stream ends. Nothing is buffered for it meanwhile (a stream writes only what it reads).
    private func dropSlowClients() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            let now = ContinuousClock.now
            let slow = subscribers.withLock { subscribers in
                subscribers.values.filter { subscriber in subscriber.pending.since.map { now - $0 > slowClientTimeout } ?? false }
            }
            for subscriber in slow {
                logger.info("dropping a live status client that stopped reading", metadata: ["entry": "\(subscriber.entry)"])
                subscriber.channel.close(promise: nil)
            }
        }
    }

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.listen(channel: StatusNotifications.channel, onReady: {
                    self.listening.store(true, ordering: .relaxed)
                    self.wake(all: true)  // whatever happened while not listening
                }) { payload in
                    guard payload.count > 2, let id = UUID(uuidString: String(payload.dropFirst(2))) else { return }
                    switch payload.prefix(2) {
                    case "r:": self.wake(repositories: [id])
                    case "a:", "e:": self.wake(entries: [id])
                    default: break
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.warning("live status notifications lost; streams poll until listening again", metadata: ["error": "\(error)"])
                }
            }
            listening.store(false, ordering: .relaxed)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// SQLite: every 100 ms, if this process wrote since, the rows written say whom to wake (a deleted entry is woken
    /// by the delete itself: ``wake(repositories:entries:all:)``).
    private func followLocalWrites() async {
        listening.store(true, ordering: .relaxed)
        defer { listening.store(false, ordering: .relaxed) }
        var generation = store.localWriteGeneration
        var (state, alert): (Int64, Int64) = (0, 0)
        do {
            state = try await store.read { try await $0.first("SELECT MAX(seq) AS seq FROM state_changes")?.int("seq") } ?? 0
            alert = try await store.read { try await $0.first("SELECT MAX(seq) AS seq FROM alert_events")?.int("seq") } ?? 0
        } catch {
            logger.warning("live status: cannot read where changes stand", metadata: ["error": "\(error)"])
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let now = store.localWriteGeneration
            guard now != generation else { continue }
            generation = now
            do {
                let (afterState, afterAlert) = (state, alert)
                let changes = try await store.read { try await $0.liveChanges(afterState: afterState, afterAlert: afterAlert) }
                (state, alert) = (changes.state, changes.alert)
                wake(repositories: changes.repositories, entries: changes.entries)
            } catch {
                wake(all: true)
            }
        }
    }
}
