import Foundation
import Logging
import Pipeline
import Queue
import Store

/// `repository-cleanup`: when the last entry on a repository was deleted, remove the repository (its
/// commits go with it), cancel its unfinished stage jobs, and remove its clone from this host's cache.
/// Someone adding it again in the meantime wins: the repository then stays.
struct RepositoryCleanupHandler: JobHandler {
    let ingestion: Ingestion

    func handle(_ arguments: PipelineJobs.RepositoryCleanup, context: JobContext) async throws {
        let id = arguments.repositoryID
        let lifecycle = ingestion.lifecycle
        let deleted = try await context.store.transaction { tx in
            let deleted = try await lifecycle.removeUnwatched(repository: id, in: tx)
            try await context.complete(in: tx)
            return deleted
        }
        guard deleted else {
            context.logger.info("repository is watched again; kept", metadata: ["repository": "\(id)"])
            return
        }
        try await ingestion.cache.remove(id)
        context.logger.info("removed an unwatched repository and its clone", metadata: ["repository": "\(id)"])
    }
}
