import Domain
import Foundation
import Queue

/// The jobs of the watchlist pipeline (DESIGN.md): one queue each, one unfinished job per repository.
///
/// ```
/// POST /v1/watchlist ──tx──► repository-setup(generation) ──tx──► commit-backfill(generation, head) ─┐
///                            (clone or fetch, record head)  └───► health-analysis(generation, head) ─┴─► ready / failed
/// DELETE of the last entry ──tx──► repository-cleanup (maintenance queue)
/// ```
/// Every job carries what it is for: the run (`generation`) and, after setup, the head. A job that
/// finds its run or head is no longer wanted does nothing and ends (it is stale). Which job comes next
/// is not decided by the job that ends but by ``Lifecycle/reconcile(repository:in:)``, which runs in the
/// transaction that ends any pipeline job, however it ends.
public enum PipelineJobs {
    /// Shallow clone (or fetch into the cached clone) and record the head of run `generation`.
    public struct RepositorySetup: StageJob {
        public static let kind = "repository-setup"
        public static let queue = "repository-setup"
        public let repositoryID: UUID
        public let generation: Int
        public var head: String? { nil }
        public init(repositoryID: UUID, generation: Int, head: String? = nil) {
            self.repositoryID = repositoryID
            self.generation = generation
        }
    }

    /// Read the window's commits up to `head` from the clone and store them, resumably.
    public struct CommitBackfill: StageJob {
        public static let kind = "commit-backfill"
        public static let queue = "commit-backfill"
        public let repositoryID: UUID
        public let generation: Int
        public let head: String?
        public init(repositoryID: UUID, generation: Int, head: String?) {
            self.repositoryID = repositoryID
            self.generation = generation
            self.head = head
        }
    }

    /// Run Scorecard on the tree of `head` and record the result.
    public struct HealthAnalysis: StageJob {
        public static let kind = "health-analysis"
        public static let queue = "health-analysis"
        public let repositoryID: UUID
        public let generation: Int
        public let head: String?
        public init(repositoryID: UUID, generation: Int, head: String?) {
            self.repositoryID = repositoryID
            self.generation = generation
            self.head = head
        }
    }

    /// Remove a repository nobody watches any more: its row, its commits and its cached clone.
    public struct RepositoryCleanup: JobArguments {
        public static let kind = "repository-cleanup"
        public static let queue = "maintenance"
        public let repositoryID: UUID
        public init(repositoryID: UUID) { self.repositoryID = repositoryID }

        enum CodingKeys: String, CodingKey { case repositoryID = "repository_id" }

        /// One clean-up per repository at a time.
        public var options: JobOptions { JobOptions(uniqueKey: "\(Self.kind):\(repositoryID.uuidString.lowercased())") }
    }

    /// The queues the pipeline uses, in pipeline order, and the queue of maintenance jobs.
    public static let queues = ["repository-setup", "commit-backfill", "health-analysis", "maintenance"]

    /// Every queue the service runs — the pipeline's, maintenance, and webhook delivery — for what reports on them all
    /// (`GET /v1/queues`, `/metrics`, the admin page, `repowatch queue stats`).
    public static let serviceQueues = queues + [WebhookDeliveryJob.queue]

    /// The stage kinds, in pipeline order.
    public static let stageKinds = [RepositorySetup.kind, CommitBackfill.kind, HealthAnalysis.kind]

    /// The stage a pipeline job kind works on, for the repository's state and its errors.
    public static func stage(ofKind kind: String) -> ProcessingStage? {
        switch kind {
        case RepositorySetup.kind: .cloning
        case CommitBackfill.kind: .backfilling
        case HealthAnalysis.kind: .analyzing
        default: nil
        }
    }

    /// The unique key of a stage's job for a repository: at most one unfinished job of each stage per repository.
    static func uniqueKey(kind: String, repository id: UUID) -> String { keyPrefix(kind) + id.uuidString.lowercased() }

    static func keyPrefix(_ kind: String) -> String { kind + ":" }
}

/// A stage of the pipeline: it works on one repository for one run (and, after setup, one head); at most
/// one of its kind is unfinished per repository.
public protocol StageJob: JobArguments {
    var repositoryID: UUID { get }
    /// The run it is for (see ``Lifecycle``).
    var generation: Int { get }
    /// The head it is for (nil for setup, which finds it).
    var head: String? { get }
    init(repositoryID: UUID, generation: Int, head: String?)
}

extension StageJob {
    /// One unfinished job of this kind per repository; a newer run's job replaces a waiting older one.
    public var options: JobOptions {
        JobOptions(uniqueKey: PipelineJobs.uniqueKey(kind: Self.kind, repository: repositoryID), replacesWaiting: true)
    }
}

private enum StageJobKeys: String, CodingKey { case repositoryID = "repository_id", generation, head }

extension StageJob {
    // Ids are written lower-case everywhere (API, store), so the arguments are too.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: StageJobKeys.self)
        try container.encode(repositoryID.uuidString.lowercased(), forKey: .repositoryID)
        try container.encode(generation, forKey: .generation)
        try container.encodeIfPresent(head, forKey: .head)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: StageJobKeys.self)
        let text = try container.decode(String.self, forKey: .repositoryID)
        guard let id = UUID(uuidString: text) else {
            throw DecodingError.dataCorruptedError(forKey: .repositoryID, in: container, debugDescription: "not a UUID: \(text)")
        }
        // Jobs written before runs were counted carry none: generation 0 is never wanted, so they end as stale.
        self.init(
            repositoryID: id, generation: try container.decodeIfPresent(Int.self, forKey: .generation) ?? 0,
            head: try container.decodeIfPresent(String.self, forKey: .head))
    }
}

extension PipelineJobs.HealthAnalysis {
    /// Reasons that end the analysis for good when the job's previous attempt ended with the same one.
    ///
    /// Issue 10, finding 6: a repository whose Scorecard run hits the wall-clock or CPU limit once may have met a
    /// loaded host, so it is retried; a second time in a row it is the repository, and every further attempt
    /// would hold one of the few analysis slots for the whole limit again (three attempts of ten minutes: half
    /// an hour) to fail the same way. It fails with the reason; `POST …/retry` starts it again.
    public static let permanentOnRepeat: Set<String> = ["timed_out"]

    /// What the handler throws for `failure` on `attempt`, given the errors the job recorded for its earlier
    /// attempts (``JobRecord/errors``): permanent when `permanent` says so, or when the reason is one of
    /// ``permanentOnRepeat`` and the attempt just before this one failed with the same reason; else retried.
    /// - Parameters:
    ///   - failure: why this attempt failed.
    ///   - permanent: true when retrying cannot help whatever the history (`not_found`, `too_large`).
    ///   - attempt: this attempt's number (``ClaimedJob/attempt``).
    ///   - previousErrors: the job's recorded errors, one per failed attempt.
    public static func thrown(
        _ failure: PipelineFailure, permanent: Bool, attempt: Int, previousErrors: [JobError]
    ) -> any Error {
        if permanent { return failure.thrown(permanent: true) }
        guard permanentOnRepeat.contains(failure.reason), let previous = previousErrors.last, previous.attempt == attempt - 1,
            PipelineFailure.parse(previous.error).reason == failure.reason
        else { return failure }
        let repeated = PipelineFailure(
            reason: failure.reason, message: failure.message + " (the second attempt in a row to end so: not retried)")
        return repeated.thrown(permanent: true)
    }
}

extension PipelineJobs.RepositoryCleanup {
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
        self.init(repositoryID: id)
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

    /// What a handler throws for this failure: given up at once when retrying cannot help, else retried.
    public func thrown(permanent: Bool) -> any Error {
        permanent ? JobFailure.permanent(description) : self
    }
}
