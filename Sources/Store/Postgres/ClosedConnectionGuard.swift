import Foundation
import NIOCore
import PostgresNIO
import Synchronization

/// Keeps a query from waiting for ever on a connection that closed under it.
///
/// postgres-nio 1.33 writes a query to its channel without a promise (`channel.write(task, promise: nil)`): when
/// the channel has closed before the write runs — a database restart or failover closes every connection at once —
/// the write fails, the query's own promise is never completed, and the caller waits for ever, cancellation or not.
/// Found by the database outage test: after a PostgreSQL restart, a backfill's last transaction and an analysis
/// job's first read hung while their heartbeats kept their leases alive, stranding two entries in `processing`.
///
/// So every statement runs in a task of its own, and the caller waits for whichever comes first: the statement's
/// result, or the connection's close (one `closeFuture` callback per connection, ``ClosedConnectionWatch``), which
/// ends the wait with ``StoreError/unreachable(_:)``. A statement that was really dropped leaves its task suspended
/// (it holds nothing but the closed connection); the caller's pool lease is returned and the caller goes on.
enum ClosedConnectionGuard {
    static func run<T: Sendable>(
        on connection: PostgresConnection, _ statement: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard !connection.isClosed else { throw StoreError.unreachable("the database connection is closed") }
        let wait = Wait<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                wait.arm(continuation)
                let token = ClosedConnectionWatch.shared.add(connection) {
                    wait.finish(.failure(StoreError.unreachable("the database connection closed while a statement waited")))
                }
                // Closed meanwhile (the watch has answered already): the statement would only be dropped.
                guard !wait.isFinished else { return ClosedConnectionWatch.shared.remove(connection, token) }
                wait.start(Task {
                    let result: Result<T, any Error>
                    do { result = .success(try await statement()) } catch { result = .failure(error) }
                    ClosedConnectionWatch.shared.remove(connection, token)
                    wait.finish(result)
                })
            }
        } onCancel: {
            wait.cancel()
        }
    }

    /// One wait: resumed once, by the statement or by the close; the caller's cancellation reaches the statement.
    private final class Wait<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var task: Task<Void, Never>?
            var cancelled = false
        }
        private let state = Mutex(State())

        func arm(_ continuation: CheckedContinuation<T, any Error>) {
            state.withLock { $0.continuation = continuation }
        }

        /// True once the wait has been answered.
        var isFinished: Bool { state.withLock { $0.continuation == nil } }

        func start(_ task: Task<Void, Never>) {
            let cancelled = state.withLock { state -> Bool in
                state.task = task
                return state.cancelled
            }
            if cancelled { task.cancel() }
        }

        func finish(_ result: Result<T, any Error>) {
            state.withLock { state in
                defer { state.continuation = nil }
                return state.continuation
            }?.resume(with: result)
        }

        func cancel() {
            let task = state.withLock { state -> Task<Void, Never>? in
                state.cancelled = true
                return state.task
            }
            task?.cancel()
        }
    }
}

/// Calls back the statements waiting on a connection when it closes: one `closeFuture` callback per connection
/// (installed on first use, dropped at close), so a long-lived pool connection collects no callbacks.
final class ClosedConnectionWatch: Sendable {
    static let shared = ClosedConnectionWatch()

    private struct State {
        var next: UInt64 = 0
        var waiters: [ObjectIdentifier: [UInt64: @Sendable () -> Void]] = [:]
    }
    private let state = Mutex(State())

    /// Registers `onClose` for `connection`; the token removes it.
    func add(_ connection: PostgresConnection, _ onClose: @escaping @Sendable () -> Void) -> UInt64 {
        let key = ObjectIdentifier(connection)
        let (token, first) = state.withLock { state -> (UInt64, Bool) in
            state.next += 1
            let first = state.waiters[key] == nil
            state.waiters[key, default: [:]][state.next] = onClose
            return (state.next, first)
        }
        if first {
            // Runs at once when the connection has already closed.
            connection.closeFuture.whenComplete { [self] _ in
                let waiting = state.withLock { $0.waiters.removeValue(forKey: key) } ?? [:]
                for onClose in waiting.values { onClose() }
            }
        }
        return token
    }

    func remove(_ connection: PostgresConnection, _ token: UInt64) {
        let key = ObjectIdentifier(connection)
        state.withLock { _ = $0.waiters[key]?.removeValue(forKey: token) }
    }
}
