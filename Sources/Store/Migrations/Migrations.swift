import Foundation
import Logging

/// One versioned change to the schema, written once for both engines.
///
/// Column types are written as placeholders that each engine spells its own way:
/// `{uuid}` (uuid / TEXT), `{timestamp}` (timestamptz / INTEGER microseconds since 1970),
/// `{json}` (jsonb / TEXT), `{bool}` (boolean / INTEGER), `{bigint}` (bigint / INTEGER).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    func rendered(for dialect: SQLDialect) -> [String] {
        let types: [(String, String, String)] = [
            ("{uuid}", "TEXT", "uuid"),
            ("{timestamp}", "INTEGER", "timestamptz"),
            ("{json}", "TEXT", "jsonb"),
            ("{bool}", "INTEGER", "boolean"),
            ("{bigint}", "INTEGER", "bigint"),
        ]
        return statements.map { statement in
            types.reduce(statement) { text, type in
                text.replacingOccurrences(of: type.0, with: dialect == .sqlite ? type.1 : type.2)
            }
        }
    }
}

/// The ordered list of migrations and the code that applies them.
public enum Migrations {
    /// Every migration, oldest first. Append only: never edit one that has shipped.
    public static let all: [Migration] = [
        Migration(version: 1, name: "users, keys, repositories, watchlist entries", statements: [
            """
            CREATE TABLE users (
                id {uuid} PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                created_at {timestamp} NOT NULL
            )
            """,
            """
            CREATE TABLE api_keys (
                id {uuid} PRIMARY KEY,
                user_id {uuid} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                key_hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                is_admin {bool} NOT NULL,
                created_at {timestamp} NOT NULL,
                revoked_at {timestamp}
            )
            """,
            """
            CREATE TABLE repositories (
                id {uuid} PRIMARY KEY,
                canonical_url TEXT NOT NULL UNIQUE,
                scheme TEXT NOT NULL,
                host TEXT NOT NULL,
                port INTEGER,
                owner TEXT NOT NULL,
                name TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
                stage TEXT NOT NULL CHECK (stage IN ('queued', 'cloning', 'backfilling', 'analyzing', 'done')),
                progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
                refreshing {bool} NOT NULL DEFAULT FALSE,
                processing_started_at {timestamp},
                processing_completed_at {timestamp},
                last_error TEXT,
                head_commit TEXT,
                default_branch TEXT,
                next_check_at {timestamp},
                created_at {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL
            )
            """,
            // The scheduler's "which repositories are due" query walks this index, not the table.
            "CREATE INDEX repositories_next_check_at ON repositories (next_check_at) WHERE next_check_at IS NOT NULL",
            """
            CREATE TABLE watchlist_entries (
                id {uuid} PRIMARY KEY,
                user_id {uuid} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                repository_id {uuid} NOT NULL REFERENCES repositories(id),
                alerts {json} NOT NULL,
                notes TEXT,
                created_at {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL,
                UNIQUE (user_id, repository_id)
            )
            """,
            // Cursor pagination of one user's entries: WHERE user_id = ? AND id > ? ORDER BY id.
            "CREATE INDEX watchlist_entries_user_id_id ON watchlist_entries (user_id, id)",
            "CREATE INDEX watchlist_entries_repository_id ON watchlist_entries (repository_id)",
        ]),
    ]

    /// The newest version this binary knows.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Applies the pending migrations in one transaction.
    ///
    /// On PostgreSQL a transaction-scoped advisory lock makes processes that start together take
    /// turns; the second finds nothing left to do. On SQLite, `BEGIN IMMEDIATE` does the same.
    static func apply(to store: any Store, logger: Logger) async throws {
        let applied = try await store.transaction { tx -> [Int] in
            if tx.dialect == .postgres {
                // 0x5245_504f = "REPO": any constant that no other application on the database uses.
                try await tx.execute("SELECT pg_advisory_xact_lock(1380274255)")
            }
            try await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at \(sqlite: "INTEGER", postgres: "timestamptz") NOT NULL)")
            let done = Set(try await tx.query("SELECT version FROM schema_migrations").map { try $0.require("version", $0.int) })
            if let newest = done.max(), newest > latestVersion {
                throw StoreError.schemaTooNew(applied: Int(newest), known: latestVersion)
            }
            var appliedNow: [Int] = []
            for migration in all where !done.contains(Int64(migration.version)) {
                for statement in migration.rendered(for: tx.dialect) {
                    try await tx.execute(SQL(stringLiteral: statement))
                }
                try await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(Date()))")
                appliedNow.append(migration.version)
            }
            return appliedNow
        }
        if applied.isEmpty {
            logger.debug("schema is up to date", metadata: ["version": "\(latestVersion)"])
        } else {
            logger.info("applied migrations", metadata: ["versions": "\(applied)", "engine": "\(store.dialect.rawValue)"])
        }
    }
}
