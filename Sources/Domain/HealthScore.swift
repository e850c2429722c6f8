import Foundation

/// The overall health of a repository: a weighted mix of the Scorecard aggregate and activity signals,
/// each normalised the way OpenSSF criticality_score does, `ln(1 + min(S, T)) / ln(1 + T)` for a
/// threshold `T` (a signal at or past its threshold counts fully; the logarithm rewards the first
/// steps most).
///
/// | signal | weight | normalised | threshold |
/// |---|---:|---|---:|
/// | Scorecard aggregate (0–10) | 0.50 | aggregate / 10 | – |
/// | days since the last commit | 0.15 | 1 − ln(1+min(d,T))/ln(1+T) (recent is good) | 365 |
/// | commits in the last 90 days | 0.10 | ln(1+min(c,T))/ln(1+T) | 100 |
/// | active authors in the last 90 days | 0.15 | ln(1+min(a,T))/ln(1+T) | 10 |
/// | bus factor | 0.10 | ln(1+min(b,T))/ln(1+T) | 5 |
///
/// A signal that could not be measured is listed in `missing`, counts as 0 — it never drops out and
/// so never raises the score — and lowers `confidence`, the share of the weight that was measured.
/// `score` is 0–100, one decimal.
public struct HealthScore: Sendable, Equatable, Codable {
    public enum Signal: String, Sendable, Codable, CaseIterable {
        case scorecard = "scorecard_aggregate"
        case freshness = "days_since_last_commit"
        case commits = "commits_90d"
        case authors = "active_authors_90d"
        case busFactor = "bus_factor"

        public var weight: Double {
            switch self {
            case .scorecard: 0.50
            case .freshness: 0.15
            case .commits: 0.10
            case .authors: 0.15
            case .busFactor: 0.10
            }
        }

        /// The criticality_score threshold (nil for the Scorecard aggregate, already on a 0–10 scale).
        public var threshold: Double? {
            switch self {
            case .scorecard: nil
            case .freshness: 365
            case .commits: 100
            case .authors: 10
            case .busFactor: 5
            }
        }
    }

    /// One signal's contribution.
    public struct Component: Sendable, Equatable, Codable {
        public var signal: Signal
        /// The raw value, nil when it could not be measured.
        public var value: Double?
        /// 0...1, nil when missing.
        public var normalized: Double?
        public var weight: Double
    }

    public var score: Double
    /// 0...1: the share of the weight whose signal was measured.
    public var confidence: Double
    public var components: [Component]
    public var missing: [Signal]

    /// `ln(1 + min(value, threshold)) / ln(1 + threshold)`, for non-negative values.
    public static func normalize(_ value: Double, threshold: Double) -> Double {
        let v = max(0, value)
        return log(1 + min(v, threshold)) / log(1 + threshold)
    }

    /// - Parameters: each nil when it could not be measured (no Scorecard result, an unknown last commit…).
    public init(scorecardAggregate: Double?, daysSinceLastCommit: Int?, commits90d: Int?, activeAuthors90d: Int?, busFactor: Int?) {
        let values: [Signal: Double?] = [
            .scorecard: scorecardAggregate.flatMap { $0 >= 0 ? $0 : nil },
            .freshness: daysSinceLastCommit.map(Double.init),
            .commits: commits90d.map(Double.init),
            .authors: activeAuthors90d.map(Double.init),
            .busFactor: busFactor.map(Double.init),
        ]
        var total = 0.0
        var measured = 0.0
        var components: [Component] = []
        var missing: [Signal] = []
        for signal in Signal.allCases {
            guard let value = values[signal] ?? nil else {
                missing.append(signal)
                components.append(Component(signal: signal, value: nil, normalized: nil, weight: signal.weight))
                continue
            }
            let normalized: Double
            switch signal {
            case .scorecard: normalized = min(max(value / 10, 0), 1)
            case .freshness: normalized = 1 - Self.normalize(value, threshold: signal.threshold ?? 1)
            default: normalized = Self.normalize(value, threshold: signal.threshold ?? 1)
            }
            total += signal.weight * normalized
            measured += signal.weight
            components.append(Component(signal: signal, value: value, normalized: normalized, weight: signal.weight))
        }
        self.score = (total * 1000).rounded() / 10
        self.confidence = (measured * 100).rounded() / 100
        self.components = components
        self.missing = missing
    }
}
