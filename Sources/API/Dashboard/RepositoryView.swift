import Dashboard
import Domain
import Foundation
import Store

/// The repository page's view, from what the store holds for an entry.
enum RepositoryView {
    /// What the page reads of the latest report: its Scorecard checks.
    struct StoredReport: Decodable {
        struct Scorecard: Decodable {
            struct Check: Decodable {
                struct Documentation: Decodable {
                    let url: String?
                }
                let name: String
                let score: Int
                let reason: String
                let details: [String]?
                let documentation: Documentation?
            }
            let score: Double?
            let checks: [Check]?
        }
        let scorecard: Scorecard?
        let scorecard_errored_checks: [String]?
    }

    static func build(
        entry: EntryWithRepository, session: SessionView, activity: Activity?, history: [ReportPoint], latest: HealthReportRecord?,
        events: [AlertEventWithRepository], alerts: AlertFields, flash: String?, now: Date
    ) -> RepositoryPage {
        let r = entry.repository
        let report = latest.flatMap { try? JSONDecoder().decode(StoredReport.self, from: Data($0.reportJSON.utf8)) }
        let checks = (report?.scorecard?.checks ?? []).sorted { $0.name < $1.name }.map { check in
            CheckRow(
                name: check.name, score: check.score < 0 ? "?" : "\(check.score)",
                grade: check.score < 0 ? "none" : check.score >= 8 ? "good" : check.score >= 5 ? "fair" : "poor", reason: check.reason,
                documentation: safeLink(check.documentation?.url) ?? "https://github.com/ossf/scorecard/blob/main/docs/checks.md",
                details: check.details ?? [])
        }
        var scorecardNote: String?
        if latest == nil {
            scorecardNote = "No report yet: the checks appear once the first analysis is done."
        } else if checks.isEmpty {
            scorecardNote = "The latest report has no Scorecard result (Scorecard failed or timed out; the health score was computed without it)."
        }
        var figures = [
            Figure(id: "scorecard-score", label: "Scorecard aggregate", value: Format.score(report?.scorecard?.score)),
            Figure(id: "days-since-last-commit", label: "Days since the last commit", value: activity?.daysSinceLastCommit.map(String.init) ?? "—"),
            Figure(id: "bus-factor", label: "Bus factor", value: activity.map { String($0.busFactor) } ?? "—"),
            Figure(id: "commits-90d", label: "Commits, 90 days", value: activity.map { String($0.commits90d) } ?? "—"),
            Figure(id: "active-authors-90d", label: "Active authors, 90 days", value: activity.map { String($0.activeAuthors90d) } ?? "—"),
        ]
        figures.append(Figure(id: "last-checked", label: "Last checked", value: r.lastCheckedAt.map { Format.ago($0, now: now) } ?? "never"))
        let weekly = activity?.weeklyCommits ?? Array(repeating: 0, count: 52)
        return RepositoryPage(
            title: r.url.canonical, session: session, entryID: entry.entry.id.lowercased, url: r.url.canonical, status: r.state.status.rawValue,
            stage: r.state.stage.rawValue, progress: r.state.progress, refreshing: r.state.refreshing, lastError: r.state.lastError,
            notes: entry.entry.notes, healthScore: Format.score(r.healthScore), figures: figures,
            healthChart: LineChart(
                id: "health-chart", title: "Health score and Scorecard aggregate by report",
                samples: history.map { LineChart.Sample(at: $0.createdAt, health: $0.healthScore, scorecard: $0.scorecardScore) }),
            commitsChart: BarChart(id: "commits-chart", title: "Commits per week, last 52 weeks", counts: weekly, end: activity?.computedAt ?? now),
            topAuthors: (activity?.topAuthors ?? []).map { AuthorRow(name: $0.name, commits: $0.commits) },
            checks: checks, scorecardNote: scorecardNote, alerts: alerts,
            events: events.map { e in
                EventRow(at: Format.dateTime(e.event.createdAt), atISO: Format.iso(e.event.createdAt), rule: e.event.rule, summary: e.event.summary)
            },
            flash: flash, canRetry: r.state.status == .failed, canRecheck: r.state.status == .ready && !r.state.refreshing)
    }

    /// A documentation link from a report is shown only if it is an https URL (a report is data from a subprocess).
    static func safeLink(_ text: String?) -> String? {
        guard let text, let url = URL(string: text), url.scheme == "https", url.host != nil else { return nil }
        return text
    }
}
