import Domain
import Foundation
import Pipeline
import Queue
import Store
import TestSupport
import Testing

/// Alerts on both engines, raised by the real lifecycle in the transactions that write reports and failures: the
/// first report is a baseline, a level rule alerts once until it recovers, a regression compares a report with the
/// previous one, `processing` answers the requests that ask for it, `failed` and `recovered` bracket a failure.
@Suite("Alerts")
struct AlertTests {
    static let head = String(repeating: "a", count: 40)

    /// The events of `entry`, oldest first.
    static func events(_ h: LifecycleHarness, entry: UUID) async throws -> [AlertEventRecord] {
        try await h.store.read { try await $0.alertEvents(visibleTo: nil, entry: entry, after: nil, limit: 1000) }.map(\.event)
    }

    @Test(arguments: Engine.allCases)
    func aRegressionAlertsOnceAndTheFirstReportIsABaseline(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let alerts = #"{"check_regressed": ["Dangerous-Workflow", "Token-Permissions"], "score_drop": 0.5, "processing": true}"#
            let (id, entry) = try await h.add("lib", alerts: alerts)
            // Already poor at the start: the first report raises no threshold or regression alert.
            h.scorecards.set(id, aggregate: 8, checks: ["Dangerous-Workflow": 10, "Token-Permissions": 0, "Pinned-Dependencies": 9])
            try await h.drain { _ in Self.head }
            var events = try await Self.events(h, entry: entry)
            #expect(events.map(\.rule) == ["processing"], "the add's processing alert only: \(events.map(\.rule))")
            #expect(events.first?.subject == "ready")

            // A scheduled re-check finds a dangerous workflow: one notification, the check and the drop together.
            h.scorecards.set(id, aggregate: 4, checks: ["Dangerous-Workflow": 0, "Token-Permissions": 0, "Pinned-Dependencies": 2])
            h.clock.advance(by: 3600)  // (results of one head are told apart by their time)
            guard case .restarted? = try await h.recheck(id) else { Issue.record("re-check refused"); return }
            try await h.drain { _ in Self.head }
            events = try await Self.events(h, entry: entry)
            let raised = Array(events.dropFirst())
            #expect(Set(raised.map(\.rule)) == ["check_regressed", "score_drop"], "\(raised.map(\.rule))")
            let regression = try #require(raised.first { $0.rule == "check_regressed" })
            #expect(regression.subject == "Dangerous-Workflow" && regression.previousValue == 10 && regression.currentValue == 0)
            #expect(raised.count == 2, "Pinned-Dependencies fell but is not watched; no processing alert for a scheduled re-check")
            #expect(Set(raised.map(\.notificationID)).count == 1, "one cause, one notification")
            let reports = try await h.store.read { try await $0.healthReports(repository: id, before: nil, limit: 10) }
            #expect(regression.reportID == reports.first?.id && regression.previousReportID == reports.dropFirst().first?.id)
            let drop = try #require(raised.first { $0.rule == "score_drop" })
            #expect((drop.previousValue ?? 0) - (drop.currentValue ?? 0) >= 0.5)

            // Nothing changed: nothing is raised. A check becoming inconclusive (-1) is not a regression either.
            h.clock.advance(by: 3600)
            _ = try await h.recheck(id)
            try await h.drain { _ in Self.head }
            h.scorecards.set(id, aggregate: 4, checks: ["Dangerous-Workflow": 0, "Token-Permissions": -1, "Pinned-Dependencies": 2])
            h.clock.advance(by: 3600)
            _ = try await h.recheck(id)
            try await h.drain { _ in Self.head }
            #expect(try await Self.events(h, entry: entry).count == 3)

            // The owner's own re-check is answered with a processing alert.
            h.clock.advance(by: 3600)
            _ = try await h.recheck(id, entry: entry)
            try await h.drain { _ in Self.head }
            events = try await Self.events(h, entry: entry)
            #expect(events.map(\.rule).suffix(1) == ["processing"] && events.count == 4)
            try await h.checkInvariant()
        }
    }

    @Test(arguments: Engine.allCases)
    func aThresholdAlertsOnceUntilItRecovers(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (id, entry) = try await h.add("lib", alerts: #"{"metric": "scorecard", "score_below": 5}"#)
            var rules: [String] = []
            for (step, aggregate) in [3.0, 3.0, 7.0, 4.0, 4.5, 6.0, 2.0].enumerated() {
                h.scorecards.set(id, aggregate: aggregate, checks: [:])
                h.clock.advance(by: 3600)
                if step > 0 { _ = try await h.recheck(id) }
                try await h.drain { _ in Self.head }
                rules.append(try await Self.events(h, entry: entry).map { "\($0.rule):\(Int($0.currentValue ?? -1))" }.joined(separator: ","))
            }
            // 3 (baseline, already below: no alert) · 3 · 7 (recovered) · 4 (below again: alert) · 4.5 (still below) · 6 · 2 (alert)
            #expect(rules == ["", "", "", "score_below:4", "score_below:4", "score_below:4", "score_below:4,score_below:2"], "\(rules)")
        }
    }

    @Test(arguments: Engine.allCases)
    func failingAndRecoveringAreToldOnce(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            // `{}`: the seed's defaults, processing and failed.
            let (id, entry) = try await h.add("lib")
            let setup = try #require(try await h.claim(PipelineJobs.RepositorySetup.kind))
            try await h.run(setup, .failPermanently(PipelineFailure(reason: "not_found", message: "repository not found")))
            #expect(try await h.state(id)?.status == .failed)
            var events = try await Self.events(h, entry: entry)
            #expect(events.map(\.rule) == ["processing", "failed"], "\(events.map(\.rule))")
            #expect(events.first?.subject == "failed" && events.last?.subject?.contains("not_found") == true)

            guard case .restarted? = try await h.retry(id, entry: entry) else { Issue.record("retry refused"); return }
            try await h.drain { _ in Self.head }
            events = try await Self.events(h, entry: entry)
            #expect(events.map(\.rule) == ["processing", "failed", "processing", "recovered"], "\(events.map(\.rule))")
            #expect(events[2].subject == "ready")

            // A second user adding the ready repository is told at once that processing is done, and nothing else.
            let (_, second) = try await h.add("lib", user: "bob")
            let told = try await Self.events(h, entry: second)
            #expect(told.map(\.rule) == ["processing"], "\(told)")
            try await h.checkInvariant()
        }
    }

    @Test(arguments: Engine.allCases)
    func inactivityIsEvaluatedDailyAndAlertsOnce(engine: Engine) async throws {
        try await LifecycleHarness.with(engine) { h in
            let (_, entry) = try await h.add("lib", alerts: #"{"inactive_days": 30}"#)
            try await h.drain { _ in Self.head }
            #expect(try await h.lifecycle.evaluateInactivity(store: h.store) == 0, "the last commit is today")
            h.clock.advance(by: 29 * 86_400)
            #expect(try await h.lifecycle.evaluateInactivity(store: h.store) == 0)
            h.clock.advance(by: 2.5 * 86_400)
            #expect(try await h.lifecycle.evaluateInactivity(store: h.store) == 1)
            #expect(try await h.lifecycle.evaluateInactivity(store: h.store) == 0, "still inactive: told once")
            let events = try await Self.events(h, entry: entry)
            #expect(events.map(\.rule) == ["inactive_days"] && events.first?.currentValue == 31, "\(events)")
        }
    }
}
