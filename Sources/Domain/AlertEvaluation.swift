import Foundation

/// What the alert rules look at in one health report of a repository.
public struct AlertSnapshot: Sendable, Equatable {
    /// The health score, 0–100 (nil: not computed).
    public var healthScore: Double?
    /// The Scorecard aggregate, 0–10 (nil: Scorecard gave none).
    public var scorecardScore: Double?
    /// Each Scorecard check's score, -1 when inconclusive.
    public var checks: [String: Int]
    /// The newest stored commit's date (nil: none in the stored window, or not known).
    public var lastCommitAt: Date?

    public init(healthScore: Double?, scorecardScore: Double?, checks: [String: Int], lastCommitAt: Date?) {
        self.healthScore = healthScore
        self.scorecardScore = scorecardScore
        self.checks = checks
        self.lastCommitAt = lastCommitAt
    }
}

/// One alert a rule raised: which rule (and, for a check, which check), the values before and after.
public struct Alert: Sendable, Equatable {
    public enum Rule: String, Sendable, CaseIterable {
        case scoreBelow = "score_below"
        case scoreDrop = "score_drop"
        case checkRegressed = "check_regressed"
        case inactiveDays = "inactive_days"
        case processing
        case failed
        case recovered
    }

    public var rule: Rule
    /// The check's name for `check_regressed`; nil otherwise.
    public var subject: String?
    public var previous: Double?
    public var current: Double?

    public init(rule: Rule, subject: String? = nil, previous: Double? = nil, current: Double? = nil) {
        self.rule = rule
        self.subject = subject
        self.previous = previous
        self.current = current
    }
}

extension AlertRules {
    /// The level rules (`score_below`, `inactive_days`) whose condition holds for `snapshot` at `now`: what is
    /// remembered between reports, so that a rule that stays violated alerts once, not on every re-check.
    public func violations(in snapshot: AlertSnapshot, now: Date) -> Set<Alert.Rule> {
        var violated = Set<Alert.Rule>()
        if let threshold = scoreBelow, let score = score(of: snapshot), score < threshold { violated.insert(.scoreBelow) }
        if let days = inactiveDays, let idle = Self.daysSince(snapshot.lastCommitAt, now: now), idle >= days {
            violated.insert(.inactiveDays)
        }
        return violated
    }

    /// The alerts a new report raises, compared with the previous report of the same repository, and the level
    /// rules violated now (to remember for the next report).
    ///
    /// - The first report (`previous` nil: the one made when the entry was added) raises none; its violations are
    ///   remembered, so a repository already below a threshold when it was added does not alert until it has
    ///   recovered and fallen again.
    /// - `score_below` and `inactive_days` alert when they become violated (not in `violatedBefore`), once.
    /// - `score_drop` alerts whenever a report's score is at least the drop below the previous report's.
    /// - `check_regressed` alerts once per check whose score fell; a check inconclusive (-1) on either side, or absent
    ///   from either report, is not compared.
    public func alerts(
        previous: AlertSnapshot?, current: AlertSnapshot, violatedBefore: Set<Alert.Rule>, now: Date
    ) -> (alerts: [Alert], violated: Set<Alert.Rule>) {
        let violated = violations(in: current, now: now)
        guard let previous else { return ([], violated) }
        var alerts: [Alert] = []
        let before = score(of: previous)
        let after = score(of: current)
        if violated.contains(.scoreBelow), !violatedBefore.contains(.scoreBelow) {
            alerts.append(Alert(rule: .scoreBelow, previous: before, current: after))
        }
        if let drop = scoreDrop, let before, let after, before - after >= drop - 1e-9 {
            alerts.append(Alert(rule: .scoreDrop, previous: before, current: after))
        }
        if let checks = checkRegressed {
            for (name, score) in current.checks.sorted(by: { $0.key < $1.key }) where checks.contains(name) {
                guard let old = previous.checks[name], old >= 0, score >= 0, score < old else { continue }
                alerts.append(Alert(rule: .checkRegressed, subject: name, previous: Double(old), current: Double(score)))
            }
        }
        if violated.contains(.inactiveDays), !violatedBefore.contains(.inactiveDays) {
            let days = Self.daysSince(current.lastCommitAt, now: now).map(Double.init)
            alerts.append(Alert(rule: .inactiveDays, previous: Self.daysSince(previous.lastCommitAt, now: now).map(Double.init), current: days))
        }
        return (alerts, violated)
    }

    /// The alerts of a run's end: `processing` when processing asked for by a user (an add, a retry or an explicit
    /// re-check — not a scheduled one) finished, `ready` or `failed`; `failed` when the repository becomes failed,
    /// `recovered` when a failed one becomes ready.
    public func alerts(runEndedWasFailed wasFailed: Bool, isFailed: Bool, requestedByUser: Bool) -> [Alert] {
        var alerts: [Alert] = []
        if processing && requestedByUser { alerts.append(Alert(rule: .processing)) }
        if failed && isFailed && !wasFailed { alerts.append(Alert(rule: .failed)) }
        if failed && wasFailed && !isFailed { alerts.append(Alert(rule: .recovered)) }
        return alerts
    }

    /// The score the score rules watch.
    func score(of snapshot: AlertSnapshot) -> Double? {
        metric == .health ? snapshot.healthScore : snapshot.scorecardScore
    }

    /// Whole days from `date` to `now` (nil when there is no date: inactivity is not assumed).
    public static func daysSince(_ date: Date?, now: Date) -> Int? {
        date.map { max(0, Int(now.timeIntervalSince($0) / 86_400)) }
    }
}

extension AlertSnapshot {
    /// What the rules look at in a stored health report (`{health, activity, scorecard, …}` as JSON text): the health
    /// score, the Scorecard aggregate the health score used, each check's score, and the last commit's date (the
    /// report's `computed_at` less its whole `days_since_last_commit`). Nil when the text is not a report.
    public init?(reportJSON: String) {
        guard case .object(let report)? = try? JSONDecoder().decode(JSONValue.self, from: Data(reportJSON.utf8)),
            case .object(let health)? = report["health"]
        else { return nil }
        var scorecardScore: Double?
        if case .array(let components)? = health["components"] {
            for case .object(let component) in components where component["signal"] == .string("scorecard_aggregate") {
                scorecardScore = component["value"]?.number
            }
        }
        var checks: [String: Int] = [:]
        if case .object(let scorecard)? = report["scorecard"], case .array(let items)? = scorecard["checks"] {
            for case .object(let check) in items {
                if case .string(let name)? = check["name"], let score = check["score"]?.number { checks[name] = Int(score) }
            }
        }
        var lastCommitAt: Date?
        if case .object(let activity)? = report["activity"], let days = activity["days_since_last_commit"]?.number,
            case .string(let computed)? = activity["computed_at"], let computedAt = try? Date(computed, strategy: .iso8601)
        {
            lastCommitAt = computedAt.addingTimeInterval(-days * 86_400)
        }
        self.init(healthScore: health["score"]?.number, scorecardScore: scorecardScore, checks: checks, lastCommitAt: lastCommitAt)
    }
}

extension Alert {
    /// The alert in one sentence, for people (a Slack message, a log line): `score_drop` → "health score fell from 81
    /// to 72 (-9)".
    public func summary(metric: AlertRules.Metric) -> String {
        let score = metric == .health ? "health score" : "Scorecard score"
        func text(_ value: Double?) -> String {
            guard let value else { return "unknown" }
            return value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
        }
        switch rule {
        case .scoreBelow:
            return "\(score) fell below the threshold: \(text(previous)) → \(text(current))"
        case .scoreDrop:
            let drop = previous.flatMap { p in current.map { p - $0 } }
            return "\(score) dropped by \(text(drop)): \(text(previous)) → \(text(current))"
        case .checkRegressed:
            return "Scorecard check \(subject ?? "?") regressed: \(text(previous)) → \(text(current))"
        case .inactiveDays:
            return "no commit for \(text(current)) days"
        case .processing where subject == "recheck_failed":
            return "processing finished: the re-check failed; the last report stands"
        case .processing:
            return "processing finished: \(subject ?? "done")"
        case .failed:
            return "the repository failed: \(subject ?? "unknown reason")"
        case .recovered:
            return "the repository recovered: it is ready again"
        }
    }
}
