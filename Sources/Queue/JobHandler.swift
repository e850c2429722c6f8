import Foundation
import Logging
import Store

/// Runs jobs of one kind.
public protocol JobHandler: Sendable {
    associatedtype Arguments: JobArguments
    /// Does the work. Throw to fail the attempt (it is retried with backoff while attempts are left),
    /// ``JobFailure/permanent(_:)`` to give up now, or ``JobFailure/snooze(for:reason:)`` to come back later.
    /// Cancellation means the lease was lost or the worker is shutting down: stop promptly.
    func handle(_ arguments: Arguments, context: JobContext) async throws
}

/// What a handler gets besides its arguments.
public struct JobContext: Sendable {
    public let job: ClaimedJob
    public let queue: JobQueue
    public let logger: Logger
    /// The id of the worker process running the job (host, pid and a random suffix).
    public let workerID: String

    public var store: any Store { queue.store }

    /// Reports progress (0...100, with a message) on the job; throws ``LeaseLost`` when the job is no longer ours.
    public func progress(_ percent: Int, _ message: String? = nil) async throws {
        guard try await queue.reportProgress(job, percent: percent, message: message) else { throw LeaseLost(jobID: job.id) }
    }

    /// Completes the job inside `tx`, so the work written there and the completion commit together
    /// (the handler then returns normally). Throws ``LeaseLost`` — rolling `tx` back — when the job is no longer ours.
    public func complete(in tx: any SQLExecutor) async throws {
        guard try await queue.complete(job, in: tx) else { throw LeaseLost(jobID: job.id) }
    }
}

/// Handlers by kind, and per-kind run-time limits.
public struct JobRegistry: Sendable {
    struct Entry: Sendable {
        let run: @Sendable (ClaimedJob, JobContext) async throws -> Void
        let timeout: Duration?
    }
    private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// Registers `handler` for its arguments' kind. `timeout` bounds one attempt (nil: no limit beyond the lease).
    public mutating func register<H: JobHandler>(_ handler: H, timeout: Duration? = nil) {
        entries[H.Arguments.kind] = Entry(run: { job, context in
            let arguments: H.Arguments
            do {
                arguments = try job.arguments(as: H.Arguments.self)
            } catch {
                throw JobFailure.permanent("arguments do not decode as \(H.Arguments.self): \(error)")
            }
            try await handler.handle(arguments, context: context)
        }, timeout: timeout)
    }

    public var kinds: [String] { entries.keys.sorted() }

    func entry(for kind: String) -> Entry? { entries[kind] }
}
