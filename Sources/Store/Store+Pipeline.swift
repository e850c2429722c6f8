import Domain
import Foundation

/// What the pipeline's workers need of a repository beyond what users see.
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
    /// The head whose analysis is done (the repository is ready when it and `backfilledHead` are the head).
    public var analyzedHead: String?
}

/// The pipeline's writes: stages, progress, clone results, commits. Each runs on the executor it is
/// given, so a handler records its step and enqueues the next in one transaction.
extension SQLExecutor {
    public func repositoryWork(id: UUID) async throws -> RepositoryWork? {
        guard let row = try await first("""
            SELECT \(raw: Self.repositoryColumns), r.backfilled_head, r.token_sealed, r.private_to, r.mailmap, r.window_empty,
                r.head_committed_at, r.failure_reason, r.attempts, r.analyzed_head
            FROM repositories r WHERE r.id = \(id)
            """)
        else { return nil }
        return RepositoryWork(
            repository: try Self.decodeRepository(row), backfilledHead: try row.string("backfilled_head"),
            sealedToken: try row.string("token_sealed"), privateTo: try row.uuid("private_to"), mailmap: try row.string("mailmap"),
            windowEmpty: try row.bool("window_empty") ?? false, headCommittedAt: try row.date("head_committed_at"),
            failureReason: try row.string("failure_reason"), attempts: Int(try row.int("attempts") ?? 0),
            analyzedHead: try row.string("analyzed_head"))
    }

    /// A worker begins `stage` on a repository (attempt `attempts` of its job). A ready repository is
    /// re-checked (it stays ready, `refreshing`); a failed one whose job was retried by hand starts over.
    /// - Returns: the new state, or nil when the repository no longer exists.
    @discardableResult
    public func startStage(_ stage: ProcessingStage, ofRepository id: UUID, attempts: Int, now: Date) async throws -> ProcessingState? {
        guard let current = try await repository(id: id)?.state else { return nil }
        var state = current
        if state.status == .ready && !state.refreshing { state = try state.recheck() }
        if state.status == .failed { state = try state.retry() }
        state = try state.start(stage, at: now)
        try await setState(state, ofRepository: id, now: now)
        try await execute("UPDATE repositories SET attempts = \(attempts), failure_reason = NULL WHERE id = \(id)")
        return state
    }

    /// Progress within the current stage (0...100); ignored unless the repository is in `stage`.
    public func reportStageProgress(_ percent: Int, stage: ProcessingStage, ofRepository id: UUID, now: Date) async throws {
        try await execute("""
            UPDATE repositories SET progress = \(min(max(percent, 0), 100)), updated_at = \(now)
            WHERE id = \(id) AND stage = \(stage.rawValue)
            """)
    }

    /// What a clone or fetch found. Moves the repository on to `backfilling`; this run's analysis is still to come.
    public func recordClone(
        ofRepository id: UUID, head: String, branch: String, headCommittedAt: Date?, windowEmpty: Bool, mailmap: String?, now: Date
    ) async throws {
        guard let current = try await repository(id: id)?.state else { return }
        let next = try current.start(.backfilling, at: now)
        try await setState(next, ofRepository: id, now: now)
        try await execute("""
            UPDATE repositories SET head_commit = \(head), default_branch = \(branch), head_committed_at = \(headCommittedAt),
                window_empty = \(windowEmpty), mailmap = \(mailmap), analyzed_head = NULL
            WHERE id = \(id)
            """)
    }

    /// The backfill stored the whole window up to `head`: trims what fell out of the window or beyond
    /// the cap, and moves the repository on to `analyzing`.
    public func completeBackfill(ofRepository id: UUID, head: String, windowStart: Date, keep: Int, now: Date) async throws {
        try await execute("DELETE FROM commits WHERE repository_id = \(id) AND committed_at < \(windowStart)")
        try await execute("""
            DELETE FROM commits WHERE repository_id = \(id) AND sha NOT IN (
                SELECT sha FROM commits WHERE repository_id = \(id) ORDER BY committed_at DESC, sha DESC LIMIT \(keep))
            """)
        try await execute("UPDATE repositories SET backfilled_head = \(head) WHERE id = \(id)")
        guard let current = try await repository(id: id)?.state, current.isActive else { return }
        try await setState(try current.start(.analyzing, at: now), ofRepository: id, now: now)
    }

    /// A stage gave up: the repository becomes `failed` (a re-check keeps its last good state and records
    /// the error), with `last_error` naming the stage and reason, and the attempts it took.
    public func failRepository(id: UUID, stage: ProcessingStage, error: PipelineFailure, attempts: Int, now: Date) async throws {
        guard var state = try await repository(id: id)?.state, state.isActive else { return }
        if state.stage != stage && stage != .queued && stage != .done { state = try state.start(stage, at: now) }
        let failed = try state.fail(reason: error.description, at: now)
        try await setState(failed, ofRepository: id, now: now)
        try await execute("UPDATE repositories SET failure_reason = \(error.reason), attempts = \(attempts) WHERE id = \(id)")
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

    /// Deletes a repository that no entry points at any more (its commits go with it), and cancels its
    /// waiting pipeline jobs. Does nothing when someone added it again in the meantime.
    /// - Returns: true when the repository was deleted.
    public func deleteUnwatchedRepository(id: UUID, now: Date) async throws -> Bool {
        let deleted = try await first("""
            DELETE FROM repositories WHERE id = \(id)
                AND NOT EXISTS (SELECT 1 FROM watchlist_entries WHERE repository_id = \(id))
            RETURNING id
            """)
        guard deleted != nil else { return false }
        let suffix = ":" + id.uuidString.lowercased()
        let keys = ["repository-setup", "commit-backfill", "health-analysis"].map { $0 + suffix }
        for key in keys {
            try await execute("""
                UPDATE jobs SET state = 'cancelled', finalized_at = \(now), lease_token = NULL, lease_expires_at = NULL, updated_at = \(now)
                WHERE unique_key = \(key) AND state IN ('available', 'retryable', 'running')
                """)
        }
        return true
    }
}

/// A pipeline stage's failure: a machine-readable reason (`too_large`, `not_found`, `auth_required`, …)
/// and a message. Handlers throw it; the job's error text is `reason: message`, which ``parse(_:)``
/// reads back when the job is discarded, so the repository records both.
public struct PipelineFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public let message: String
    public init(reason: String, message: String) {
        self.reason = reason
        self.message = message
    }
    public var description: String { "\(reason): \(message)" }

    /// Splits a job's error text back into reason and message; other errors get the reason `error`.
    public static func parse(_ text: String) -> PipelineFailure {
        if let colon = text.firstIndex(of: ":") {
            let reason = String(text[..<colon])
            if !reason.isEmpty, reason.allSatisfy({ ($0.isLetter && $0.isLowercase) || $0 == "_" }) {
                return PipelineFailure(reason: reason, message: text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
        }
        return PipelineFailure(reason: "error", message: text)
    }
}

extension SQLExecutor {
    /// True when `caller` watches the repository (or is an admin): who may read its history and reports.
    public func canSee(repository id: UUID, caller: Caller) async throws -> Bool {
        if caller.isAdmin { return try await first("SELECT 1 AS one FROM repositories WHERE id = \(id)") != nil }
        return try await first("SELECT 1 AS one FROM watchlist_entries WHERE repository_id = \(id) AND user_id = \(caller.userID) LIMIT 1") != nil
    }
}

/// What `POST /v1/watchlist/{id}/retry` and `…/recheck` did to the repository's state.
public enum RestartOutcome: Sendable, Equatable {
    case restarted(ProcessingState)
    /// The state does not allow it (retry of a repository that has not failed; re-check of a failed one).
    case refused(ProcessingState)
}

extension SQLExecutor {

    /// A failed repository starts over (`processing/queued`); the caller enqueues its setup in the same transaction.
    public func retryRepository(id: UUID, now: Date) async throws -> RestartOutcome? {
        guard let state = try await repository(id: id)?.state else { return nil }
        guard state.status == .failed else { return .refused(state) }
        let next = try state.retry()
        try await setState(next, ofRepository: id, now: now)
        try await execute("UPDATE repositories SET failure_reason = NULL, attempts = 0 WHERE id = \(id)")
        return .restarted(next)
    }

    /// A re-check now: a ready repository stays ready and is marked refreshing; one being processed is
    /// left as it is (its running work already looks at the newest head). Refused for a failed one (retry it).
    public func recheckRepository(id: UUID, now: Date) async throws -> RestartOutcome? {
        guard let state = try await repository(id: id)?.state else { return nil }
        switch state.status {
        case .failed:
            return .refused(state)
        case .ready where !state.refreshing:
            let next = try state.recheck()
            try await setState(next, ofRepository: id, now: now)
            return .restarted(next)
        case .ready, .processing:
            return .restarted(state)
        }
    }
}
