import Foundation

/// OpenSSF Scorecard's result, "JSON v2": what `scorecard --format=json` prints and what the bundled
/// `repowatch-scorecard` prints the same way (see ../shared/scorecard-fixtures/SOURCES.md).
///
/// Real output writes `null` for empty `details` and `metadata` (Scorecard's own schema says arrays):
/// both read as nil here, and nil is written back as `null`, as the official CLI does.
///
/// Read with ``parse(_:)`` (tolerant `Decodable`), written with ``json()`` alone: one writer, in the official key
/// order, for the bundled command's output and for what RepoWatch stores.
public struct ScorecardReport: Decodable, Sendable, Equatable {
    public struct Repository: Decodable, Sendable, Equatable {
        /// `github.com/OWNER/NAME`, or `file://DIR` in local mode.
        public var name: String
        /// The commit scored; `unknown` in local mode.
        public var commit: String
        public init(name: String, commit: String) {
            self.name = name
            self.commit = commit
        }
    }

    public struct Tool: Decodable, Sendable, Equatable {
        public var version: String
        public var commit: String
        public init(version: String, commit: String) {
            self.version = version
            self.commit = commit
        }
    }

    public struct Documentation: Decodable, Sendable, Equatable {
        public var short: String
        public var url: String
        public init(short: String, url: String) {
            self.short = short
            self.url = url
        }
    }

    public struct Check: Decodable, Sendable, Equatable {
        public var name: String
        /// 0...10, or -1: inconclusive (not applicable, or the check errored; its reason then starts `internal error:`).
        public var score: Int
        public var reason: String
        /// With `--show-details`: `Warn: …`, `Info: …`, `Debug: …` lines; nil when none (written `null`).
        public var details: [String]?
        public var documentation: Documentation

        public init(name: String, score: Int, reason: String, details: [String]?, documentation: Documentation) {
            self.name = name
            self.score = score
            self.reason = reason
            self.details = details
            self.documentation = documentation
        }

        enum CodingKeys: String, CodingKey { case name, score, reason, details, documentation }

        /// Reads a check tolerantly: unknown keys are ignored, `details` may be `null` or absent, and `score` may be
        /// written as an integer or as a float with an integral value (`7` or `7.0`). A fractional score, or one
        /// outside -1...10, is not a Scorecard check score and is rejected.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            let number = try container.decode(Double.self, forKey: .score)
            guard number.rounded() == number, number >= -1, number <= 10 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .score, in: container,
                    debugDescription: "a check score is an integer from -1 to 10, found \(number)")
            }
            score = Int(number)
            reason = try container.decode(String.self, forKey: .reason)
            details = try container.decodeIfPresent([String].self, forKey: .details)
            documentation = try container.decode(Documentation.self, forKey: .documentation)
        }

        /// True for an inconclusive result (score -1), which the aggregate leaves out.
        public var isInconclusive: Bool { score < 0 }
    }

    /// RFC 3339 time of the run.
    public var date: String
    public var repo: Repository
    public var scorecard: Tool
    /// The aggregate, one decimal; -1 when no check was conclusive.
    public var score: Double
    public var checks: [Check]
    public var metadata: [String]?

    public init(date: String, repo: Repository, scorecard: Tool, score: Double, checks: [Check], metadata: [String]?) {
        self.date = date
        self.repo = repo
        self.scorecard = scorecard
        self.score = score
        self.checks = checks
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey { case date, repo, scorecard, score, checks, metadata }

    /// Reads a report tolerantly: unknown keys are ignored, `metadata` may be `null` or absent, and `score` may be
    /// an integer or a float. Prefer ``parse(_:)``, which also tells bad JSON from a wrong shape.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        date = try container.decode(String.self, forKey: .date)
        repo = try container.decode(Repository.self, forKey: .repo)
        scorecard = try container.decode(Tool.self, forKey: .scorecard)
        score = try container.decode(Double.self, forKey: .score)
        checks = try container.decode([Check].self, forKey: .checks)
        metadata = try container.decodeIfPresent([String].self, forKey: .metadata)
    }
}

extension ScorecardReport {
    /// The report as one line of JSON, as the official CLI's `--format json` prints it: its key order (date, repo,
    /// scorecard, score, checks with details/score/reason/name/documentation{url, short}, metadata), `null` for nil lists, `<`,
    /// `>`, `&`, U+2028 and U+2029 escaped as Go's encoder does, an integral score without a decimal point.
    public func json() -> String {
        func string(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "<": out += "\\u003c"
                case ">": out += "\\u003e"
                case "&": out += "\\u0026"
                case "\u{2028}": out += "\\u2028"
                case "\u{2029}": out += "\\u2029"
                default:
                    if scalar.value < 0x20 {
                        out += String(format: "\\u%04x", scalar.value)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            return out + "\""
        }
        func list(_ items: [String]?) -> String {
            guard let items else { return "null" }
            return "[" + items.map(string).joined(separator: ",") + "]"
        }
        func number(_ value: Double) -> String {
            value == value.rounded() ? String(Int(value)) : String(value)
        }
        let checks = checks.map { check in
            "{\"details\":\(list(check.details)),\"score\":\(check.score),\"reason\":\(string(check.reason)),"
                + "\"name\":\(string(check.name)),\"documentation\":{\"url\":\(string(check.documentation.url)),"
                + "\"short\":\(string(check.documentation.short))}}"
        }
        return "{\"date\":\(string(date)),\"repo\":{\"name\":\(string(repo.name)),"
            + "\"commit\":\(string(repo.commit))},\"scorecard\":{\"version\":\(string(scorecard.version)),"
            + "\"commit\":\(string(scorecard.commit))},\"score\":\(number(score)),"
            + "\"checks\":[\(checks.joined(separator: ","))],\"metadata\":\(list(metadata))}"
    }

    /// The report naming what RepoWatch analysed: `repo.name` the repository as the official CLI names a remote one
    /// (`host/owner/name`), `repo.commit` the head analysed — never the clone's folder (`file:///…`, local mode) or
    /// `unknown`.
    public func naming(repository: String, head: String) -> ScorecardReport {
        var named = self
        named.repo = Repository(name: repository, commit: head)
        return named
    }
}

/// A check's risk, which sets its weight in the aggregate (Scorecard's docs/checks.md).
public enum ScorecardRisk: String, Sendable, CaseIterable, Codable {
    case critical = "Critical", high = "High", medium = "Medium", low = "Low"

    public var weight: Double {
        switch self {
        case .critical: 10
        case .high: 7.5
        case .medium: 5
        case .low: 2.5
        }
    }

    /// The risk of every official check (SOURCES.md; `scorecard/checks.csv` holds the same table).
    public static let byCheck: [String: ScorecardRisk] = [
        "Dangerous-Workflow": .critical,
        "Binary-Artifacts": .high, "Branch-Protection": .high, "Code-Review": .high, "Dependency-Update-Tool": .high,
        "Maintained": .high, "Signed-Releases": .high, "Token-Permissions": .high, "Vulnerabilities": .high,
        "Fuzzing": .medium, "Packaging": .medium, "Pinned-Dependencies": .medium, "SAST": .medium, "Security-Policy": .medium,
        "CI-Tests": .low, "CII-Best-Practices": .low, "Contributors": .low, "License": .low,
    ]
}

extension ScorecardReport {
    /// Σ(weight·score)/Σ(weight) over the conclusive checks (score ≥ 0) with a known risk, unrounded;
    /// nil when there is none. The official CLI prints it with one decimal.
    public static func aggregate(of checks: [Check]) -> Double? {
        var weighted = 0.0
        var weights = 0.0
        for check in checks where check.score >= 0 {
            guard let risk = ScorecardRisk.byCheck[check.name] else { continue }
            weighted += risk.weight * Double(check.score)
            weights += risk.weight
        }
        return weights > 0 ? weighted / weights : nil
    }

    /// The aggregate as the CLI prints it: one decimal, -1 without a conclusive check.
    public static func printedAggregate(of checks: [Check]) -> Double {
        guard let value = aggregate(of: checks) else { return -1 }
        return (value * 10).rounded() / 10
    }
}
