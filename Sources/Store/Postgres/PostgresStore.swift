import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// The shared store: PostgreSQL through postgres-nio's connection pool.
///
/// Many `repowatch` processes on many hosts use one database; row locks (`FOR UPDATE SKIP LOCKED`),
/// unique indexes and advisory locks keep them from doing the same work twice.
public final class PostgresStore: Store {
    public var dialect: SQLDialect { .postgres }
    public let client: PostgresClient
    public let location: String
    private let logger: Logger

    public init(configuration: PostgresClient.Configuration, logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.location = "postgres " + (configuration.unixSocketPath ?? "\(configuration.host ?? "?"):\(configuration.port ?? 5432)")
            + "/\(configuration.database ?? configuration.username)"
        self.logger = logger
    }

    /// Runs the connection pool; it closes on graceful shutdown (after the services listed after it).
    public func run() async throws {
        await client.run()
    }

    /// Runs `body` in a transaction. When the server aborts it to break a deadlock (two transactions that
    /// lock the same rows in opposite orders, e.g. a stage's completion and another job's end reconciling
    /// one repository) or a serialization failure, the whole transaction runs again, at most three times:
    /// `body` only writes to the database, so running it again is safe.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await transactionOnce(body)
            } catch let error as PSQLError where attempt < 3 && Self.isTransient(error) {
                logger.notice("transaction aborted by the server; running it again", metadata: [
                    "sqlstate": "\(error.serverInfo?[.sqlState] ?? "?")", "attempt": "\(attempt)",
                ])
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...50)))
            }
        }
    }

    /// deadlock_detected and serialization_failure: the transaction did nothing, and may simply run again.
    static func isTransient(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == PostgresError.Code.deadlockDetected.raw || state == PostgresError.Code.serializationFailure.raw
    }

    /// BEGIN, `body`, COMMIT (ROLLBACK when `body` throws) on one pooled connection, every statement through
    /// ``PostgresExecutor`` — so that none of them can wait for ever on a connection that closed (postgres-nio's
    /// own `withTransaction` sends BEGIN and COMMIT where that guard cannot reach).
    private func transactionOnce<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let executor = PostgresExecutor(connection: connection, logger: logger)
            _ = try await executor.query("BEGIN")
            let value: T
            do {
                value = try await body(executor)
            } catch {
                // Callers see the error their body threw (an API error, a lost lease); a failed ROLLBACK is only logged.
                // In a task of its own: a cancelled caller (a job's timeout) must still end its transaction before the
                // connection goes back to the pool.
                do { _ = try await Task { try await executor.query("ROLLBACK") }.value } catch let rollbackError {
                    logger.warning("rollback failed", metadata: ["error": "\(String(reflecting: rollbackError))"])
                }
                throw error
            }
            _ = try await executor.query("COMMIT")
            return value
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(PostgresExecutor(connection: connection, logger: logger))
        }
    }

    public func write(_ sql: SQL) async throws -> [any SQLRow] {
        try await client.withConnection { connection in
            try await PostgresExecutor(connection: connection, logger: logger).query(sql)
        }
    }

    public var supportsNotifications: Bool { true }

    public func listen(channel: String, onReady: @escaping @Sendable () -> Void, _ handler: @escaping @Sendable (String) -> Void) async throws {
        // LISTEN is per connection: one connection is kept for it while the task runs.
        try await client.withConnection { connection in
            // postgres-nio calls the closure once the server has confirmed the LISTEN.
            try await connection.listen(on: channel) { notifications in
                onReady()
                for try await notification in notifications {
                    handler(notification.payload)
                }
            }
        }
    }

    public func withExclusiveLock(key: Int64, _ body: @Sendable (any SQLExecutor) async throws -> Void) async throws -> Bool {
        try await client.withConnection { connection in
            let executor = PostgresExecutor(connection: connection, logger: logger)
            let acquired = try await executor.first("SELECT pg_try_advisory_lock(\(key)) AS acquired")?.bool("acquired") ?? false
            guard acquired else { return false }
            do {
                try await body(executor)
            } catch {
                _ = try? await executor.query("SELECT pg_advisory_unlock(\(key))")
                throw error
            }
            _ = try? await executor.query("SELECT pg_advisory_unlock(\(key))")
            return true
        }
    }
}

struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    var dialect: SQLDialect { .postgres }

    func query(_ sql: SQL) async throws -> [any SQLRow] {
        let (text, values) = sql.render(for: .postgres)
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            switch value {
            case .null: bindings.appendNull()
            case .int(let v): bindings.append(v)
            case .double(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .bool(let v): bindings.append(v)
            case .date(let v): bindings.append(v)
            case .uuid(let v): bindings.append(v)
            case .json(let v): bindings.append(JSONText(text: v))
            }
        }
        // A statement on a connection that closes under it would wait for ever (see ClosedConnectionGuard).
        let (connection, logger, binds) = (self.connection, self.logger, bindings)
        do {
            let rows = try await ClosedConnectionGuard.run(on: connection) { () async throws -> [PostgresRow] in
                if sql.isPrepared, let slot = PreparedStatements.slot(for: text) {
                    return try await PreparedStatements.execute(slot: slot, bindings: binds, on: connection, logger: logger)
                }
                var rows: [PostgresRow] = []
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: text, binds: binds), logger: logger) {
                    rows.append(row)
                }
                return rows
            }
            return rows.map { PostgresRowReader(row: $0.makeRandomAccess()) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            throw StoreError.uniqueViolation(error.serverInfo?[.message] ?? "duplicate key")
        }
    }
}

/// JSON text bound as `json`, which keeps the text as sent (`jsonb` would refuse a `\u0000` escape);
/// PostgreSQL casts it on assignment to `jsonb` columns.
struct JSONText: PostgresNonThrowingEncodable {
    let text: String
    static var psqlType: PostgresDataType { .json }
    static var psqlFormat: PostgresFormat { .binary }
    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeString(text)
    }
}

struct PostgresRowReader: SQLRow {
    let row: PostgresRandomAccessRow

    private func decode<T: PostgresDecodable>(_ column: String, as: T.Type) throws -> T? where T._DecodableType == T {
        guard row.contains(column) else { throw StoreError.corrupt("no column \(column)") }
        return try row[column].decode(T?.self, context: .default)
    }

    func string(_ column: String) throws -> String? { try decode(column, as: String.self) }
    func int(_ column: String) throws -> Int64? { try decode(column, as: Int64.self) }
    func double(_ column: String) throws -> Double? { try decode(column, as: Double.self) }
    func bool(_ column: String) throws -> Bool? { try decode(column, as: Bool.self) }
    func date(_ column: String) throws -> Date? { try decode(column, as: Date.self) }
    func uuid(_ column: String) throws -> UUID? { try decode(column, as: UUID.self) }
}
