import Foundation
import Logging

/// One versioned change to the schema, written once for both engines.
///
/// Column types are written as placeholders that each engine spells its own way:
/// `{uuid}` (uuid / TEXT), `{timestamp}` (timestamptz / INTEGER microseconds since 1970),
/// `{json}` (json, kept as sent / TEXT), `{jsonb}` (jsonb / TEXT), `{bool}` (boolean / INTEGER), `{bigint}` (bigint / INTEGER),
/// `{double}` (double precision / REAL),
/// `{serial}` (identity / INTEGER PRIMARY KEY, SQLite's rowid), `{fillfactor}` (storage options / nothing),
/// `{sequence}` (a primary key never reused: identity / INTEGER PRIMARY KEY AUTOINCREMENT).
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]
    /// Statements for PostgreSQL alone, run after the shared ones (triggers that feed `NOTIFY`).
    public let postgresStatements: [String]
    /// Statements for SQLite alone, run after the shared ones (where the engines' JSON functions differ).
    public let sqliteStatements: [String]

    public init(version: Int, name: String, statements: [String], postgresStatements: [String] = [], sqliteStatements: [String] = []) {
        self.version = version
        self.name = name
        self.statements = statements
        self.postgresStatements = postgresStatements
        self.sqliteStatements = sqliteStatements
    }

    /// The statements as `dialect` runs them: the shared ones, then the engine's own, with the types spelled its way.
    public func rendered(for dialect: SQLDialect) -> [String] {
        let types: [(String, String, String)] = [
            ("{uuid}", "TEXT", "uuid"),
            ("{timestamp}", "INTEGER", "timestamptz"),
            ("{jsonb}", "TEXT", "jsonb"),
            ("{json}", "TEXT", "json"),
            ("{bool}", "INTEGER", "boolean"),
            ("{bigint}", "INTEGER", "bigint"),
            ("{double}", "REAL", "double precision"),
            ("{serial}", "INTEGER", "bigint GENERATED ALWAYS AS IDENTITY"),
            ("{sequence}", "INTEGER PRIMARY KEY AUTOINCREMENT", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
            // Job rows are updated in place several times; free space on each page keeps those updates HOT,
            // and vacuum runs early on a table whose rows churn (QUEUE-NOTES: River#59, pg-boss#202).
            ("{fillfactor}", "", "WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000)"),
        ]
        return (statements + (dialect == .postgres ? postgresStatements : sqliteStatements)).map { statement in
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
        Migration(version: 3, name: "git ingestion: commits, backfill progress, repository tokens", statements: [
            // A year of commits per repository (at most git.max_commits). Stats are NULL for a commit at the
            // shallow boundary: its parent is not in the clone, so its diff is unknown (git log would show a
            // diff against the empty tree). The primary key makes a repeated or resumed backfill insert nothing twice.
            """
            CREATE TABLE commits (
                repository_id {uuid} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
                sha TEXT NOT NULL,
                parents TEXT NOT NULL,
                author_name TEXT NOT NULL,
                author_email TEXT NOT NULL,
                authored_at {timestamp} NOT NULL,
                committed_at {timestamp} NOT NULL,
                summary TEXT NOT NULL,
                files_changed INTEGER,
                additions INTEGER,
                deletions INTEGER,
                PRIMARY KEY (repository_id, sha)
            )
            """,
            // Newest first, for the commits endpoint's pages and the activity window.
            "CREATE INDEX commits_repository_committed ON commits (repository_id, committed_at DESC, sha DESC)",
            // The head whose window is completely stored: a re-check walks from the new head down to it.
            "ALTER TABLE repositories ADD COLUMN backfilled_head TEXT",
            // The newest commit's date on the branch, even when it lies before the window.
            "ALTER TABLE repositories ADD COLUMN head_committed_at {timestamp}",
            // True when the window had no commit (the clone fell back to the newest commit alone).
            "ALTER TABLE repositories ADD COLUMN window_empty {bool} NOT NULL DEFAULT FALSE",
            // The repository's .mailmap at the head (bounded), applied when counting authors.
            "ALTER TABLE repositories ADD COLUMN mailmap TEXT",
            // Machine-readable reason of the last failure (too_large, not_found, auth_required, …).
            "ALTER TABLE repositories ADD COLUMN failure_reason TEXT",
            // Attempts the current (or last) stage took.
            "ALTER TABLE repositories ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            // A user's token for a private repository, AES-256-GCM sealed (nonce, ciphertext and tag, base64),
            // bound to the repository's id. A repository read with a token is private to the user who gave it:
            // its identity key (canonical_url) carries that user, so another user adding the same URL without
            // the token gets a repository of their own, never the private one's data.
            "ALTER TABLE repositories ADD COLUMN token_sealed TEXT",
            "ALTER TABLE repositories ADD COLUMN private_to {uuid} REFERENCES users(id) ON DELETE CASCADE",
        ], postgresStatements: [
            // Every change to what a status answer shows is announced (StatusNotifications), whichever
            // process or statement made it, so API processes can cache status answers exactly.
            """
            CREATE FUNCTION repowatch_notify_status() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_TABLE_NAME = 'repositories' THEN
                    PERFORM pg_notify('repowatch_status', 'r:' || OLD.id::text);
                ELSE
                    PERFORM pg_notify('repowatch_status', 'e:' || OLD.id::text);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER repositories_status_changed AFTER UPDATE OR DELETE ON repositories FOR EACH ROW EXECUTE FUNCTION repowatch_notify_status()",
            "CREATE TRIGGER watchlist_entries_deleted AFTER DELETE ON watchlist_entries FOR EACH ROW EXECUTE FUNCTION repowatch_notify_status()",
        ]),
        Migration(version: 4, name: "health analysis: Scorecard results, health reports, re-check schedule", statements: [
            // Scorecard results, the cache: one row per run, found by (repository, head, command key) and fresh
            // until expires_at. The command key names the command, its version and the checks asked for.
            """
            CREATE TABLE scorecard_results (
                id {serial} PRIMARY KEY,
                repository_id {uuid} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
                head_commit TEXT NOT NULL,
                command_key TEXT NOT NULL,
                scorecard_version TEXT NOT NULL,
                report {json} NOT NULL,
                aggregate {double},
                errored_checks {json} NOT NULL,
                exit_code INTEGER NOT NULL,
                duration_ms {bigint} NOT NULL,
                created_at {timestamp} NOT NULL,
                expires_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX scorecard_results_lookup ON scorecard_results (repository_id, head_commit, command_key, expires_at)",
            // One health report per completed check, kept as history.
            """
            CREATE TABLE health_reports (
                id {uuid} PRIMARY KEY,
                repository_id {uuid} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
                head_commit TEXT NOT NULL,
                scorecard_version TEXT,
                health_score {double} NOT NULL,
                confidence {double} NOT NULL,
                report {json} NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX health_reports_repository ON health_reports (repository_id, created_at DESC, id DESC)",
            // The head whose analysis is done: the repository is ready when it and backfilled_head are the head.
            "ALTER TABLE repositories ADD COLUMN analyzed_head TEXT",
            "ALTER TABLE repositories ADD COLUMN health_score {double}",
            "ALTER TABLE repositories ADD COLUMN last_checked_at {timestamp}",
            // An entry may ask for more frequent re-checks than recheck.interval (seconds; NULL: the default).
            "ALTER TABLE watchlist_entries ADD COLUMN check_interval_seconds INTEGER",
        ]),
        Migration(version: 5, name: "pipeline lifecycle: wanted and done generations, re-check failures", statements: [
            // What is wanted of a repository (the run asked for last: the add, a retry, a re-check) and what
            // is done (the run each stage last finished for). The Pipeline module's reconciliation compares them.
            "ALTER TABLE repositories ADD COLUMN generation INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE repositories ADD COLUMN setup_generation INTEGER",
            "ALTER TABLE repositories ADD COLUMN backfill_generation INTEGER",
            "ALTER TABLE repositories ADD COLUMN analysis_generation INTEGER",
            // Re-checks that failed in a row: they back off, and a gone remote ends `failed` after a few.
            "ALTER TABLE repositories ADD COLUMN recheck_failures INTEGER NOT NULL DEFAULT 0",
            // Rows from before: a finished run owes nothing; a re-check under way owes a new run.
            "UPDATE repositories SET setup_generation = 1, backfill_generation = 1, analysis_generation = 1 WHERE status <> 'processing'",
            "UPDATE repositories SET generation = 2 WHERE refreshing",
            // The reconcile pass and the stall gauge walk only the repositories being worked on.
            "CREATE INDEX repositories_active ON repositories (updated_at) WHERE status = 'processing' OR refreshing",
        ]),
        Migration(version: 6, name: "alerts, webhooks, live status: events, rule state, webhooks, deliveries, state changes", statements: [
            // What the entry's rules last saw: NULL until its first report (which never alerts), then
            // {"violated": [rules]} — the level rules violated by the last report (they alert once, until they recover)
            // and "failed" while the repository is failed (so its recovery is told).
            "ALTER TABLE watchlist_entries ADD COLUMN alert_state {json}",
            // Set by the requests a `processing` alert answers (the add, a retry, an explicit re-check); cleared when the
            // run ends and the alert is written.
            "ALTER TABLE watchlist_entries ADD COLUMN processing_alert_pending {bool} NOT NULL DEFAULT FALSE",
            // One row per alert, written in the transaction of the report (or failure) that raised it. `seq` orders
            // the events and is the cursor of GET /v1/events: never reused, and in commit order (the transactions
            // that write alerts take one lock first, see Alerting.swift). The alerts one cause raised for one entry
            // share a notification id: a webhook gets them as one message, whose webhook-id it is.
            """
            CREATE TABLE alert_events (
                seq {sequence},
                id {uuid} NOT NULL UNIQUE,
                notification_id {uuid} NOT NULL,
                entry_id {uuid} NOT NULL REFERENCES watchlist_entries(id) ON DELETE CASCADE,
                user_id {uuid} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                repository_id {uuid} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
                rule TEXT NOT NULL,
                subject TEXT,
                previous_value {double},
                current_value {double},
                previous_report_id {uuid},
                report_id {uuid},
                summary TEXT NOT NULL,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX alert_events_user ON alert_events (user_id, seq)",
            "CREATE INDEX alert_events_entry ON alert_events (entry_id, seq)",
            "CREATE INDEX alert_events_notification ON alert_events (notification_id)",
            // A user's webhook endpoints. The signing secret is sealed (AES-GCM, bound to the webhook's id); after a
            // rotation the previous one signs too until previous_secret_expires_at.
            """
            CREATE TABLE webhooks (
                id {uuid} PRIMARY KEY,
                user_id {uuid} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                url TEXT NOT NULL,
                format TEXT NOT NULL CHECK (format IN ('standard', 'slack')),
                event_types {json},
                entry_ids {json},
                description TEXT,
                secret_sealed TEXT NOT NULL,
                previous_secret_sealed TEXT,
                previous_secret_expires_at {timestamp},
                enabled {bool} NOT NULL,
                disabled_reason TEXT,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                failing_since {timestamp},
                created_at {timestamp} NOT NULL,
                updated_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX webhooks_user ON webhooks (user_id, id)",
            // Every delivery attempt, for the endpoint's log.
            """
            CREATE TABLE webhook_deliveries (
                id {uuid} PRIMARY KEY,
                webhook_id {uuid} NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
                notification_id {uuid} NOT NULL,
                attempt INTEGER NOT NULL,
                outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'skipped')),
                response_status INTEGER,
                latency_ms {bigint},
                error TEXT,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id)",
            // Every change of a repository's status, stage, progress, refreshing or error, in order (setState writes it
            // after the row's UPDATE, so one repository's changes are numbered in commit order): what the live status
            // stream sends and replays after Last-Event-ID. The last 100 per repository are kept.
            """
            CREATE TABLE state_changes (
                seq {sequence},
                repository_id {uuid} NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
                status TEXT NOT NULL,
                stage TEXT NOT NULL,
                progress INTEGER NOT NULL,
                refreshing {bool} NOT NULL,
                last_error TEXT,
                created_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX state_changes_repository ON state_changes (repository_id, seq)",
        ], postgresStatements: [
            // A new alert wakes the live streams of its entry in every process (StatusNotifications: a:<entry id>).
            """
            CREATE FUNCTION repowatch_notify_alert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('repowatch_status', 'a:' || NEW.entry_id::text);
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER alert_events_inserted AFTER INSERT ON alert_events FOR EACH ROW EXECUTE FUNCTION repowatch_notify_alert()",
        ]),
        // Scorecard results written before reports named their repository hold the clone's folder
        // (`{"name": "file:///…/clones/<id>", "commit": "unknown"}`): they name the repository (`host[:port]/owner/name`,
        // as RepoWatch writes them now) and the head analysed instead, in the cached results and in the history.
        Migration(version: 7, name: "Scorecard results and health reports name the repository, not the clone's folder", statements: [],
            postgresStatements: [
                """
                UPDATE scorecard_results AS s
                SET report = jsonb_set(s.report::jsonb, '{repo}', jsonb_build_object('name',
                    (CASE WHEN strpos(r.host, ':') > 0 THEN '[' || r.host || ']' ELSE r.host END)
                        || COALESCE(':' || r.port, '') || '/' || r.owner || '/' || r.name, 'commit', s.head_commit))::json
                FROM repositories AS r
                WHERE r.id = s.repository_id AND s.report::jsonb #>> '{repo,name}' LIKE 'file:%'
                """,
                """
                UPDATE health_reports AS h
                SET report = jsonb_set(h.report::jsonb, '{scorecard,repo}', jsonb_build_object('name',
                    (CASE WHEN strpos(r.host, ':') > 0 THEN '[' || r.host || ']' ELSE r.host END)
                        || COALESCE(':' || r.port, '') || '/' || r.owner || '/' || r.name, 'commit', h.head_commit))::json
                FROM repositories AS r
                WHERE r.id = h.repository_id AND h.report::jsonb #>> '{scorecard,repo,name}' LIKE 'file:%'
                """,
            ],
            sqliteStatements: [
                """
                UPDATE scorecard_results
                SET report = json_set(report, '$.repo', json_object('name',
                    (SELECT (CASE WHEN instr(r.host, ':') > 0 THEN '[' || r.host || ']' ELSE r.host END)
                        || COALESCE(':' || r.port, '') || '/' || r.owner || '/' || r.name
                     FROM repositories AS r WHERE r.id = scorecard_results.repository_id), 'commit', head_commit))
                WHERE json_extract(report, '$.repo.name') LIKE 'file:%'
                """,
                """
                UPDATE health_reports
                SET report = json_set(report, '$.scorecard.repo', json_object('name',
                    (SELECT (CASE WHEN instr(r.host, ':') > 0 THEN '[' || r.host || ']' ELSE r.host END)
                        || COALESCE(':' || r.port, '') || '/' || r.owner || '/' || r.name
                     FROM repositories AS r WHERE r.id = health_reports.repository_id), 'commit', head_commit))
                WHERE json_extract(report, '$.scorecard.repo.name') LIKE 'file:%'
                """,
            ]),
        Migration(version: 8, name: "dashboard sessions; reports keep their Scorecard aggregate", statements: [
            // A browser's sign-in to the dashboard. Only the SHA-256 of the cookie's token is stored; the session
            // belongs to the API key it was opened with and ends with it (revoked: the lookup joins the key; deleted:
            // the cascade). The CSRF token is derived from the cookie's token (HMAC), so nothing else is kept.
            """
            CREATE TABLE dashboard_sessions (
                id {uuid} PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                key_id {uuid} NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
                created_at {timestamp} NOT NULL,
                expires_at {timestamp} NOT NULL
            )
            """,
            "CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id)",
            "CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at)",
            // The Scorecard aggregate of each report beside it, for the history chart (reports before: from their JSON).
            "ALTER TABLE health_reports ADD COLUMN scorecard_score {double}",
        ],
        postgresStatements: [
            "UPDATE health_reports SET scorecard_score = (report::jsonb #>> '{scorecard,score}')::double precision",
        ],
        sqliteStatements: [
            "UPDATE health_reports SET scorecard_score = CAST(json_extract(report, '$.scorecard.score') AS REAL)",
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
