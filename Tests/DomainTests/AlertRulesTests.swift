import Domain
import Foundation
import Testing

/// The `alerts` object: validated with the field named, normalised, seed-style values mapped to the defaults.
struct AlertRulesParsingTests {
    typealias V = JSONValue

    @Test("A full set of rules is read and written back normalised")
    func fullRules() throws {
        let rules = try AlertRules(parsing: [
            "score_below": .int(60), "score_drop": .double(0.5), "check_regressed": .array([.string("Token-Permissions"), .string("Dangerous-Workflow")]),
            "inactive_days": .int(90), "processing": .bool(true), "failed": .bool(false),
        ])
        #expect(rules == AlertRules(
            scoreBelow: 60, scoreDrop: 0.5, checkRegressed: .named(["Dangerous-Workflow", "Token-Permissions"]), inactiveDays: 90, processing: true))
        #expect(rules.object == [
            "score_below": .int(60), "score_drop": .double(0.5), "check_regressed": .array([.string("Dangerous-Workflow"), .string("Token-Permissions")]),
            "inactive_days": .int(90), "processing": .bool(true),
        ])
        #expect(try AlertRules(parsing: rules.object) == rules, "the normalised form reads back the same")
    }

    @Test("Seed-style values map to the documented defaults")
    func seedStyle() throws {
        #expect(try AlertRules(parsing: [:]) == .seedDefaults)
        #expect(try AlertRules(parsing: ["enabled": .bool(true)]) == .seedDefaults)
        #expect(try AlertRules(parsing: ["enabled": .bool(false)]) == AlertRules.none)
        #expect(AlertRules.seedDefaults.processing && AlertRules.seedDefaults.failed)
        #expect(try AlertRules(parsing: ["check_regressed": .string("any")]).checkRegressed == .any)
    }

    @Test("The metric sets the range: 0–100 for health, 0–10 for the Scorecard aggregate")
    func metricRange() throws {
        #expect(try AlertRules(parsing: ["score_below": .int(75)]).scoreBelow == 75)
        let scorecard = try AlertRules(parsing: ["metric": .string("scorecard"), "score_below": .double(7.5)])
        #expect(scorecard.metric == .scorecard && scorecard.scoreBelow == 7.5)
        #expect(scorecard.object["metric"] == .string("scorecard"))
        let error = #expect(throws: AlertRulesError.self) { try AlertRules(parsing: ["metric": .string("scorecard"), "score_below": .int(75)]) }
        #expect(error?.field == "alerts.score_below")
        #expect(error?.message.contains("0–10") == true, "\(String(describing: error))")
    }

    @Test(
        "Anything unknown, of the wrong type or out of range is refused, naming the field",
        arguments: [
            (["x": V.int(1)], "alerts.x"),
            (["score_drop": V.int(0)], "alerts.score_drop"),
            (["score_drop": V.int(-1)], "alerts.score_drop"),
            (["score_below": V.int(101)], "alerts.score_below"),
            (["score_below": V.string("60")], "alerts.score_below"),
            (["score_below": V.double(.nan)], "alerts.score_below"),
            (["metric": V.string("stars")], "alerts.metric"),
            (["check_regressed": V.array([])], "alerts.check_regressed"),
            (["check_regressed": V.array([V.string("no spaces allowed")])], "alerts.check_regressed"),
            (["check_regressed": V.array([V.int(1)])], "alerts.check_regressed"),
            (["check_regressed": V.string("all")], "alerts.check_regressed"),
            (["check_regressed": V.array(Array(repeating: V.string("A"), count: 65))], "alerts.check_regressed"),
            (["inactive_days": V.int(0)], "alerts.inactive_days"),
            (["inactive_days": V.double(1.5)], "alerts.inactive_days"),
            (["inactive_days": V.int(3651)], "alerts.inactive_days"),
            (["processing": V.string("yes")], "alerts.processing"),
            (["processing": V.null], "alerts.processing"),
            (["failed": V.null], "alerts.failed"),
            (["score_below": V.null], "alerts.score_below"),
            (["check_regressed": V.null], "alerts.check_regressed"),
            (["inactive_days": V.null], "alerts.inactive_days"),
            (["metric": V.null], "alerts.metric"),
            (["failed": V.int(1)], "alerts.failed"),
            (["enabled": V.string("true")], "alerts.enabled"),
            (["enabled": V.bool(true), "score_drop": V.int(1)], "alerts.enabled"),
            (["a": V.array([V.array([V.array([])])])], "alerts.a"),
        ] as [([String: V], String)])
    func refused(object: [String: V], field: String) {
        let error = #expect(throws: AlertRulesError.self) { try AlertRules(parsing: object) }
        #expect(error?.field == field, "\(object)")
    }
}

/// Alerts compare a report with the previous one; the first report raises none; a level rule alerts once.
struct AlertEvaluationTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func snapshot(health: Double? = 70, scorecard: Double? = 7, checks: [String: Int] = [:], lastCommitDaysAgo: Double? = 1) -> AlertSnapshot {
        AlertSnapshot(
            healthScore: health, scorecardScore: scorecard, checks: checks,
            lastCommitAt: lastCommitDaysAgo.map { now.addingTimeInterval(-$0 * 86_400) })
    }

    @Test("The first report never raises an alert, but its violations are remembered")
    func firstReport() {
        let rules = AlertRules(scoreBelow: 80, scoreDrop: 1, checkRegressed: .any, inactiveDays: 1)
        let (alerts, violated) = rules.alerts(previous: nil, current: snapshot(health: 50, lastCommitDaysAgo: 30), violatedBefore: [], now: now)
        #expect(alerts.isEmpty)
        #expect(violated == [.scoreBelow, .inactiveDays])
        // Still below at the next report: no alert (it was already violated).
        let next = rules.alerts(previous: snapshot(health: 50), current: snapshot(health: 49.5, lastCommitDaysAgo: 31), violatedBefore: violated, now: now)
        #expect(next.alerts.isEmpty)
    }

    @Test("score_below alerts once when crossed, and again only after recovering")
    func scoreBelowOnce() {
        let rules = AlertRules(scoreBelow: 60)
        var violated: Set<Alert.Rule> = []
        var fired: [Alert] = []
        var previous = snapshot(health: 70)
        for health in [65.0, 59.0, 58.0, 40.0, 61.0, 55.0] {
            let current = snapshot(health: health)
            let result = rules.alerts(previous: previous, current: current, violatedBefore: violated, now: now)
            fired += result.alerts
            violated = result.violated
            previous = current
        }
        #expect(fired == [Alert(rule: .scoreBelow, previous: 65, current: 59), Alert(rule: .scoreBelow, previous: 61, current: 55)])
    }

    @Test("score_drop compares with the previous report, on the chosen metric")
    func scoreDrop() {
        let health = AlertRules(scoreDrop: 5)
        #expect(health.alerts(previous: snapshot(health: 70), current: snapshot(health: 65), violatedBefore: [], now: now).alerts
            == [Alert(rule: .scoreDrop, previous: 70, current: 65)])
        #expect(health.alerts(previous: snapshot(health: 70), current: snapshot(health: 65.1), violatedBefore: [], now: now).alerts.isEmpty)
        let scorecard = AlertRules(metric: .scorecard, scoreDrop: 0.5)
        #expect(scorecard.alerts(previous: snapshot(health: 70, scorecard: 7.2), current: snapshot(health: 90, scorecard: 6.7), violatedBefore: [], now: now).alerts
            == [Alert(rule: .scoreDrop, previous: 7.2, current: 6.7)])
        #expect(scorecard.alerts(previous: snapshot(scorecard: nil), current: snapshot(scorecard: 1), violatedBefore: [], now: now).alerts.isEmpty)
    }

    @Test("check_regressed: a falling check alerts; inconclusive (-1) and unlisted checks do not")
    func checkRegressed() {
        let before = ["Dangerous-Workflow": 10, "Token-Permissions": 8, "License": 10, "Fuzzing": 5]
        let after = ["Dangerous-Workflow": 0, "Token-Permissions": -1, "License": 9, "Fuzzing": 7]
        let listed = AlertRules(checkRegressed: .named(["Dangerous-Workflow", "Token-Permissions"]))
        #expect(listed.alerts(previous: snapshot(checks: before), current: snapshot(checks: after), violatedBefore: [], now: now).alerts
            == [Alert(rule: .checkRegressed, subject: "Dangerous-Workflow", previous: 10, current: 0)])
        let any = AlertRules(checkRegressed: .any)
        #expect(any.alerts(previous: snapshot(checks: before), current: snapshot(checks: after), violatedBefore: [], now: now).alerts.map(\.subject)
            == ["Dangerous-Workflow", "License"])
        // Inconclusive before, scored after: not a regression either.
        #expect(any.alerts(previous: snapshot(checks: ["Fuzzing": -1]), current: snapshot(checks: ["Fuzzing": 0]), violatedBefore: [], now: now).alerts.isEmpty)
    }

    @Test("inactive_days alerts once when the last commit gets old enough, and again after a newer commit")
    func inactiveDays() {
        let rules = AlertRules(inactiveDays: 30)
        let first = rules.alerts(previous: snapshot(lastCommitDaysAgo: 20), current: snapshot(lastCommitDaysAgo: 31), violatedBefore: [], now: now)
        #expect(first.alerts == [Alert(rule: .inactiveDays, previous: 20, current: 31)])
        #expect(rules.alerts(previous: snapshot(lastCommitDaysAgo: 31), current: snapshot(lastCommitDaysAgo: 45), violatedBefore: first.violated, now: now).alerts.isEmpty)
        let fresh = rules.alerts(previous: snapshot(lastCommitDaysAgo: 45), current: snapshot(lastCommitDaysAgo: 2), violatedBefore: first.violated, now: now)
        #expect(fresh.alerts.isEmpty && fresh.violated.isEmpty)
        #expect(rules.alerts(previous: snapshot(lastCommitDaysAgo: nil), current: snapshot(lastCommitDaysAgo: nil), violatedBefore: [], now: now).violated.isEmpty,
            "no known commit date: inactivity is not assumed")
    }

    @Test("processing, failed and recovered at a run's end")
    func runEnd() {
        let rules = AlertRules.seedDefaults
        #expect(rules.alerts(runEndedWasFailed: false, isFailed: false, requestedByUser: true) == [Alert(rule: .processing)])
        #expect(rules.alerts(runEndedWasFailed: false, isFailed: false, requestedByUser: false).isEmpty, "a scheduled re-check is not announced")
        #expect(rules.alerts(runEndedWasFailed: false, isFailed: true, requestedByUser: true) == [Alert(rule: .processing), Alert(rule: .failed)])
        #expect(rules.alerts(runEndedWasFailed: true, isFailed: true, requestedByUser: false).isEmpty, "still failed: said once")
        #expect(rules.alerts(runEndedWasFailed: true, isFailed: false, requestedByUser: false) == [Alert(rule: .recovered)])
        #expect(AlertRules.none.alerts(runEndedWasFailed: false, isFailed: true, requestedByUser: true).isEmpty)
    }
}
