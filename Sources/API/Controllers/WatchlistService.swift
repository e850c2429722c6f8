import Domain
import Foundation
import HTTPTypes
import Settings
import Queue
import Store

/// The use cases behind the watchlist routes (the v1 API and the seed-compatible one share them).
///
/// Adding an entry is one transaction: find or create the repository, find or create the entry,
/// and, for a new repository, enqueue its `repository-setup` job (unique per repository). Either all
/// of it is written or none of it: there is no entry without its job, and no job for a rolled-back entry.
struct WatchlistService: Sendable {
    let store: any Store
    let queue: JobQueue
    let settings: Settings

    /// Validates and adds `repoURL` to `userID`'s watchlist.
    func add(userID: UUID, repoURL: String, alerts: JSONValue?, notes: String?) async throws -> (entry: EntryWithRepository, created: Bool) {
        let url: RepositoryURL
        do {
            url = try settings.repositoryURL(repoURL)
        } catch {
            throw APIError(.unprocessableContent, code: error.code.rawValue, error.message, details: ["field": "repo_url"])
        }
        let notes = try validNotes(notes)
        let alertsText = (alerts ?? .object([:])).text
        let now = Date()
        let result = try await store.transaction { [queue] tx in
            let added = try await tx.addToWatchlist(userID: userID, url: url, alertsJSON: alertsText, notes: notes, now: now)
            if added.repositoryCreated {
                let setup = PipelineJobs.RepositorySetup(repositoryID: added.entry.repository.id)
                try await queue.enqueue(setup, options: .init(uniqueKey: setup.uniqueKey), in: tx)
            }
            return added
        }
        return (result.entry, result.entryCreated)
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
