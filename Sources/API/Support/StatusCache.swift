import Foundation
import Logging
import ServiceLifecycle
import Store
import Synchronization

/// Answers of `GET /v1/watchlist/{id}/status`, kept so that polling costs no database round trip.
///
/// An answer is dropped the moment what it shows may have changed:
/// - on PostgreSQL, triggers announce every change to a repository and every deleted entry
///   (``StatusNotifications``), whichever process made it; the cache answers only while its
///   ``StatusCacheInvalidator`` listens, and is emptied whenever that connection is lost;
/// - on SQLite, any write this process commits empties it (``Store/localWriteGeneration``).
///
/// `maxAge` bounds what neither sees (another process writing the same SQLite file). An answer read
/// before an invalidation is never stored after it (the generation check), so a cached answer is
/// never older than the last change the cache was told of. Visibility is checked on every hit.
final class StatusCache: Sendable {
    struct Answer: Sendable {
        let owner: UUID
        let repositoryID: UUID
        let body: Data
        let etag: String
        fileprivate let storedAt: ContinuousClock.Instant
        fileprivate let storeGeneration: UInt64
    }

    /// Taken before the database read whose answer may be stored.
    struct Ticket: Sendable {
        fileprivate let generation: UInt64
        fileprivate let storeGeneration: UInt64
    }

    private struct State {
        var answers: [UUID: Answer] = [:]
        /// Bumped by every invalidation: a ticket from before it cannot store.
        var generation: UInt64 = 0
        var enabled: Bool
    }

    private let state: Mutex<State>
    private let store: any Store
    let maxAge: Duration
    let capacity: Int

    /// - Parameter enabled: false until an invalidator listens (PostgreSQL); true where the store's own
    ///   write counter is enough (SQLite).
    init(store: any Store, maxAge: Duration, capacity: Int = 50_000, enabled: Bool) {
        self.store = store
        self.maxAge = maxAge
        self.capacity = capacity
        self.state = Mutex(State(enabled: enabled && maxAge > .zero))
    }

    /// The cached answer for entry `id`, if it is still current.
    func answer(for id: UUID) -> Answer? {
        let storeGeneration = store.localWriteGeneration
        return state.withLock { state in
            guard state.enabled, let answer = state.answers[id] else { return nil }
            guard answer.storeGeneration == storeGeneration, ContinuousClock.now - answer.storedAt < maxAge else {
                state.answers[id] = nil
                return nil
            }
            return answer
        }
    }

    func ticket() -> Ticket {
        let storeGeneration = store.localWriteGeneration
        return state.withLock { Ticket(generation: $0.generation, storeGeneration: storeGeneration) }
    }

    /// Keeps an answer read after `ticket` was taken, unless something was invalidated since.
    func store(_ id: UUID, owner: UUID, repositoryID: UUID, body: Data, etag: String, ticket: Ticket) {
        state.withLock { state in
            guard state.enabled, state.generation == ticket.generation else { return }
            // Bounded: when full, start over (answers are cheap to make again).
            if state.answers.count >= capacity { state.answers.removeAll(keepingCapacity: true) }
            state.answers[id] = Answer(
                owner: owner, repositoryID: repositoryID, body: body, etag: etag, storedAt: .now, storeGeneration: ticket.storeGeneration)
        }
    }

    /// A notification payload: `r:<repository id>` or `e:<entry id>`; anything else empties the cache.
    func invalidate(payload: String) {
        let id = UUID(uuidString: String(payload.dropFirst(2)))
        state.withLock { state in
            state.generation &+= 1
            switch (payload.prefix(2), id) {
            case ("r:", let id?): state.answers = state.answers.filter { $0.value.repositoryID != id }
            case ("e:", let id?): state.answers[id] = nil
            case ("a:", _): break  // an alert: no status answer shows it
            default: state.answers.removeAll()
            }
        }
    }

    /// Turns answering from the cache on (the invalidator listens) or off (it does not; emptied).
    func setEnabled(_ enabled: Bool) {
        state.withLock { state in
            state.generation &+= 1
            state.answers.removeAll()
            state.enabled = enabled && maxAge > .zero
        }
    }

    var isEnabled: Bool { state.withLock { $0.enabled } }
}

/// Listens for ``StatusNotifications`` and keeps the ``StatusCache`` exact (PostgreSQL): the cache
/// answers only while this listens; a lost connection turns it off until listening again.
struct StatusCacheInvalidator: Service {
    let store: any Store
    let cache: StatusCache
    let logger: Logger

    func run() async throws {
        // Graceful shutdown cancels the listening loop; nothing of it needs finishing.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.listen(channel: StatusNotifications.channel, onReady: { cache.setEnabled(true) }) { payload in
                        cache.invalidate(payload: payload)
                    }
                } catch {
                    if !Task.isCancelled {
                        logger.warning("status notifications lost; answering status from the database", metadata: ["error": "\(error)"])
                    }
                }
                cache.setEnabled(false)
                try? await Task.sleep(for: .seconds(1))
            }
        }
        cache.setEnabled(false)
    }
}
