import Dashboard
import Domain
import Foundation

/// The alert rule fields of the dashboard's forms, to and from the API's `alerts` object.
///
/// A form sends text: the numbers are read here (a field that is not a number is an error next to it), and the object
/// built is validated by ``AlertRules`` like the API's, so a rule the API refuses is refused here with its message.
enum AlertForm {
    /// The `alerts` object the fields describe (nil when a field is not a number), and the fields to show again.
    static func read(_ form: [String: String]) -> (JSONValue?, AlertFields) {
        var fields = AlertFields()
        var object: [String: JSONValue] = [:]
        let metric = (form["metric"] ?? "health").trimmingCharacters(in: .whitespaces)
        fields.metricHealth = metric != "scorecard"
        fields.metricScorecard = metric == "scorecard"
        object["metric"] = .string(metric)
        func text(_ name: String) -> String { (form[name] ?? "").trimmingCharacters(in: .whitespaces) }
        fields.scoreBelow = text("score_below")
        fields.scoreDrop = text("score_drop")
        fields.checkRegressed = text("check_regressed")
        fields.inactiveDays = text("inactive_days")
        for (name, value) in [("score_below", fields.scoreBelow), ("score_drop", fields.scoreDrop)] where !value.isEmpty {
            if let number = Double(value), number.isFinite {
                object[name] = .double(number)
            } else {
                fields.setError(field: name, message: "Enter a number, or leave it empty for no such rule.")
            }
        }
        if !fields.inactiveDays.isEmpty {
            if let days = Int64(fields.inactiveDays) {
                object["inactive_days"] = .int(days)
            } else {
                fields.setError(field: "inactive_days", message: "Enter a whole number of days, or leave it empty.")
            }
        }
        if !fields.checkRegressed.isEmpty {
            if fields.checkRegressed.lowercased() == "any" {
                object["check_regressed"] = .string("any")
            } else {
                let names = fields.checkRegressed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                object["check_regressed"] = .array(names.map { .string($0) })
            }
        }
        // An unticked checkbox is not sent at all.
        fields.processing = form["processing"] != nil
        fields.failed = form["failed"] != nil
        object["processing"] = .bool(fields.processing)
        object["failed"] = .bool(fields.failed)
        return (fields.hasErrors ? nil : .object(object), fields)
    }

    /// The fields showing an entry's stored rules.
    static func fields(_ alertsJSON: String) -> AlertFields {
        var fields = AlertFields()
        guard case .object(let object)? = JSONValue.parse(Data(alertsJSON.utf8)), let rules = try? AlertRules(parsing: object) else {
            return fields
        }
        fields.metricHealth = rules.metric == .health
        fields.metricScorecard = rules.metric == .scorecard
        fields.scoreBelow = rules.scoreBelow.map(number) ?? ""
        fields.scoreDrop = rules.scoreDrop.map(number) ?? ""
        switch rules.checkRegressed {
        case .any?: fields.checkRegressed = "any"
        case .named(let names)?: fields.checkRegressed = names.sorted().joined(separator: ", ")
        case nil: fields.checkRegressed = ""
        }
        fields.inactiveDays = rules.inactiveDays.map(String.init) ?? ""
        fields.processing = rules.processing
        fields.failed = rules.failed
        return fields
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
