import Domain
import Foundation
import Synchronization

/// Remembers which caller a key belongs to for a few seconds, so a client polling its status does
/// not cost a key lookup per request. Only successful lookups are kept (a new key works at once);
/// a revoked key keeps working in a process that had it cached for at most `ttl` — the price,
/// documented with `api.key_cache_seconds`; 0 turns the cache off.
final class CallerCache: Sendable {
    private let ttl: Duration
    private let capacity: Int
    private let entries = Mutex<[String: (caller: Caller, expires: ContinuousClock.Instant)]>([:])

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    var isEnabled: Bool { ttl > .zero }

    func caller(for key: String) -> Caller? {
        guard isEnabled else { return nil }
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let hit = entries[key] else { return nil }
            if hit.expires > now { return hit.caller }
            entries[key] = nil
            return nil
        }
    }

    func remember(_ caller: Caller, for key: String) {
        guard isEnabled else { return }
        let expires = ContinuousClock.now + ttl
        entries.withLock { entries in
            // Bounded: when full, start over rather than track recency; refilling costs one lookup per key.
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (caller, expires)
        }
    }
}
