import Domain
import Foundation
import Store

/// The jobs of the watchlist pipeline (DESIGN.md): one queue each, one unfinished job per repository.
///
/// ```
/// POST /v1/watchlist ──tx──► repository-setup ──tx──► commit-backfill ─┐
///                            (clone or fetch)   └───► health-analysis ─┴─► ready / failed
/// DELETE of the last entry ──tx──► repository-cleanup (maintenance queue)
/// ```
/// Each arrow is an enqueue inside the transaction that records the step before it, so a step is
/// never lost and never done twice at once (the unique keys below). Until a process registers a
/// handler for a kind, its jobs wait in their queue (visible in `GET /v1/queues`) — workers never
/// claim a kind they cannot run.
public enum PipelineJobs {
    /// Shallow clone (or fetch into the cached clone), record the head, then enqueue the next steps.
    public struct RepositorySetup: RepositoryJob {
        public static let kind = "repository-setup"
        public static let queue = "repository-setup"
        public let repositoryID: UUID
        public init(repositoryID: UUID) { self.repositoryID = repositoryID }
    }

    /// Read the window's commits from the clone and store them, resumably.
    public struct CommitBackfill: RepositoryJob {
        public static let kind = "commit-backfill"
        public static let queue = "commit-backfill"
        public let repositoryID: UUID
        public init(repositoryID: UUID) { self.repositoryID = repositoryID }
    }

    /// Run Scorecard on the clone and write the health report.
    public struct HealthAnalysis: RepositoryJob {
        public static let kind = "health-analysis"
        public static let queue = "health-analysis"
        public let repositoryID: UUID
        public init(repositoryID: UUID) { self.repositoryID = repositoryID }
    }

    /// Remove a repository nobody watches any more: its row, its commits and its cached clone.
    public struct RepositoryCleanup: RepositoryJob {
        public static let kind = "repository-cleanup"
        public static let queue = "maintenance"
        public let repositoryID: UUID
        public init(repositoryID: UUID) { self.repositoryID = repositoryID }
    }

    /// The queues the pipeline uses, in pipeline order, and the queue's own.
    public static let queues = ["repository-setup", "commit-backfill", "health-analysis", "maintenance"]

    /// The stage a pipeline job kind works on, for the repository's state and its errors.
    public static func stage(ofKind kind: String) -> ProcessingStage? {
        switch kind {
        case RepositorySetup.kind: .cloning
        case CommitBackfill.kind: .backfilling
        case HealthAnalysis.kind: .analyzing
        default: nil
        }
    }

    /// The queue with the pipeline's discard hooks: when a stage's job gives up (out of attempts, a
    /// permanent failure such as `too_large`, or a lease lost on its last attempt), its repository
    /// becomes `failed` — or stays `ready` with the error, for a re-check — in the same transaction.
    public static func withFailureHooks(_ queue: JobQueue) -> JobQueue {
        var queue = queue
        for kind in [RepositorySetup.kind, CommitBackfill.kind, HealthAnalysis.kind] {
            queue = queue.onDiscard(kind: kind) { job, tx in
                guard let stage = stage(ofKind: job.kind) else { return }
                let arguments = try job.arguments(as: RepositorySetup.self)
                try await tx.failRepository(
                    id: arguments.repositoryID, stage: stage, error: PipelineFailure.parse(job.error), attempts: job.attempt, now: Date())
            }
        }
        return queue
    }
}

/// A pipeline job: it works on one repository, and at most one of its kind is unfinished per repository.
public protocol RepositoryJob: JobArguments {
    var repositoryID: UUID { get }
    init(repositoryID: UUID)
}

extension RepositoryJob {
    /// One unfinished job of this kind per repository, however many users add it or ask for a re-check at once.
    public var uniqueKey: String { "\(Self.kind):\(repositoryID.uuidString.lowercased())" }

    /// Options that make the enqueue idempotent per repository.
    public var options: JobOptions { JobOptions(uniqueKey: uniqueKey) }
}

private enum RepositoryJobKeys: String, CodingKey { case repositoryID = "repository_id" }

extension RepositoryJob {
    // Ids are written lower-case everywhere (API, store), so the arguments are too.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: RepositoryJobKeys.self)
        try container.encode(repositoryID.uuidString.lowercased(), forKey: .repositoryID)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: RepositoryJobKeys.self)
        let text = try container.decode(String.self, forKey: .repositoryID)
        guard let id = UUID(uuidString: text) else {
            throw DecodingError.dataCorruptedError(forKey: .repositoryID, in: container, debugDescription: "not a UUID: \(text)")
        }
        self.init(repositoryID: id)
    }
}

extension PipelineFailure {
    /// What a handler throws for this failure: given up at once when retrying cannot help, else retried.
    public func thrown(permanent: Bool) -> any Error {
        permanent ? JobFailure.permanent(description) : self
    }
}
