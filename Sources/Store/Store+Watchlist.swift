import Domain
import Foundation

/// Watchlist entries and the repositories they point at. Every method runs on the executor it is
/// given, so callers compose them into one transaction (`store.transaction { tx in … }`).
extension SQLExecutor {
    /// Adds `url` to `userID`'s watchlist: finds or creates the repository (one row per canonical URL,
    /// whatever the race), then finds or creates the entry. Run it inside a transaction.
    /// - Returns: the entry, whether the entry is new, and whether the repository is new.
    /// - Parameter privateTo: set when the user gave a token: the repository is then private to that user
    ///   (a row of its own, whose identity key is the canonical URL plus the user), so nobody else ever
    ///   reads what was fetched with the token. Public repositories are shared by everyone who watches them.
    public func addToWatchlist(
        userID: UUID, url: RepositoryURL, privateTo: UUID? = nil, alertsJSON: String, notes: String?, checkIntervalSeconds: Int? = nil,
        now: Date
    ) async throws -> (entry: EntryWithRepository, entryCreated: Bool, repositoryCreated: Bool) {
        let state = ProcessingState.queued
        let identity = Self.identityKey(url, privateTo: privateTo)
        // ON CONFLICT DO NOTHING, then read: concurrent adds of one URL all end on the one row;
        // on PostgreSQL the loser waits for the winner's commit and then sees its row.
        let insertedRepository = try await first("""
            INSERT INTO repositories (id, canonical_url, scheme, host, port, owner, name, status, stage, progress, refreshing,
                private_to, created_at, updated_at)
            VALUES (\(UUID.v7(at: now)), \(identity), \(url.scheme), \(url.host), \(url.port), \(url.owner), \(url.name),
                    \(state.status.rawValue), \(state.stage.rawValue), 0, \(false), \(privateTo), \(now), \(now))
            ON CONFLICT (canonical_url) DO NOTHING
            RETURNING id
            """)
        let repositoryID: UUID
        if let insertedRepository {
            repositoryID = try insertedRepository.require("id", insertedRepository.uuid)
            try await recordStateChange(state, ofRepository: repositoryID, now: now)
        } else {
            guard let row = try await first("SELECT id FROM repositories WHERE canonical_url = \(identity)") else {
                throw StoreError.corrupt("repository \(identity) neither inserted nor found")
            }
            repositoryID = try row.require("id", row.uuid)
        }
        let insertedEntry = try await first("""
            INSERT INTO watchlist_entries (id, user_id, repository_id, alerts, notes, check_interval_seconds, created_at, updated_at)
            VALUES (\(UUID.v7(at: now)), \(userID), \(repositoryID), \(SQLValue.json(alertsJSON)), \(notes),
                \(checkIntervalSeconds.map(Int64.init)), \(now), \(now))
            ON CONFLICT (user_id, repository_id) DO NOTHING
            RETURNING id
            """)
        let entryID: UUID
        if let insertedEntry {
            entryID = try insertedEntry.require("id", insertedEntry.uuid)
        } else {
            guard let row = try await first("SELECT id FROM watchlist_entries WHERE user_id = \(userID) AND repository_id = \(repositoryID)") else {
                throw StoreError.corrupt("entry neither inserted nor found")
            }
            entryID = try row.require("id", row.uuid)
        }
        guard let entry = try await entry(id: entryID, visibleTo: nil) else {
            throw StoreError.corrupt("entry \(entryID) vanished inside its transaction")
        }
        return (entry, insertedEntry != nil, insertedRepository != nil)
    }

    /// The entry with `id`, if `caller` may see it (nil caller: no restriction).
    public func entry(id: UUID, visibleTo caller: Caller?) async throws -> EntryWithRepository? {
        let rows = try await query((Self.entrySelect + " WHERE e.id = \(id)" + Self.visibility(caller)).prepared())
        return try rows.first.map(Self.decodeEntry)
    }

    /// One page of entries visible to `caller`, oldest first, after the cursor `after` (an entry id).
    public func listEntries(
        visibleTo caller: Caller, status: ProcessingStatus?, after: UUID?, limit: Int
    ) async throws -> [EntryWithRepository] {
        var sql = Self.entrySelect + " WHERE 1 = 1" + Self.visibility(caller)
        if let status { sql = sql + " AND r.status = \(status.rawValue)" }
        if let after { sql = sql + " AND e.id > \(after)" }
        sql = sql + " ORDER BY e.id LIMIT \(limit)"
        return try await query(sql).map(Self.decodeEntry)
    }

    /// Every entry on `repositoryID` that `caller` may see, oldest first.
    public func entries(onRepository repositoryID: UUID, visibleTo caller: Caller) async throws -> [EntryWithRepository] {
        try await query(Self.entrySelect + " WHERE e.repository_id = \(repositoryID)" + Self.visibility(caller) + " ORDER BY e.id")
            .map(Self.decodeEntry)
    }

    /// Changes an entry's alerts and/or notes. `notes: .some(nil)` clears the notes.
    /// - Returns: the updated entry, or nil when it does not exist for `caller`.
    public func updateEntry(
        id: UUID, visibleTo caller: Caller, alertsJSON: String?, notes: String??, checkIntervalSeconds: Int?? = nil, now: Date
    ) async throws -> EntryWithRepository? {
        // One statement, guarded by the caller's visibility, changes what was given.
        var set: SQL = "updated_at = \(now)"
        if let alertsJSON { set = set + ", alerts = \(SQLValue.json(alertsJSON))" }
        if let notes { set = set + ", notes = \(notes)" }
        if let checkIntervalSeconds { set = set + ", check_interval_seconds = \(checkIntervalSeconds.map(Int64.init))" }
        let updated = try await first("UPDATE watchlist_entries SET \(set) WHERE id = \(id)" + Self.ownership(caller) + " RETURNING id")
        guard updated != nil else { return nil }
        guard let entry = try await entry(id: id, visibleTo: caller) else { return nil }
        // A shorter interval takes effect now, not after the check already scheduled.
        if let seconds = checkIntervalSeconds ?? nil, let last = entry.repository.lastCheckedAt,
            let next = entry.repository.nextCheckAt, next > last.addingTimeInterval(Double(seconds))
        {
            try await execute("UPDATE repositories SET next_check_at = \(last.addingTimeInterval(Double(seconds))) WHERE id = \(entry.repository.id)")
            return try await self.entry(id: id, visibleTo: caller)
        }
        return entry
    }

    /// Deletes an entry. The repository stays while others watch it.
    /// - Returns: nil when no such entry exists for `caller`; else the repository and whether anyone
    ///   still watches it (when nobody does, the caller enqueues its clean-up in the same transaction).
    public func deleteEntry(id: UUID, visibleTo caller: Caller) async throws -> (repositoryID: UUID, stillWatched: Bool)? {
        guard let row = try await first("DELETE FROM watchlist_entries WHERE id = \(id)" + Self.ownership(caller) + " RETURNING repository_id")
        else { return nil }
        let repositoryID = try row.require("repository_id", row.uuid)
        let other = try await first("SELECT 1 AS one FROM watchlist_entries WHERE repository_id = \(repositoryID) LIMIT 1")
        return (repositoryID, other != nil)
    }

    /// Stores a user's token for their private repository, sealed by ``TokenCipher`` (a new token replaces the old).
    public func setRepositoryToken(sealed: String, repository id: UUID, privateTo userID: UUID) async throws {
        try await execute("UPDATE repositories SET token_sealed = \(sealed) WHERE id = \(id) AND private_to = \(userID)")
    }

    /// A repository's identity: its canonical URL, or for a private one the URL and its user (a URL
    /// never has a fragment after canonicalisation, so the two kinds cannot collide).
    static func identityKey(_ url: RepositoryURL, privateTo: UUID?) -> String {
        guard let privateTo else { return url.canonical }
        return url.canonical + "#private:" + privateTo.uuidString.lowercased()
    }

    /// The repository with `id`.
    public func repository(id: UUID) async throws -> Repository? {
        try await first("SELECT \(raw: Self.repositoryColumns) FROM repositories r WHERE r.id = \(id)").map(Self.decodeRepository)
    }

    /// Writes a repository's processing state (the only way states change; see ``ProcessingState``).
    public func setState(_ state: ProcessingState, ofRepository id: UUID, now: Date) async throws {
        try await execute("""
            UPDATE repositories SET status = \(state.status.rawValue), stage = \(state.stage.rawValue), progress = \(state.progress),
                refreshing = \(state.refreshing), processing_started_at = \(state.startedAt), processing_completed_at = \(state.completedAt),
                last_error = \(state.lastError), updated_at = \(now)
            WHERE id = \(id)
            """)
        try await recordStateChange(state, ofRepository: id, now: now)
    }

    // MARK: Row mapping

    static var repositoryColumns: String {
        """
        r.id AS r_id, r.canonical_url, r.scheme, r.host, r.port, r.owner, r.name, r.status, r.stage, r.progress, r.refreshing,
        r.processing_started_at, r.processing_completed_at, r.last_error, r.head_commit, r.default_branch, r.next_check_at,
        r.attempts, r.failure_reason, r.private_to, r.health_score, r.last_checked_at, r.head_committed_at,
        r.created_at AS r_created_at, r.updated_at AS r_updated_at
        """
    }

    static var entrySelect: SQL {
        """
        SELECT e.id AS e_id, e.user_id, e.repository_id, \(raw: "e.alerts") AS alerts, e.notes, e.check_interval_seconds,
            e.created_at AS e_created_at,
            e.updated_at AS e_updated_at, u.name AS user_name, \(raw: repositoryColumns)
        FROM watchlist_entries e
        JOIN repositories r ON r.id = e.repository_id
        JOIN users u ON u.id = e.user_id
        """
    }

    /// The visibility condition for statements on `watchlist_entries` without the `e` alias.
    static func ownership(_ caller: Caller) -> SQL {
        caller.isAdmin ? "" : " AND user_id = \(caller.userID)"
    }

    static func visibility(_ caller: Caller?) -> SQL {
        guard let caller, !caller.isAdmin else { return "" }
        return " AND e.user_id = \(caller.userID)"
    }

    static func decodeRepository(_ row: any SQLRow) throws -> Repository {
        let port = try row.int("port")
        let url = RepositoryURL(
            stored: try row.require("scheme", row.string), host: try row.require("host", row.string), port: port.map(Int.init),
            owner: try row.require("owner", row.string), name: try row.require("name", row.string))
        guard let status = ProcessingStatus(rawValue: try row.require("status", row.string)),
            let stage = ProcessingStage(rawValue: try row.require("stage", row.string))
        else { throw StoreError.corrupt("unknown status or stage") }
        let state = ProcessingState(
            status: status, stage: stage, progress: Int(try row.require("progress", row.int)),
            refreshing: try row.require("refreshing", row.bool), startedAt: try row.date("processing_started_at"),
            completedAt: try row.date("processing_completed_at"), lastError: try row.string("last_error"))
        return Repository(
            id: try row.require("r_id", row.uuid), url: url, state: state, headCommit: try row.string("head_commit"),
            defaultBranch: try row.string("default_branch"), nextCheckAt: try row.date("next_check_at"),
            attempts: Int(try row.int("attempts") ?? 0), failureReason: try row.string("failure_reason"),
            isPrivate: try row.uuid("private_to") != nil, healthScore: try row.double("health_score"),
            lastCheckedAt: try row.date("last_checked_at"), headCommittedAt: try row.date("head_committed_at"), createdAt: try row.require("r_created_at", row.date), updatedAt: try row.require("r_updated_at", row.date))
    }

    static func decodeEntry(_ row: any SQLRow) throws -> EntryWithRepository {
        let entry = WatchlistEntry(
            id: try row.require("e_id", row.uuid), userID: try row.require("user_id", row.uuid),
            repositoryID: try row.require("repository_id", row.uuid), alertsJSON: try row.require("alerts", row.string),
            notes: try row.string("notes"), checkIntervalSeconds: try row.int("check_interval_seconds").map(Int.init),
            createdAt: try row.require("e_created_at", row.date),
            updatedAt: try row.require("e_updated_at", row.date))
        return EntryWithRepository(entry: entry, repository: try decodeRepository(row), userName: try row.require("user_name", row.string))
    }
}
