import Foundation
import Logging
import ServiceLifecycle

/// The only source of truth: entries, repositories, users, keys (and, later, the jobs that work on them).
///
/// Two implementations, ``SQLiteStore`` (the embedded default) and ``PostgresStore`` (many processes
/// on many hosts), pass one conformance suite. Queries are written once against ``SQLExecutor``
/// (see `Store+Watchlist.swift`, `Store+Keys.swift`); only connection handling differs.
///
/// A store is a `Service`: put it first in the `ServiceGroup`, so it outlives everything that uses it.
public protocol Store: Service, Sendable {
    var dialect: SQLDialect { get }
    /// Where the data lives, for messages: the SQLite path, or PostgreSQL's host, port and database (never a password).
    var location: String { get }

    /// Runs `body` inside one transaction: all of it commits, or none of it.
    /// On SQLite, transactions are serialised on the single writer connection (`BEGIN IMMEDIATE`). On
    /// PostgreSQL, a transaction the server aborts to break a deadlock runs again (at most three times), so
    /// `body` must do nothing but database work.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T

    /// Runs `body` with a connection for reads (autocommit; on SQLite one of the reader connections).
    func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T

    /// Runs one statement that writes, in a transaction of its own (autocommit: one round trip on
    /// PostgreSQL, no BEGIN/COMMIT; on SQLite it still takes the single writer).
    func write(_ sql: SQL) async throws -> [any SQLRow]

    /// True when ``listen(channel:_:)`` delivers notifications (PostgreSQL `LISTEN/NOTIFY`); SQLite polls.
    var supportsNotifications: Bool { get }

    /// Calls `handler` with the payload of every notification on `channel` until the task is cancelled
    /// (or the connection is lost: then it throws). `onReady` is called once the server listens, so a
    /// caller knows from when on no notification is missed. A notification is sent with
    /// `SELECT pg_notify(channel, payload)` inside a transaction (or by a trigger), so it is delivered
    /// only if that transaction commits. Returns at once where notifications are not supported.
    func listen(channel: String, onReady: @escaping @Sendable () -> Void, _ handler: @escaping @Sendable (String) -> Void) async throws

    /// A counter this process bumps after every write it commits, for caches of derived values: a
    /// value read while the counter had one value is stale once it has another. SQLite counts its
    /// writes; PostgreSQL, shared by many processes, returns 0 and announces changes by notification
    /// instead (``StatusNotifications``).
    var localWriteGeneration: UInt64 { get }

    /// Runs `body` while holding the cluster-wide lock `key`, or returns false at once when another
    /// process holds it. On PostgreSQL this is a session advisory lock on a connection kept for the
    /// whole of `body` (passed to it, so `body` can check that the connection, and so the lock, is
    /// still alive): if the process dies, the server drops the lock and another process takes over.
    /// On SQLite the one process that owns the file is always the holder.
    func withExclusiveLock(key: Int64, _ body: @Sendable (any SQLExecutor) async throws -> Void) async throws -> Bool
}

extension Store {
    /// ``listen(channel:onReady:_:)`` without a readiness callback.
    public func listen(channel: String, _ handler: @escaping @Sendable (String) -> Void) async throws {
        try await listen(channel: channel, onReady: {}, handler)
    }

    public var localWriteGeneration: UInt64 { 0 }

    /// Applies every pending migration (see ``Migrations``).
    public func migrate(logger: Logger) async throws {
        try await Migrations.apply(to: self, logger: logger)
    }

    /// Cheap round trip for readiness checks.
    public func ping() async throws {
        _ = try await read { try await $0.query("SELECT 1 AS one") }
    }

    /// Waits until the store answers, at most `timeout`. postgres-nio's pool keeps retrying an
    /// unreachable server for about a minute before it gives up; a command should say at once
    /// what is wrong instead.
    public func waitUntilReachable(timeout: Duration = .seconds(15)) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await self.ping()
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let reached = try await group.next() ?? false
            group.cancelAll()
            guard reached else {
                throw StoreError.unreachable("cannot reach the database at \(location) within \(timeout) (the log above has the cause)")
            }
        }
    }
}

/// Opens the store a configuration asks for.
public enum StoreFactory {
    /// - Parameters:
    ///   - databaseURL: `postgres://…` for PostgreSQL; nil or empty for the SQLite file.
    ///   - sqlitePath: the SQLite file used when `databaseURL` is not set.
    public static func open(databaseURL: String?, sqlitePath: String, logger: Logger) async throws -> any Store {
        if let databaseURL, !databaseURL.isEmpty {
            return try PostgresStore(configuration: PostgresURL.parse(databaseURL), logger: logger)
        }
        return try await SQLiteStore.open(path: sqlitePath, logger: logger)
    }
}

/// Runs `store` as a service for the duration of `body` (for one-shot commands and tests).
public func withRunningStore<T: Sendable>(_ store: any Store, _ body: (any Store) async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await store.run() }
        do {
            let result = try await body(store)
            group.cancelAll()
            try? await group.waitForAll()
            return result
        } catch {
            group.cancelAll()
            try? await group.waitForAll()
            throw error
        }
    }
}

/// Changes to what `GET /v1/watchlist/{id}/status` shows, announced on PostgreSQL by triggers
/// (migration 3) on the `repowatch_status` channel, so a process can cache status answers and drop them
/// the moment another process changes the repository: payload `r:<repository id>` when a repository
/// row changes or goes, `e:<entry id>` when an entry is deleted.
public enum StatusNotifications {
    public static let channel = "repowatch_status"
}
