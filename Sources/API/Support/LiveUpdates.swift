import Foundation
import Logging
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
    }

    let store: any Store
    let logger: Logger
    private let subscribers = Mutex<[UUID: Subscriber]>([:])
    /// While false (SQLite, or PostgreSQL between a lost connection and a new LISTEN), streams also poll every second.
    private let listening = Atomic<Bool>(false)

    init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// A stream of wake-ups for the entry's changes; they coalesce (one pending wake-up is enough).
    /// - Returns: the subscription's id, its wake-ups, and the continuation (for the stream's own timer).
    func subscribe(repository: UUID, entry: UUID) -> (id: UUID, wakes: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation) {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        subscribers.withLock { $0[id] = Subscriber(repository: repository, entry: entry, wake: continuation) }
        return (id, stream, continuation)
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
                subscriber.wake.yield()
            }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            if self.store.supportsNotifications {
                await self.listen()
            } else {
                await self.followLocalWrites()
            }
        }
        // Streams end with the process: their loops see their wake-ups finish.
        subscribers.withLock { subscribers in
            for subscriber in subscribers.values { subscriber.wake.finish() }
            subscribers.removeAll()
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

    /// SQLite: every 100 ms, if this process wrote since, the rows written say whom to wake.
    private func followLocalWrites() async {
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
