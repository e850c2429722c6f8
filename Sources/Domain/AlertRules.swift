import Foundation

/// A watchlist entry's alert rules (`alerts` in the API): which changes of its repository raise an alert.
///
/// ```json
/// {"score_below": 60, "score_drop": 5, "check_regressed": ["Dangerous-Workflow"], "inactive_days": 90,
///  "processing": true, "failed": true}
/// ```
///
/// | key | value | raises an alert when |
/// |---|---|---|
/// | `metric` | `"health"` (default) or `"scorecard"` | — which score `score_below` and `score_drop` watch: the health score (0–100) or the Scorecard aggregate (0–10) |
/// | `score_below` | number in the metric's range | the score goes below it (once, until it is back at or above) |
/// | `score_drop` | number > 0 in the metric's range | a report's score is at least this much below the previous report's |
/// | `check_regressed` | `"any"` or a list of Scorecard check names | a listed check's score falls between two reports (a check becoming inconclusive, -1, is not a regression) |
/// | `inactive_days` | integer 1–3650 | the last commit is at least this many days old (once, until a newer commit) |
/// | `processing` | boolean | processing of the entry finished, `ready` or `failed` (seed 004's alert) |
/// | `failed` | boolean | the repository ends `failed`, and again (`recovered`) when it is back |
///
/// Seed-style values map to ``seedDefaults`` (`processing` and `failed`): `{}`, `{"enabled": true}`; `{"enabled":
/// false}` is no rule at all. Threshold and regression rules compare a report with the previous report of the same
/// repository: the first report never raises one.
public struct AlertRules: Sendable, Equatable {
    /// Which score the score rules watch.
    public enum Metric: String, Sendable, CaseIterable {
        /// The health score, 0–100.
        case health
        /// The Scorecard aggregate, 0–10.
        case scorecard

        /// The range a threshold on this metric must lie in.
        public var range: ClosedRange<Double> { self == .health ? 0...100 : 0...10 }
    }

    /// Which checks `check_regressed` watches.
    public enum Checks: Sendable, Equatable {
        case any
        case named(Set<String>)

        public func contains(_ check: String) -> Bool {
            switch self {
            case .any: true
            case .named(let names): names.contains(check)
            }
        }
    }

    public var metric: Metric = .health
    public var scoreBelow: Double?
    public var scoreDrop: Double?
    public var checkRegressed: Checks?
    public var inactiveDays: Int?
    public var processing = false
    public var failed = false

    public init(
        metric: Metric = .health, scoreBelow: Double? = nil, scoreDrop: Double? = nil, checkRegressed: Checks? = nil,
        inactiveDays: Int? = nil, processing: Bool = false, failed: Bool = false
    ) {
        self.metric = metric
        self.scoreBelow = scoreBelow
        self.scoreDrop = scoreDrop
        self.checkRegressed = checkRegressed
        self.inactiveDays = inactiveDays
        self.processing = processing
        self.failed = failed
    }

    /// What `{}` and `{"enabled": true}` mean: tell me when processing ends, and when the repository fails.
    public static let seedDefaults = AlertRules(processing: true, failed: true)

    /// No rule at all (`{"enabled": false}`).
    public static let none = AlertRules()

    /// The keys an `alerts` object may have.
    public static let keys: Set<String> = ["metric", "score_below", "score_drop", "check_regressed", "inactive_days", "processing", "failed", "enabled"]

    /// At most this many check names in `check_regressed`, each at most this long.
    public static let maxCheckNames = 64
    public static let maxCheckNameLength = 64

    /// Validates and reads an `alerts` object. Every unknown key, wrong type (`null` included: a rule that is not
    /// wanted is left out) or value out of range is an error naming the field (`alerts.score_drop`).
    public init(parsing object: [String: JSONValue]) throws(AlertRulesError) {
        if let unknown = object.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw AlertRulesError(field: "alerts.\(unknown)", "is not an alert rule; known: \(Self.keys.sorted().joined(separator: ", "))")
        }
        if case .bool(let enabled)? = object["enabled"] {
            guard object.count == 1 else {
                throw AlertRulesError(field: "alerts.enabled", "stands alone: it is the seed's shorthand for the default rules")
            }
            self = enabled ? Self.seedDefaults : Self.none
            return
        } else if let enabled = object["enabled"] {
            throw AlertRulesError(field: "alerts.enabled", "must be a boolean, not \(enabled.typeName)")
        }
        if object.isEmpty {
            self = Self.seedDefaults
            return
        }
        self.init()
        if let value = object["metric"] {
            guard case .string(let text) = value, let metric = Metric(rawValue: text) else {
                throw AlertRulesError(field: "alerts.metric", "must be \"health\" or \"scorecard\"")
            }
            self.metric = metric
        }
        let range = metric.range
        func number(_ key: String, positive: Bool) throws(AlertRulesError) -> Double? {
            guard let value = object[key] else { return nil }
            guard let number = value.number, number.isFinite, range.contains(number), !positive || number > 0 else {
                let bounds = "\(Self.text(range.lowerBound))–\(Self.text(range.upperBound))"
                throw AlertRulesError(
                    field: "alerts.\(key)", "must be a number \(positive ? "above 0 and at most \(Self.text(range.upperBound))" : "from \(bounds)") for the \(metric.rawValue) score")
            }
            return number
        }
        scoreBelow = try number("score_below", positive: false)
        scoreDrop = try number("score_drop", positive: true)
        switch object["check_regressed"] {
        case nil:
            break
        case .string("any")?:
            checkRegressed = .any
        case .array(let items)?:
            guard !items.isEmpty, items.count <= Self.maxCheckNames else {
                throw AlertRulesError(field: "alerts.check_regressed", "must list 1 to \(Self.maxCheckNames) check names, or be \"any\"")
            }
            var names = Set<String>()
            for item in items {
                guard case .string(let name) = item, Self.isCheckName(name) else {
                    throw AlertRulesError(field: "alerts.check_regressed", "must list Scorecard check names such as \"Dangerous-Workflow\"")
                }
                names.insert(name)
            }
            checkRegressed = .named(names)
        default:
            throw AlertRulesError(field: "alerts.check_regressed", "must be \"any\" or a list of Scorecard check names")
        }
        switch object["inactive_days"] {
        case nil:
            break
        case .int(let days)? where (1...3650).contains(days):
            inactiveDays = Int(days)
        case .double(let days)? where days.rounded() == days && (1...3650).contains(days):
            inactiveDays = Int(days)
        default:
            throw AlertRulesError(field: "alerts.inactive_days", "must be a whole number of days from 1 to 3650")
        }
        for key in ["processing", "failed"] {
            switch object[key] {
            case nil: break
            case .bool(let on)?: if key == "processing" { processing = on } else { failed = on }
            default: throw AlertRulesError(field: "alerts.\(key)", "must be a boolean")
            }
        }
    }

    /// The rules as a normalised `alerts` object (what is stored and shown): only the rules that are set, the metric
    /// only when it is not the default; whole numbers as integers.
    public var object: [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        if metric != .health { object["metric"] = .string(metric.rawValue) }
        if let scoreBelow { object["score_below"] = Self.json(scoreBelow) }
        if let scoreDrop { object["score_drop"] = Self.json(scoreDrop) }
        switch checkRegressed {
        case .any?: object["check_regressed"] = .string("any")
        case .named(let names)?: object["check_regressed"] = .array(names.sorted().map(JSONValue.string))
        case nil: break
        }
        if let inactiveDays { object["inactive_days"] = .int(Int64(inactiveDays)) }
        if processing { object["processing"] = .bool(true) }
        if failed { object["failed"] = .bool(true) }
        return object
    }

    /// A Scorecard check name: letters, digits and `-`, starting with a letter (`Dangerous-Workflow`).
    static func isCheckName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= maxCheckNameLength,
            ("A"..."Z").contains(first) || ("a"..."z").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// A number as JSON: an integer when it is whole (`60`, not `60.0`).
    static func json(_ number: Double) -> JSONValue {
        number.rounded() == number && abs(number) < 1e15 ? .int(Int64(number)) : .double(number)
    }

    static func text(_ number: Double) -> String {
        number.rounded() == number ? String(Int(number)) : String(number)
    }
}

extension JSONValue {
    /// The value of a JSON number, integer or not; nil for anything else.
    var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
}

/// Why an `alerts` object was refused: the field (`alerts.score_drop`) and what it must be.
public struct AlertRulesError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String
    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field) \(message)" }
}
