import Pipeline
import Settings

extension CheckSchedule {
    /// The schedule and retention of checks as configured (`recheck.*`, `git.history_window`, `git.max_commits`).
    public init(settings: Settings) {
        self.init(
            interval: settings.recheck.interval, minimumInterval: settings.recheck.minimumInterval, window: settings.git.historyWindow,
            maxCommits: settings.git.maxCommits, failureBackoff: settings.recheck.failureBackoff,
            maxRecheckFailures: settings.recheck.maxFailures)
    }
}
