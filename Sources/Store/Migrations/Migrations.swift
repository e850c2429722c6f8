import Foundation
import Logging

/// One versioned change to the schema, written once for both engines.
///
/// Column types are written as placeholders that each engine spells its own way:
/// `{uuid}` (uuid / TEXT), `{timestamp}` (timestamptz / INTEGER microseconds since 1970),
/// `{json}` (json, kept as sent / TEXT), `{jsonb}` (jsonb / TEXT), `{bool}` (boolean / INTEGER), `{bigint}` (bigint / INTEGER),
/// `{serial}` (identity / INTEGER PRIMARY KEY, SQLite's rowid), `{fillfactor}` (storage options / nothing).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    func rendered(for dialect: SQLDialect) -> [String] {
        let types: [(String, String, String)] = [
            ("{uuid}", "TEXT", "uuid"),
            ("{timestamp}", "INTEGER", "timestamptz"),
            ("{jsonb}", "TEXT", "jsonb"),
            ("{json}", "TEXT", "json"),
            ("{bool}", "INTEGER", "boolean"),
            ("{bigint}", "INTEGER", "bigint"),
            ("{serial}", "INTEGER", "bigint GENERATED ALWAYS AS IDENTITY"),
            // Job rows are updated in place several times; free space on each page keeps those updates HOT,
            // and vacuum runs early on a table whose rows churn (QUEUE-NOTES: River#59, pg-boss#202).
            ("{fillfactor}", "", "WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000)"),
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
        Migration(version: 2, name: "job queue", statements: [
            // One table for every job, River-like. A job is `available` (or `retryable` after a failure)
            // until its run_at, then claimed (`running`, with a lease), then `completed`, `discarded`
            // (out of attempts, kept for inspection) or `cancelled`.
            """
            CREATE TABLE jobs (
                id {serial} PRIMARY KEY,
                queue TEXT NOT NULL,
                kind TEXT NOT NULL,
                args {jsonb} NOT NULL,
                unique_key TEXT,
                state TEXT NOT NULL CHECK (state IN ('available', 'running', 'retryable', 'completed', 'discarded', 'cancelled')),
                priority INTEGER NOT NULL DEFAULT 0,
                attempt INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
                run_at {timestamp} NOT NULL,
                lease_token {uuid},
                lease_owner TEXT,
                lease_expires_at {timestamp},
                heartbeat_at {timestamp},
                progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
                progress_message TEXT,
                errors {jsonb} NOT NULL,
                created_at {timestamp} NOT NULL,
                attempted_at {timestamp},
                finalized_at {timestamp},
                updated_at {timestamp} NOT NULL
            ) {fillfactor}
            """,
            // At most one unfinished job per unique key: duplicates are impossible by construction (seed 000).
            "CREATE UNIQUE INDEX jobs_unique_key_active ON jobs (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running', 'retryable')",
            // The claim walks this index in order and stops after LIMIT rows; finished rows are not in it.
            "CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id) WHERE state IN ('available', 'retryable')",
            // The rescuer finds expired leases without scanning.
            "CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE state = 'running'",
            // Retention and the admin listing.
            "CREATE INDEX jobs_state_finalized ON jobs (state, finalized_at)",
            "CREATE INDEX jobs_queue_state ON jobs (queue, state)",
            // Periodic schedules: the last period fired, so a new leader never fires one twice.
            """
            CREATE TABLE periodic_runs (
                name TEXT PRIMARY KEY,
                last_scheduled_at {timestamp} NOT NULL
            )
            """,
            // Executions recorded by the built-in `probe` job (end-to-end checks and the crash tests).
            """
            CREATE TABLE job_probe_runs (
                id {serial} PRIMARY KEY,
                job_id {bigint} NOT NULL,
                attempt INTEGER NOT NULL,
                worker TEXT NOT NULL,
                label TEXT NOT NULL,
                ran_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX job_probe_runs_label ON job_probe_runs (label, job_id)",
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
