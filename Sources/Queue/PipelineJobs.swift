import Foundation

/// The jobs of the watchlist pipeline (DESIGN.md): one queue each, one unfinished job per repository.
///
/// `repository-setup` is enqueued by `POST /v1/watchlist` in the transaction that creates the
/// repository; its handler (shallow clone or fetch), `commit-backfill` and `health-analysis` are
/// built by the git-ingestion and health-analysis work. Until a process registers a handler for a
/// kind, its jobs wait in their queue (visible in `GET /v1/queues`) — workers never claim a kind
/// they cannot run.
public enum PipelineJobs {
    public struct RepositorySetup: JobArguments {
        public static let kind = "repository-setup"
        public static let queue = "repository-setup"
        public let repositoryID: UUID

        public init(repositoryID: UUID) { self.repositoryID = repositoryID }

        /// One unfinished setup job per repository, however many users add it at once.
        public var uniqueKey: String { "repository-setup:\(repositoryID.uuidString.lowercased())" }

        enum CodingKeys: String, CodingKey { case repositoryID = "repository_id" }

        // Ids are written lower-case everywhere (API, store), so the arguments are too.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(repositoryID.uuidString.lowercased(), forKey: .repositoryID)
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let text = try container.decode(String.self, forKey: .repositoryID)
            guard let id = UUID(uuidString: text) else {
                throw DecodingError.dataCorruptedError(forKey: .repositoryID, in: container, debugDescription: "not a UUID: \(text)")
            }
            repositoryID = id
        }
    }

    /// The queues the pipeline uses, in pipeline order, and the queue's own.
    public static let queues = ["repository-setup", "commit-backfill", "health-analysis", "maintenance"]
}
