import Logging
import ServiceLifecycle
import Synchronization

/// Brings the schema up to date once the store runs, then lets the services that need the schema
/// (workers, scheduler, the HTTP server) go ahead. A run-once service: after migrating it waits for
/// shutdown, so finishing does not stop its group; a failed migration stops the group.
public final class MigrationService: Service, Sendable {
    let store: any Store
    let logger: Logger
    private let state = Mutex<(result: Result<Void, any Error>?, waiters: [CheckedContinuation<Void, any Error>])>((nil, []))

    public init(store: any Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await store.waitUntilReachable()
            try await store.migrate(logger: logger)
            finish(.success(()))
        } catch {
            finish(.failure(error))
            throw error
        }
        try? await gracefulShutdown()
    }

    /// Returns once the schema is current; throws what the migration threw.
    public func waitUntilDone() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result = state.withLock { s -> Result<Void, any Error>? in
                if s.result == nil { s.waiters.append(continuation) }
                return s.result
            }
            if let result { continuation.resume(with: result) }
        }
    }

    private func finish(_ result: Result<Void, any Error>) {
        let waiters = state.withLock { s in
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
