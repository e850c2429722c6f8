import Foundation

/// What a user sees of a repository's processing: the seed's three states.
public enum ProcessingStatus: String, Sendable, Codable, CaseIterable {
    /// Queued or being worked on for the first time (or again after a retry).
    case processing
    /// Processed; a report is available. Stays `ready` while a re-check runs (`refreshing`).
    case ready
    /// Gave up after the retries; `lastError` names the stage and the reason.
    case failed
}

/// The finer step a repository is in. `done` once it is ready.
public enum ProcessingStage: String, Sendable, Codable, CaseIterable {
    case queued, cloning, backfilling, analyzing, done
}

/// The processing state machine of DESIGN.md, in plain Swift.
///
/// ```
///            start(stage)/report            complete
///  queued ──► processing(stage, progress) ──────────► ready(done) ──recheck──► ready(refreshing)
///                     │  fail                            ▲                        │ complete / fail
///                     ▼                                  └────────────────────────┘ (a failed re-check keeps
///                  failed ──retry──► processing(queued)                               the last report: ready;
///                                                                                     abandon: failed)
/// ```
/// Every method either returns the next state or throws ``InvalidTransition``; the store writes the
/// result in the same transaction that records the work, so states never drift (seed 001).
public struct ProcessingState: Sendable, Equatable {
    public private(set) var status: ProcessingStatus
    public private(set) var stage: ProcessingStage
    /// 0...100 within the current stage.
    public private(set) var progress: Int
    /// True while a ready repository is being re-checked.
    public private(set) var refreshing: Bool
    public private(set) var startedAt: Date?
    public private(set) var completedAt: Date?
    public private(set) var lastError: String?

    public init(
        status: ProcessingStatus,
        stage: ProcessingStage,
        progress: Int = 0,
        refreshing: Bool = false,
        startedAt: Date? = nil,
        completedAt: Date? = nil,
        lastError: String? = nil
    ) {
        self.status = status
        self.stage = stage
        self.progress = min(max(progress, 0), 100)
        self.refreshing = refreshing
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.lastError = lastError
    }

    /// A repository just added: processing, queued, nothing started yet.
    public static let queued = ProcessingState(status: .processing, stage: .queued)

    /// True while work is under way (first run, retry or re-check).
    public var isActive: Bool { status == .processing || refreshing }

    /// A worker begins `stage`.
    public func start(_ stage: ProcessingStage, at now: Date) throws(InvalidTransition) -> ProcessingState {
        guard isActive else { throw InvalidTransition(from: self, action: "start \(stage.rawValue)") }
        guard stage != .queued && stage != .done else { throw InvalidTransition(from: self, action: "start \(stage.rawValue)") }
        var next = self
        next.stage = stage
        next.progress = 0
        // A run starts when work leaves `queued` (first run, retry) or `done` (a re-check).
        if self.stage == .queued || self.stage == .done {
            next.startedAt = now
        }
        return next
    }

    /// A worker reports how far along the current stage is (0...100).
    public func report(progress: Int) throws(InvalidTransition) -> ProcessingState {
        guard isActive, stage != .queued, stage != .done else { throw InvalidTransition(from: self, action: "report progress") }
        guard (0...100).contains(progress) else { throw InvalidTransition(from: self, action: "report progress \(progress)") }
        var next = self
        next.progress = progress
        return next
    }

    /// All stages finished: ready, with a completion time; a previous error is cleared.
    public func complete(at now: Date) throws(InvalidTransition) -> ProcessingState {
        guard isActive else { throw InvalidTransition(from: self, action: "complete") }
        return ProcessingState(status: .ready, stage: .done, progress: 100, startedAt: startedAt, completedAt: now)
    }

    /// A stage gave up after its retries. On a first run the repository becomes `failed`; a failed
    /// re-check keeps the last good report (`ready`) and records the error.
    public func fail(reason: String, at now: Date) throws(InvalidTransition) -> ProcessingState {
        guard isActive else { throw InvalidTransition(from: self, action: "fail") }
        let message = "\(stage.rawValue): \(reason)"
        if refreshing {
            return ProcessingState(status: .ready, stage: .done, progress: 100, startedAt: startedAt, completedAt: completedAt, lastError: message)
        }
        return ProcessingState(status: .failed, stage: stage, progress: progress, startedAt: startedAt, completedAt: now, lastError: message)
    }

    /// Work cannot succeed (a re-check that keeps finding the remote gone, say): `failed`, whether or not
    /// a report exists. Users see the reason; `retry` starts over.
    public func abandon(reason: String, at now: Date) throws(InvalidTransition) -> ProcessingState {
        guard isActive else { throw InvalidTransition(from: self, action: "abandon") }
        return ProcessingState(
            status: .failed, stage: stage, progress: progress, startedAt: startedAt, completedAt: now, lastError: "\(stage.rawValue): \(reason)")
    }

    /// A user asks to try a failed repository again.
    public func retry() throws(InvalidTransition) -> ProcessingState {
        guard status == .failed else { throw InvalidTransition(from: self, action: "retry") }
        return ProcessingState(status: .processing, stage: .queued, startedAt: nil, completedAt: nil, lastError: lastError)
    }

    /// A scheduled or requested re-check of a ready repository: it stays ready and is marked refreshing.
    public func recheck() throws(InvalidTransition) -> ProcessingState {
        guard status == .ready, !refreshing else { throw InvalidTransition(from: self, action: "recheck") }
        var next = self
        next.refreshing = true
        return next
    }
}

/// A transition the state machine does not allow.
public struct InvalidTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public let from: ProcessingState
    public let action: String
    public var description: String {
        "cannot \(action) while \(from.status.rawValue)/\(from.stage.rawValue)\(from.refreshing ? " (refreshing)" : "")"
    }
}
