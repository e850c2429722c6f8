import Foundation

/// Where a job is in its life.
///
/// ```
/// available ──claim──► running ──complete──► completed
///     ▲                  │  └─fail, attempts left──► retryable ──(run_at)──► claimed again
///     │                  ├─fail, no attempts left──► discarded (kept, with its errors; retry by hand)
///     └──retry/release───┴─cancel──► cancelled
/// ```
public enum JobState: String, Sendable, Codable, CaseIterable {
    case available, running, retryable, completed, discarded, cancelled

    /// States a unique key is held in: while a job is in one of these, no other job with its key can exist.
    public static let active: [JobState] = [.available, .running, .retryable]

    public var isFinished: Bool { self == .completed || self == .discarded || self == .cancelled }
}

/// The typed arguments of a job kind. The kind's name is stored with the job; handlers are found by it.
public protocol JobArguments: Codable, Sendable {
    /// Stable name of the kind, e.g. `prune-jobs`.
    static var kind: String { get }
    /// Queue the kind runs on unless the enqueuer says otherwise.
    static var queue: String { get }
}

/// How to enqueue one job.
public struct JobOptions: Sendable {
    /// Queue to put it on (defaults to the kind's).
    public var queue: String?
    /// Lower runs first; ties run oldest `runAt` first.
    public var priority: Int
    /// Earliest time it may run (nil: now).
    public var runAt: Date?
    /// Attempts before it is discarded (nil: the queue's configured default).
    public var maxAttempts: Int?
    /// While a job with this key is available, running or retryable, enqueueing another with the same
    /// key returns the existing one instead.
    public var uniqueKey: String?
    /// When a job holding `uniqueKey` is waiting (available or retryable, not running) with other
    /// arguments, it takes these instead and its attempts start over: a newer request replaces one
    /// that has not started, rather than waiting behind it. A running job is never touched.
    public var replacesWaiting: Bool

    public init(
        queue: String? = nil, priority: Int = 0, runAt: Date? = nil, maxAttempts: Int? = nil, uniqueKey: String? = nil,
        replacesWaiting: Bool = false
    ) {
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
        self.replacesWaiting = replacesWaiting
    }
}

/// What enqueueing did.
public struct EnqueueResult: Sendable, Equatable {
    public init(jobID: Int64, inserted: Bool, replaced: Bool = false) {
        self.jobID = jobID
        self.inserted = inserted
        self.replaced = replaced
    }
    public let jobID: Int64
    /// False when an unfinished job with the same unique key already existed (and `jobID` is that job).
    public let inserted: Bool
    /// True when that job was waiting and took the new arguments (``JobOptions/replacesWaiting``).
    public let replaced: Bool
}

/// One error, recorded per failed attempt.
public struct JobError: Sendable, Codable, Equatable {
    public let attempt: Int
    public let at: Date
    public let error: String
}

/// A job as stored, for inspection (admin API, CLI, tests).
public struct JobRecord: Sendable, Equatable {
    public let id: Int64
    public let queue: String
    public let kind: String
    public let argsJSON: String
    public let uniqueKey: String?
    public let state: JobState
    public let priority: Int
    public let attempt: Int
    public let maxAttempts: Int
    public let runAt: Date
    public let leaseOwner: String?
    public let leaseExpiresAt: Date?
    public let heartbeatAt: Date?
    public let progress: Int
    public let progressMessage: String?
    public let errors: [JobError]
    public let createdAt: Date
    public let attemptedAt: Date?
    public let finalizedAt: Date?
    public let updatedAt: Date
}

/// A job a worker has claimed: what it needs to run it and to report on it.
public struct ClaimedJob: Sendable {
    public let id: Int64
    public let queue: String
    public let kind: String
    public let argsJSON: String
    public let attempt: Int
    public let maxAttempts: Int
    public let priority: Int
    public let runAt: Date
    /// Proof of the lease: every later write about this job must present it (fencing).
    public let leaseToken: UUID
    public let leaseExpiresAt: Date

    /// Decodes the arguments.
    public func arguments<A: JobArguments>(as type: A.Type) throws -> A {
        try JSONDecoder.jobs.decode(A.self, from: Data(argsJSON.utf8))
    }
}

extension JSONEncoder {
    /// How job arguments and errors are written: sorted keys, so equal arguments give equal text.
    static var jobs: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static var jobs: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// A handler tells the queue what to do instead of the default retry by throwing one of these.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    enum Action: Sendable { case discard, snooze(Duration), retryNoSoonerThan(Duration) }
    let action: Action
    public let description: String

    /// Give up now, whatever attempts are left (what does not exist will not appear on retry).
    public static func permanent(_ reason: String) -> JobFailure { JobFailure(action: .discard, description: reason) }

    /// Try again after `delay` without using up an attempt ("the clone is busy").
    public static func snooze(for delay: Duration, reason: String) -> JobFailure {
        JobFailure(action: .snooze(delay), description: reason)
    }

    /// A failed attempt like any other (it uses up an attempt, and is discarded when none is left), retried no
    /// sooner than `delay` — when the other side said how long to wait ("rate limit spent, resets in 40 min"). The
    /// retry comes at the later of the policy's backoff and `delay`, but never later than the policy's maximum
    /// delay: a server cannot park a job for a year.
    public static func retry(noSoonerThan delay: Duration, reason: String) -> JobFailure {
        JobFailure(action: .retryNoSoonerThan(delay), description: reason)
    }
}
