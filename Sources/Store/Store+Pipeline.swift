import Domain
import Foundation

/// What the pipeline needs of a repository beyond what users see: what is wanted of it and what is done.
///
/// `generation` counts the runs asked for (the add, each retry, re-check and scheduled re-check); each
/// stage records the generation it finished for. A repository that is `processing` or `refreshing` owes
/// every stage whose generation is behind — the `Pipeline` module compares the two and enqueues what is
/// missing (its reconciliation); the store only persists them.
public struct RepositoryWork: Sendable, Equatable {
    public var repository: Repository
    /// The head whose window is completely stored (a re-check walks down to it), if any.
    public var backfilledHead: String?
    /// The token sealed by ``TokenCipher``, for a private repository.
    public var sealedToken: String?
    /// The user a private repository belongs to.
    public var privateTo: UUID?
    public var mailmap: String?
    public var windowEmpty: Bool
    public var headCommittedAt: Date?
    public var failureReason: String?
    public var attempts: Int
    /// The head whose analysis is done.
    public var analyzedHead: String?
    /// The run wanted now.
    public var generation: Int
    /// The runs whose setup (head recorded), backfill and analysis are done, if any.
    public var setupGeneration: Int?
    public var backfillGeneration: Int?
    public var analysisGeneration: Int?
    /// Re-checks that failed in a row since the last successful check.
    public var recheckFailures: Int
}

/// The pipeline's writes: stages, progress, clone results, commits. Each runs on the executor it is
/// given, so a handler records its step and ends its job in one transaction.
extension SQLExecutor {
    public func repositoryWork(id: UUID) async throws -> RepositoryWork? {
        guard let row = try await first("""
            SELECT \(raw: Self.repositoryColumns), r.backfilled_head, r.token_sealed, r.private_to, r.mailmap, r.window_empty,
                r.head_committed_at, r.failure_reason, r.attempts, r.analyzed_head, r.generation, r.setup_generation,
                r.backfill_generation, r.analysis_generation, r.recheck_failures
            FROM repositories r WHERE r.id = \(id)
            """)
        else { return nil }
        return RepositoryWork(
            repository: try Self.decodeRepository(row), backfilledHead: try row.string("backfilled_head"),
            sealedToken: try row.string("token_sealed"), privateTo: try row.uuid("private_to"), mailmap: try row.string("mailmap"),
            windowEmpty: try row.bool("window_empty") ?? false, headCommittedAt: try row.date("head_committed_at"),
            failureReason: try row.string("failure_reason"), attempts: Int(try row.int("attempts") ?? 0),
            analyzedHead: try row.string("analyzed_head"), generation: Int(try row.int("generation") ?? 1),
            setupGeneration: try row.int("setup_generation").map(Int.init), backfillGeneration: try row.int("backfill_generation").map(Int.init),
            analysisGeneration: try row.int("analysis_generation").map(Int.init), recheckFailures: Int(try row.int("recheck_failures") ?? 0))
    }

    /// Asks for a new run of the repository's pipeline (a retry, a re-check): its stages are owed again.
    /// - Returns: the new generation.
    @discardableResult
    public func requestGeneration(ofRepository id: UUID) async throws -> Int? {
        try await first("UPDATE repositories SET generation = generation + 1 WHERE id = \(id) RETURNING generation")?
            .int("generation").map(Int.init)
    }

    /// The attempts the current stage's job has taken (shown with the state).
    public func recordAttempts(_ attempts: Int, ofRepository id: UUID) async throws {
        try await execute("UPDATE repositories SET attempts = \(attempts) WHERE id = \(id)")
    }

    /// Progress within the current stage (0...100); ignored unless the repository is in `stage`.
    public func reportStageProgress(_ percent: Int, stage: ProcessingStage, ofRepository id: UUID, now: Date) async throws {
        try await execute("""
            UPDATE repositories SET progress = \(min(max(percent, 0), 100)), updated_at = \(now)
            WHERE id = \(id) AND stage = \(stage.rawValue)
            """)
    }

    /// What the setup of `generation` found: the head and what goes with it.
    public func recordSetup(
        ofRepository id: UUID, generation: Int, head: String, branch: String, headCommittedAt: Date?, windowEmpty: Bool, mailmap: String?
    ) async throws {
        try await execute("""
            UPDATE repositories SET head_commit = \(head), default_branch = \(branch), head_committed_at = \(headCommittedAt),
                window_empty = \(windowEmpty), mailmap = \(mailmap), setup_generation = \(generation)
            WHERE id = \(id)
            """)
    }

    /// The backfill of `generation` stored the whole window up to `head`: trims what fell out of the
    /// window or beyond the cap.
    public func recordBackfill(ofRepository id: UUID, generation: Int, head: String, windowStart: Date, keep: Int) async throws {
        try await execute("DELETE FROM commits WHERE repository_id = \(id) AND committed_at < \(windowStart)")
        try await execute("""
            DELETE FROM commits WHERE repository_id = \(id) AND sha NOT IN (
                SELECT sha FROM commits WHERE repository_id = \(id) ORDER BY committed_at DESC, sha DESC LIMIT \(keep))
            """)
        try await execute("UPDATE repositories SET backfilled_head = \(head), backfill_generation = \(generation) WHERE id = \(id)")
    }

    /// The analysis of `generation` is done for `head` (its result is cached, or it was found fresh).
    public func recordAnalysis(ofRepository id: UUID, generation: Int, head: String) async throws {
        try await execute("UPDATE repositories SET analyzed_head = \(head), analysis_generation = \(generation) WHERE id = \(id)")
    }

    /// Why the last run failed (machine-readable reason) and the attempts it took.
    public func recordFailure(ofRepository id: UUID, reason: String?, attempts: Int?) async throws {
        try await execute("""
            UPDATE repositories SET failure_reason = \(reason), attempts = COALESCE(\(attempts.map(Int64.init)), attempts) WHERE id = \(id)
            """)
    }

    /// The head shown goes back to the one the latest health report is for (a re-check that found a new
    /// head and then failed leaves the last completed check in place).
    public func restoreReportedHead(ofRepository id: UUID) async throws {
        try await execute("""
            UPDATE repositories SET head_commit = COALESCE(
                (SELECT head_commit FROM health_reports WHERE repository_id = \(id) ORDER BY id DESC LIMIT 1), head_commit)
            WHERE id = \(id)
            """)
    }

    /// A re-check failed: how many in a row, and when to look again.
    public func recordRecheckFailure(ofRepository id: UUID, failures: Int, nextCheckAt: Date?) async throws {
        try await execute("UPDATE repositories SET recheck_failures = \(failures), next_check_at = \(nextCheckAt) WHERE id = \(id)")
    }

    /// A check completed: the score shown with the entry, and when the next one is due.
    public func recordCheck(ofRepository id: UUID, healthScore: Double, at now: Date, nextCheckAt: Date) async throws {
        try await execute("""
            UPDATE repositories SET health_score = \(healthScore), last_checked_at = \(now), next_check_at = \(nextCheckAt),
                failure_reason = NULL, recheck_failures = 0
            WHERE id = \(id)
            """)
    }

    /// The shortest re-check interval the entries on a repository ask for, in seconds (nil: none asks).
    public func shortestCheckInterval(repository id: UUID) async throws -> Int? {
        try await first("SELECT MIN(check_interval_seconds) AS seconds FROM watchlist_entries WHERE repository_id = \(id)")?
            .int("seconds").map(Int.init)
    }

    /// Repositories being worked on (`processing`, or `refreshing`) for which no unfinished job exists
    /// with a unique key `<prefix><repository id>` for any of `jobKeyPrefixes`: those whose work nothing
    /// will move on. Walks the `repositories_active` index (active rows only), longest unchanged first.
    public func repositoriesWithoutUnfinishedJob(jobKeyPrefixes: [String], limit: Int) async throws -> [(id: UUID, updatedAt: Date)] {
        try await query(Self.withoutJobSelect("r.id, r.updated_at", jobKeyPrefixes) + " ORDER BY r.updated_at LIMIT \(limit)").map {
            (try $0.require("id", $0.uuid), try $0.require("updated_at", $0.date))
        }
    }

    /// How many such repositories there are, and the oldest `updated_at` among them.
    public func countRepositoriesWithoutUnfinishedJob(jobKeyPrefixes: [String]) async throws -> (count: Int, oldest: Date?) {
        let row = try await first(Self.withoutJobSelect("COUNT(*) AS n, MIN(r.updated_at) AS oldest", jobKeyPrefixes))
        return (Int(try row?.int("n") ?? 0), try row?.date("oldest"))
    }

    private static func withoutJobSelect(_ columns: String, _ prefixes: [String]) -> SQL {
        var keys: SQL = ""
        for (index, prefix) in prefixes.enumerated() {
            keys = keys + (index == 0 ? "" : ", ") + "\(prefix) || \(sqlite: "r.id", postgres: "r.id::text")"
        }
        return """
            SELECT \(raw: columns) FROM repositories r
            WHERE (r.status = 'processing' OR r.refreshing)
                AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.unique_key IN (\(keys)) AND j.state IN ('available', 'running', 'retryable'))
            """
    }

    // MARK: Commits

    /// Stores commits; those already stored (same repository and sha) are left as they are.
    /// - Returns: how many were new.
    @discardableResult
    public func insertCommits(_ commits: [Commit], repository id: UUID) async throws -> Int {
        var inserted = 0
        // 11 parameters a row: 500 rows (5 500 parameters) stay below both engines' limits (SQLite 32 766, PostgreSQL 65 535).
        for chunk in stride(from: 0, to: commits.count, by: 500).map({ commits[$0..<min($0 + 500, commits.count)] }) {
            var sql: SQL = """
                INSERT INTO commits (repository_id, sha, parents, author_name, author_email, authored_at, committed_at, summary,
                    files_changed, additions, deletions) VALUES
                """
            for (index, commit) in chunk.enumerated() {
                let stats = commit.stats
                sql = sql + """
                    \(raw: index == 0 ? " " : ", ")(\(id), \(commit.sha), \(commit.parents.joined(separator: " ")), \(commit.authorName),
                    \(commit.authorEmail), \(commit.authoredAt), \(commit.committedAt), \(commit.summary),
                    \(stats.map { Int64($0.filesChanged) }), \(stats.map { Int64($0.additions) }), \(stats.map { Int64($0.deletions) }))
                    """
            }
            sql = sql + " ON CONFLICT (repository_id, sha) DO NOTHING RETURNING sha"
            inserted += try await query(sql).count
        }
        return inserted
    }

    /// The shas stored for a repository (at most the window's cap plus what a re-check adds).
    public func storedCommitShas(repository id: UUID) async throws -> Set<String> {
        Set(try await query("SELECT sha FROM commits WHERE repository_id = \(id)").map { try $0.require("sha", $0.string) })
    }

    /// A page of a repository's commits, newest first, after the cursor (the last page's final commit).
    public func commits(repository id: UUID, after cursor: (committedAt: Date, sha: String)?, limit: Int) async throws -> [Commit] {
        var sql: SQL = """
            SELECT sha, parents, author_name, author_email, authored_at, committed_at, summary, files_changed, additions, deletions
            FROM commits WHERE repository_id = \(id)
            """
        if let cursor {
            sql = sql + " AND (committed_at < \(cursor.committedAt) OR (committed_at = \(cursor.committedAt) AND sha < \(cursor.sha)))"
        }
        sql = sql + " ORDER BY committed_at DESC, sha DESC LIMIT \(limit)"
        return try await query(sql).map { row in
            let files = try row.int("files_changed")
            let stats = try files.map { files in
                Commit.Stats(
                    filesChanged: Int(files), additions: Int(try row.int("additions") ?? 0), deletions: Int(try row.int("deletions") ?? 0))
            }
            let parents = try row.require("parents", row.string)
            return Commit(
                sha: try row.require("sha", row.string), parents: parents.split(separator: " ").map(String.init),
                authorName: try row.require("author_name", row.string), authorEmail: try row.require("author_email", row.string),
                authoredAt: try row.require("authored_at", row.date), committedAt: try row.require("committed_at", row.date),
                summary: try row.require("summary", row.string), stats: stats)
        }
    }

    /// The repository's activity now: its stored commits of the window, its `.mailmap`, its head's date.
    public func activity(of work: RepositoryWork, window: Duration, now: Date) async throws -> Activity {
        let windowStart = now.addingTimeInterval(-window.seconds)
        return Activity.compute(
            commits: try await activitySamples(repository: work.repository.id, since: windowStart), lastCommitAt: work.headCommittedAt,
            mailmap: Mailmap(parsing: work.mailmap ?? ""), windowStart: windowStart, now: now)
    }

    /// What the activity metrics need: author and date of every commit since `since`.
    public func activitySamples(repository id: UUID, since: Date) async throws -> [Activity.Sample] {
        try await query("""
            SELECT author_name, author_email, committed_at FROM commits
            WHERE repository_id = \(id) AND committed_at >= \(since)
            """).map { row in
            Activity.Sample(
                authorName: try row.require("author_name", row.string), authorEmail: try row.require("author_email", row.string),
                committedAt: try row.require("committed_at", row.date))
        }
    }

    // MARK: Clean-up

    /// Deletes a repository that no entry points at any more (its commits, reports and results go with
    /// it). Does nothing when someone added it again in the meantime.
    /// - Returns: true when the repository was deleted.
    public func deleteUnwatchedRepository(id: UUID) async throws -> Bool {
        try await first("""
            DELETE FROM repositories WHERE id = \(id)
                AND NOT EXISTS (SELECT 1 FROM watchlist_entries WHERE repository_id = \(id))
            RETURNING id
            """) != nil
    }
}

extension SQLExecutor {
    /// True when `caller` watches the repository (or is an admin): who may read its history and reports.
    public func canSee(repository id: UUID, caller: Caller) async throws -> Bool {
        if caller.isAdmin { return try await first("SELECT 1 AS one FROM repositories WHERE id = \(id)") != nil }
        return try await first("SELECT 1 AS one FROM watchlist_entries WHERE repository_id = \(id) AND user_id = \(caller.userID) LIMIT 1") != nil
    }
}
