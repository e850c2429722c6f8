import Domain
import Foundation

/// When a repository is looked at again, and what a check keeps.
public struct CheckSchedule: Sendable, Equatable {
    /// `recheck.interval`: the default between two checks.
    public var interval: Duration
    /// `recheck.min_interval`: the shortest an entry may ask for.
    public var minimumInterval: Duration
    /// The history window (`git.history_window`), for the activity in the report and the stored commits.
    public var window: Duration
    /// `git.max_commits`: at most this many commits of the window are kept.
    public var maxCommits: Int
    /// ±share of the interval, so repositories added together are not all re-checked together.
    public var jitter: Double
    /// `recheck.failure_backoff`: after the n-th failed re-check in a row the next is tried
    /// `failureBackoff · 2^(n-1)` later, at most `interval` later.
    public var failureBackoff: Duration
    /// `recheck.max_failures`: re-checks in a row that find the remote gone (or refusing the token)
    /// before the repository becomes `failed`.
    public var maxRecheckFailures: Int

    public init(
        interval: Duration, minimumInterval: Duration, window: Duration, maxCommits: Int = 1000, jitter: Double = 0.1,
        failureBackoff: Duration = .seconds(300), maxRecheckFailures: Int = 3
    ) {
        self.interval = interval
        self.minimumInterval = minimumInterval
        self.window = window
        self.maxCommits = maxCommits
        self.jitter = jitter
        self.failureBackoff = failureBackoff
        self.maxRecheckFailures = maxRecheckFailures
    }

    /// Failure reasons that mean the repository cannot be read any more: its remote is gone, moved (a
    /// redirect), or it refuses (or we cannot open) the token. Re-checks that keep failing so end `failed`.
    public static let gone: Set<String> = ["not_found", "auth_required", "token_unavailable", "empty_repository", "redirected"]

    /// Failure reasons that are this service's own refusal (the host was removed from `repos.allowed_hosts`):
    /// a re-check that meets one ends `failed` at once.
    public static let refused: Set<String> = ["host_not_allowed", "private_address"]

    /// Failure reasons that time may cure — the network, a throttling or overloaded host, a name that did not
    /// resolve, git running past its time limit, an unexpected error. A first run that ends `failed` with one is
    /// tried again by the scheduler (``retryAfterTransientFailure(_:stage:reason:at:)``); `next_check_at` shows when.
    public static let transient: Set<String> = ["git_failed", "timed_out", "rate_limited", "unresolved", "clone_removed", "error"]

    /// The waits before the automatic retries of a failed repository: an hour, six hours, then a day.
    public static let transientRetryDelays: [Double] = [3600, 6 * 3600, 86_400]

    /// Automatic retries in a row after transient failures (about five days with the delays above); then the
    /// repository stays `failed` until a user retries it.
    public static let maxTransientRetries = 7

    /// When a repository whose first run failed (`failures`-th time in a row) is retried by itself, or nil
    /// when the reason is not transient, the retries are used up, or Scorecard ran past its time limit (the
    /// repository's content, not the moment, decides that: a push and a user's retry try again).
    public func retryAfterTransientFailure(_ failures: Int, stage: ProcessingStage, reason: String, at now: Date) -> Date? {
        guard Self.transient.contains(reason), failures <= Self.maxTransientRetries else { return nil }
        if stage == .analyzing && reason == "timed_out" { return nil }
        let delays = Self.transientRetryDelays
        let seconds = delays[min(max(failures - 1, 0), delays.count - 1)]
        return now.addingTimeInterval(seconds * (1 + Double.random(in: 0...jitter)))
    }

    /// When the check after one completed `now` is due: the shortest interval an entry asks for (not
    /// below the minimum), else the default, ± jitter.
    public func nextCheck(after now: Date, asked: Int?) -> Date {
        let seconds = max(asked.map(Double.init) ?? interval.seconds, minimumInterval.seconds)
        return now.addingTimeInterval(seconds * (1 + Double.random(in: -jitter...jitter)))
    }

    /// When to try again after the `failures`-th failed re-check in a row: exponential, capped by the interval.
    public func nextCheck(afterFailures failures: Int, at now: Date) -> Date {
        let exponent = Double(min(max(failures - 1, 0), 30))
        let seconds = min(failureBackoff.seconds * pow(2, exponent), interval.seconds)
        return now.addingTimeInterval(seconds * (1 + Double.random(in: 0...jitter)))
    }
}
