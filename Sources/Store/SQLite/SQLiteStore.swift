import Domain
import Foundation
import Logging
import NIOCore
import SQLiteNIO
import ServiceLifecycle
import Synchronization

/// The embedded store: one SQLite file in WAL mode, no server to install.
///
/// SQLite allows one writer at a time, so every transaction runs on the single writer connection,
/// serialised here (`BEGIN IMMEDIATE`), instead of letting connections race for the lock and fail
/// with "database is locked" (rails/solid_queue#309). Reads run concurrently on a few reader
/// connections, which WAL lets see the last committed state without blocking the writer.
public final class SQLiteStore: Store {
    public var dialect: SQLDialect { .sqlite }
    public let path: String
    public var location: String { path }
    private let writer: SQLiteConnection
    private let writerLock = AsyncSemaphore(permits: 1)
    private let readers: Mutex<[SQLiteConnection]>
    private let allReaders: [SQLiteConnection]
    private let readerPermits: AsyncSemaphore
    private let logger: Logger
    private let closed = Mutex(false)
    private let writes = Atomic<UInt64>(0)

    /// Bumped after every write this process commits (see ``Store/localWriteGeneration``).
    public var localWriteGeneration: UInt64 { writes.load(ordering: .acquiring) }

    /// Opens (creating if needed) the database file at `path` and its folder.
    public static func open(path: String, readerCount: Int = 4, logger: Logger) async throws -> SQLiteStore {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw StoreError.configuration("cannot create the data folder \(folder): \(error.localizedDescription)")
            }
        }
        let writer: SQLiteConnection
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw StoreError.configuration("cannot open the SQLite database \(path): \(error)")
        }
        // WAL: readers never block the writer. synchronous=NORMAL is durable across process crashes
        // in WAL mode (a power loss may drop the last transactions, never corrupt the file).
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=10000"] {
            _ = try await writer.query(pragma)
        }
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, readerCount) {
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            for pragma in ["PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=10000", "PRAGMA query_only=1"] {
                _ = try await reader.query(pragma)
            }
            readers.append(reader)
        }
        return SQLiteStore(path: path, writer: writer, readers: readers, logger: logger)
    }

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], logger: Logger) {
        self.path = path
        self.writer = writer
        self.allReaders = readers
        self.readers = Mutex(readers)
        self.readerPermits = AsyncSemaphore(permits: readers.count)
        self.logger = logger
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await writerLock.withPermit {
            let executor = SQLiteExecutor(connection: writer)
            _ = try await writer.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(executor)
                _ = try await writer.query("COMMIT")
                writes.add(1, ordering: .releasing)
                return result
            } catch {
                // A ROLLBACK that fails (the transaction was already rolled back by SQLite) changes nothing.
                _ = try? await writer.query("ROLLBACK")
                throw error
            }
        }
    }

    public func write(_ sql: SQL) async throws -> [any SQLRow] {
        try await writerLock.withPermit {
            defer { writes.add(1, ordering: .releasing) }
            return try await SQLiteExecutor(connection: writer).query(sql)
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await readerPermits.withPermit {
            let connection = readers.withLock { $0.removeLast() }
            defer { readers.withLock { $0.append(connection) } }
            return try await body(SQLiteExecutor(connection: connection))
        }
    }

    public var supportsNotifications: Bool { false }

    public func listen(channel: String, onReady: @escaping @Sendable () -> Void, _ handler: @escaping @Sendable (String) -> Void) async throws {}

    public func withExclusiveLock(key: Int64, _ body: @Sendable (any SQLExecutor) async throws -> Void) async throws -> Bool {
        // One process owns an embedded database, so it always holds the lock. The body's liveness
        // checks borrow a reader per statement rather than keeping one for the leader's lifetime.
        try await body(SQLiteReadExecutor(store: self))
        return true
    }

    /// Waits until the service group shuts down, then closes the connections.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes every connection; later calls fail.
    public func close() async {
        let wasClosed = closed.withLock { c in
            defer { c = true }
            return c
        }
        guard !wasClosed else { return }
        // Closing must finish even when the caller was cancelled (shutdown is often a cancellation),
        // so it runs in a task of its own. It first waits for a running transaction to end.
        await Task { [writer, writerLock, allReaders] in
            try? await writerLock.wait()
            for connection in allReaders { try? await connection.close() }
            try? await writer.close()
        }.value
    }
}

/// Runs each statement on whichever reader connection is free.
struct SQLiteReadExecutor: SQLExecutor {
    let store: SQLiteStore
    var dialect: SQLDialect { .sqlite }
    func query(_ sql: SQL) async throws -> [any SQLRow] {
        try await store.read { try await $0.query(sql) }
    }
}

struct SQLiteExecutor: SQLExecutor {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: SQL) async throws -> [any SQLRow] {
        let (text, values) = sql.render(for: .sqlite)
        let binds = values.map(Self.encode)
        do {
            let rows = try await connection.query(text, binds)
            return rows.map(SQLiteRowReader.init)
        } catch let error as SQLiteError where error.reason == .constraint && error.message.contains("UNIQUE") {
            throw StoreError.uniqueViolation(error.message)
        }
    }

    static func encode(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .null: .null
        case .int(let v): .integer(Int(v))
        case .double(let v): .float(v)
        case .text(let v), .json(let v): .text(v)
        case .bool(let v): .integer(v ? 1 : 0)
        case .date(let d): .integer(Int((d.timeIntervalSince1970 * 1_000_000).rounded()))
        case .uuid(let u): .text(u.lowercased)
        }
    }
}

struct SQLiteRowReader: SQLRow {
    let row: SQLiteRow

    private func data(_ column: String) throws -> SQLiteData? {
        guard let data = row.column(column) else { throw StoreError.corrupt("no column \(column)") }
        return data.isNull ? nil : data
    }

    func string(_ column: String) throws -> String? {
        guard let d = try data(column) else { return nil }
        guard case .text(let s) = d else { throw StoreError.corrupt("\(column) is not text") }
        return s
    }
    func int(_ column: String) throws -> Int64? {
        guard let d = try data(column) else { return nil }
        guard case .integer(let i) = d else { throw StoreError.corrupt("\(column) is not an integer") }
        return Int64(i)
    }
    func double(_ column: String) throws -> Double? {
        guard let d = try data(column) else { return nil }
        switch d {
        case .float(let v): return v
        case .integer(let i): return Double(i)
        default: throw StoreError.corrupt("\(column) is not a number")
        }
    }
    func bool(_ column: String) throws -> Bool? {
        try int(column).map { $0 != 0 }
    }
    func date(_ column: String) throws -> Date? {
        try int(column).map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
    }
    func uuid(_ column: String) throws -> UUID? {
        guard let s = try string(column) else { return nil }
        guard let u = UUID(uuidString: s) else { throw StoreError.corrupt("\(column) is not a UUID") }
        return u
    }
}
