import Domain
import Foundation
import HTTPTypes
import Pipeline
import Queue
import Settings
import Store

/// The use cases behind the watchlist routes (the v1 API and the seed-compatible one share them).
///
/// Adding an entry is one transaction: find or create the repository, find or create the entry,
/// and let the lifecycle make sure its work is under way (a new repository's `repository-setup` job,
/// unique per repository). Either all of it is written or none of it: there is no entry without its
/// job, and no job for a rolled-back entry.
struct WatchlistService: Sendable {
    let store: any Store
    /// The owner of the repositories' lifecycle: adds, retries and re-checks go through it.
    let lifecycle: Lifecycle
    let queue: JobQueue
    let settings: Settings
    /// Seals repository tokens; nil when no key is configured (tokens are then refused).
    let tokens: TokenCipher?
    /// Told after an entry is deleted (its live streams end; on PostgreSQL a trigger tells every process too).
    var entryDeleted: @Sendable (UUID) -> Void = { _ in }

    /// Validates and adds `repoURL` to `userID`'s watchlist.
    ///
    /// With a `token`, the repository is private to the user (see ``SQLExecutor/addToWatchlist``) and
    /// the token is stored sealed in the same transaction; a later add with a new token replaces it.
    func add(
        userID: UUID, repoURL: String, alerts: JSONValue?, notes: String?, token: String? = nil, checkIntervalSeconds: Int? = nil
    ) async throws -> (entry: EntryWithRepository, created: Bool) {
        let url: RepositoryURL
        do {
            url = try settings.repositoryURL(repoURL)
        } catch {
            throw APIError(.unprocessableContent, code: error.code.rawValue, error.message, details: ["field": "repo_url"])
        }
        let notes = try validNotes(notes)
        let token = try validToken(token)
        let alertsText = try AlertRules.validated(alerts).json.text
        let now = Date()
        let tokens = self.tokens
        let result = try await store.transaction { [lifecycle] tx in
            let added = try await tx.addToWatchlist(
                userID: userID, url: url, privateTo: token == nil ? nil : userID, alertsJSON: alertsText, notes: notes,
                checkIntervalSeconds: checkIntervalSeconds, now: now)
            let repositoryID = added.entry.repository.id
            if let token, let tokens {
                try await tx.setRepositoryToken(sealed: try tokens.seal(token, boundTo: repositoryID), repository: repositoryID, privateTo: userID)
            }
            try await lifecycle.added(repository: repositoryID, entry: added.entryCreated ? added.entry.entry.id : nil, in: tx)
            return added
        }
        return (result.entry, result.entryCreated)
    }

    /// Deletes an entry; when nobody watches its repository any more, enqueues the repository's
    /// clean-up (row, commits, cached clone) in the same transaction.
    /// - Returns: false when there is no such entry for `caller`.
    func delete(id: UUID, caller: Caller) async throws -> Bool {
        let deleted = try await store.transaction { [queue] tx in
            guard let deleted = try await tx.deleteEntry(id: id, visibleTo: caller) else { return false }
            if !deleted.stillWatched {
                let cleanup = PipelineJobs.RepositoryCleanup(repositoryID: deleted.repositoryID)
                try await queue.enqueue(cleanup, options: cleanup.options, in: tx)
            }
            return true
        }
        if deleted { entryDeleted(id) }
        return deleted
    }

    /// `POST …/retry` (a failed repository starts over) or `…/recheck` (look again now): a new run of the
    /// repository's pipeline, its state change and its `repository-setup` job in one transaction; the job
    /// is unique per repository, so asking twice enqueues once. 409 when the state does not allow it.
    func restart(_ id: String?, for caller: Caller, retry: Bool) async throws -> EntryWithRepository {
        let entry = try await entry(id, for: caller)
        let repositoryID = entry.repository.id
        let outcome = try await store.transaction { [lifecycle] tx -> RestartOutcome? in
            let entryID = entry.entry.id
            return retry
                ? try await lifecycle.retry(repository: repositoryID, requestedBy: entryID, in: tx)
                : try await lifecycle.recheck(repository: repositoryID, requestedBy: entryID, in: tx)
        }
        switch outcome {
        case .refused(let state)?:
            throw APIError(.conflict, code: retry ? "not_failed" : "failed",
                           retry ? "only a failed repository can be retried; this one is \(state.status.rawValue)"
                                 : "a failed repository is retried, not re-checked: POST …/retry")
        case .restarted?:
            return try await self.entry(entry.entry.id.lowercased, for: caller)
        case nil:
            throw APIError.notFound("no watchlist entry with id \(entry.entry.id.lowercased)")
        }
    }

    /// `check_interval`: a duration (`6h`, `30m`, `2d`) from `recheck.min_interval` to 365 days, in seconds.
    func validInterval(_ text: String?) throws -> Int? {
        guard let text else { return nil }
        let minimum = settings.recheck.minimumInterval.seconds
        guard let duration = parseDuration(text), duration.seconds >= minimum, duration.seconds <= 365 * 86_400 else {
            throw APIError(.unprocessableContent, code: "invalid_field",
                           "field 'check_interval' must be a duration such as 6h or 2d, from \(Int(minimum)) seconds (recheck.min_interval) to 365d",
                           details: ["field": "check_interval"])
        }
        return Int(duration.seconds.rounded())
    }

    /// A token is 1–4096 visible ASCII characters; refused when no key is configured to seal it.
    func validToken(_ token: String?) throws -> String? {
        guard let token else { return nil }
        guard !token.isEmpty, token.utf8.count <= 4096, token.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            // The value is never echoed back.
            throw APIError(.unprocessableContent, code: "invalid_field",
                           "field 'token' must be 1 to 4096 visible ASCII characters", details: ["field": "token"])
        }
        guard tokens != nil else {
            throw APIError(.unprocessableContent, code: "tokens_not_configured",
                           "this server stores no repository tokens until secrets.token_key is set", details: ["field": "token"])
        }
        return token
    }

    func validNotes(_ notes: String?) throws -> String? {
        guard let notes else { return nil }
        // Counted in Unicode scalars, as JSON Schema's maxLength counts characters.
        guard notes.unicodeScalars.count <= settings.notesMaxLength else {
            throw APIError(.unprocessableContent, code: "notes_too_long",
                           "field 'notes' is longer than \(settings.notesMaxLength) characters", details: ["field": "notes"])
        }
        guard !notes.unicodeScalars.contains(where: { $0.value == 0 }) else {
            // PostgreSQL text cannot hold NUL, and both engines must accept the same input.
            throw APIError(.unprocessableContent, code: "invalid_field", "field 'notes' must not contain NUL characters", details: ["field": "notes"])
        }
        return notes
    }

    /// The entry `id` as `caller` may see it, or 404.
    func entry(_ id: String?, for caller: Caller) async throws -> EntryWithRepository {
        guard let id, let uuid = UUID(uuidString: id) else { throw APIError.notFound("no watchlist entry with id \(id ?? "")") }
        guard let entry = try await store.read({ try await $0.entry(id: uuid, visibleTo: caller) }) else {
            throw APIError.notFound("no watchlist entry with id \(id)")
        }
        return entry
    }
}
