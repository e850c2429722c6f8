import Dashboard
import Mustache
import Foundation
import Testing

/// The pages' rendering on its own: escaping by construction, the charts' geometry, the badge.
@Suite("Dashboard rendering")
struct RenderingTests {
    let pages = Pages()
    let session = SessionView(userName: "alice", isAdmin: false, csrfToken: "c5rf")

    /// The unescaped forms of Mustache (`{{{x}}}`, `{{&x}}`) appear in no template: every value is escaped.
    @Test func noTemplateUsesTheUnescapedForms() {
        for (name, bytes) in Pages.templates {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("{{{"), "\(name) uses {{{…}}}")
            #expect(!text.contains("{{&"), "\(name) uses {{&…}}")
            #expect(!text.contains("{{=") , "\(name) changes the delimiters (which could hide an unescaped tag)")
            #expect(!text.contains("style=\""), "\(name) has an inline style (the pages' CSP forbids them)")
            #expect(!text.contains("<script>"), "\(name) has an inline script (the pages' CSP forbids them)")
        }
    }

    static let hostile = #"<script>alert("x")</script>' onmouseover='x' &amp;"#

    /// Text from users and repositories (notes, author names, check reasons and details, URLs) reaches the page escaped,
    /// in element text and in attribute values alike.
    @Test func hostileTextIsEscapedEverywhere() {
        let row = WatchlistRow(
            id: Self.hostile, url: Self.hostile, status: "ready", stage: "done", progress: 100, healthScore: Self.hostile,
            lastCommit: Self.hostile, lastCommitISO: Self.hostile, refreshing: true, stale: true, isPrivate: true, notes: Self.hostile)
        var form = EntryForm()
        form.repoURL = Self.hostile
        form.notes = Self.hostile
        form.repoURLError = Self.hostile
        form.alerts.scoreBelow = Self.hostile
        form.alerts.setError(field: "score_below", message: Self.hostile)
        let watchlist = pages.render(WatchlistPage(
            session: SessionView(userName: Self.hostile, isAdmin: true, csrfToken: Self.hostile),
            filters: [FilterLink(status: "all", label: Self.hostile, href: Self.hostile, current: true)], rows: [row], form: form,
            flash: Self.hostile, nextPage: Self.hostile, filterLabel: Self.hostile))
        let repository = pages.render(RepositoryPage(
            title: Self.hostile, session: session, entryID: Self.hostile, url: Self.hostile, status: "failed", stage: "cloning", progress: 3,
            refreshing: false, lastError: Self.hostile, notes: Self.hostile, healthScore: "1",
            figures: [Figure(id: "x", label: Self.hostile, value: Self.hostile)],
            healthChart: LineChart(id: "health-chart", title: Self.hostile, samples: []),
            commitsChart: BarChart(id: "commits-chart", title: Self.hostile, counts: Array(repeating: 1, count: 52), end: Date()),
            topAuthors: [AuthorRow(name: Self.hostile, commits: 3)],
            checks: [CheckRow(name: Self.hostile, score: "3", grade: "poor", reason: Self.hostile, documentation: Self.hostile, details: [Self.hostile])],
            scorecardNote: Self.hostile, alerts: form.alerts, events: [EventRow(at: Self.hostile, atISO: Self.hostile, rule: Self.hostile, summary: Self.hostile)],
            flash: Self.hostile, canRetry: true, canRecheck: false))
        for page in [watchlist, repository] {
            #expect(!page.contains("<script>alert"), "a script tag got through")
            #expect(!page.contains("' onmouseover='"), "a quote got through into an attribute")
            #expect(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39; &amp;amp;"))
        }
    }

    @Test func theHistoryChartHasOnePointPerReportOnBothAxes() throws {
        let start = Date(timeIntervalSince1970: 1_760_000_000)
        let samples = (0..<100).map { LineChart.Sample(at: start.addingTimeInterval(Double($0) * 86_400), health: Double($0), scorecard: $0 % 10 == 0 ? nil : 5) }
        let chart = LineChart(id: "health-chart", title: "History", samples: samples)
        #expect(chart.healthPoints.count == 100)
        #expect(chart.scorecardPoints.count == 90, "reports without a Scorecard result have no Scorecard point")
        // Oldest at the left edge, newest at the right; 0 at the bottom, 100 at the top.
        #expect(chart.healthPoints.first?.cx == "48.0" && chart.healthPoints.last?.cx == "672.0")
        #expect(chart.healthPoints.first?.cy == "208.0" && chart.healthPoints.last.map { Double($0.cy)! < 30 } == true)
        let html = pages.render(RepositoryPage(
            title: "t", session: session, entryID: "e", url: "u", status: "ready", stage: "done", progress: 100, refreshing: false, lastError: nil,
            notes: nil, healthScore: "99", figures: [], healthChart: chart,
            commitsChart: BarChart(id: "commits-chart", title: "Weekly", counts: (0..<52).map { $0 % 7 }, end: start), topAuthors: [], checks: [],
            scorecardNote: nil, alerts: AlertFields(), events: [], flash: nil, canRetry: false, canRecheck: true))
        #expect(html.components(separatedBy: "<circle class=\"point\"").count - 1 == 100)
        #expect(html.components(separatedBy: "<circle class=\"point-scorecard\"").count - 1 == 90)
        #expect(html.components(separatedBy: "<rect class=\"bar\"").count - 1 == 52)
        // The text alternative: a title and a description the chart is labelled by, and the data as a table.
        #expect(html.contains(#"<svg id="health-chart" role="img" aria-labelledby="health-chart-title health-chart-desc""#))
        #expect(html.contains("100 reports from 2025-10-09 to 2026-01-16; latest health score 99, Scorecard 5."))
    }

    /// The time axis reads as precisely as the reports are apart, and no two of its labels say the same: a first setup
    /// and two re-checks asked for within a minute were once labelled "23:08 UTC" four times (the README's screenshot).
    @Test func theTimeAxisTellsReportsApart() {
        let start = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28 20:26:40 UTC
        func chart(_ offsets: [TimeInterval]) -> LineChart {
            LineChart(id: "h", title: "t", samples: offsets.map { LineChart.Sample(at: start.addingTimeInterval($0), health: 50, scorecard: 5) })
        }
        let seconds = chart([0, 21, 42])
        #expect(seconds.timeTicks.map(\.label) == ["20:26:40 UTC", "20:26:54 UTC", "20:27:08 UTC", "20:27:22 UTC"])
        #expect(seconds.healthPoints.map(\.label) == [
            "2026-05-28 20:26:40 UTC: health 50", "2026-05-28 20:27:01 UTC: health 50", "2026-05-28 20:27:22 UTC: health 50",
        ])
        #expect(Set(seconds.rows.map(\.label)).count == 3, "the table's rows name three different times: \(seconds.rows.map(\.label))")
        // Within a second of each other (the axis spans one second at least): labels that would repeat are left out.
        let instant = chart([0, 0.2, 0.4])
        #expect(instant.timeTicks.map(\.label) == ["20:26:40 UTC", "20:26:41 UTC"])
        let hours = chart([0, 3 * 3600, 9 * 3600])
        #expect(hours.timeTicks.map(\.label) == ["20:26 UTC", "23:26 UTC", "02:26 UTC", "05:26 UTC"])
        let days = chart([0, 30 * 86_400, 90 * 86_400])
        #expect(days.timeTicks.map(\.label) == ["2026-05-28", "2026-06-27", "2026-07-27", "2026-08-26"])
        #expect(chart([0]).timeTicks.map(\.label) == ["2026-05-28"])
        for c in [seconds, instant, hours, days] {
            #expect(Set(c.timeTicks.map(\.label)).count == c.timeTicks.count, "\(c.timeTicks.map(\.label))")
        }
    }

    @Test func barsAreScaledToARoundTopAndLabelled() {
        let counts = (0..<52).map { $0 == 51 ? 37 : $0 % 5 }
        let chart = BarChart(id: "commits-chart", title: "Weekly", counts: counts, end: Date(timeIntervalSince1970: 1_780_000_000))
        #expect(chart.bars.count == 52)
        #expect(chart.valueTicks.map(\.label) == ["0", "25", "50"], "37 rounds up to an axis of 50")
        #expect(chart.bars.last?.label.hasSuffix(": 37 commits") == true)
        // 37 of 50 on a 152-pixel plot (16…168).
        #expect(chart.bars.last?.height == "112.5")
        #expect(chart.summary.contains("busiest week") && chart.summary.hasPrefix("\(counts.reduce(0, +)) commits in 52 weeks"))
    }

    @Test func badgesShowTheScoreOrWhyNot() {
        let good = pages.render(Badge(score: 82.4, status: "ready"))
        #expect(good.contains(">82<") && good.contains("#1a7f37") && good.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(pages.render(Badge(score: 30, status: "ready")).contains("#cf222e"))
        #expect(pages.render(Badge(score: nil, status: "processing")).contains(">pending<"))
        #expect(pages.render(Badge(score: 90, status: "failed")).contains(">failed<"))
    }
}

/// The views that answer Mustache's lookups themselves (for speed) answer exactly what reflection would: every stored
/// property by its name, nothing else.
@Suite("Dashboard views without reflection")
struct ViewLookupTests {
    static func same(_ value: some MustacheParent) {
        let mirror = Mirror(reflecting: value)
        for child in mirror.children {
            guard let label = child.label else { continue }
            let reflected = Mirror(reflecting: child.value).displayStyle == .optional
                ? (Mirror(reflecting: child.value).children.first.map { String(describing: $0.value) } ?? "nil")
                : String(describing: child.value)
            let answered = value.child(named: label).map { String(describing: $0) } ?? "nil"
            #expect(answered == reflected, "\(type(of: value)).\(label): \(answered) ≠ \(reflected)")
        }
        #expect(value.child(named: "noSuchName") == nil)
    }

    @Test func everyStoredPropertyAnswersByItsName() {
        Self.same(WatchlistRow(
            id: "i", url: "u", status: "s", stage: "g", progress: 7, healthScore: "h", lastCommit: "l", lastCommitISO: "L", refreshing: true,
            stale: false, isPrivate: true, notes: "n"))
        Self.same(WatchlistRow(
            id: "i", url: "u", status: "s", stage: "g", progress: 7, healthScore: "h", lastCommit: "l", lastCommitISO: "L", refreshing: false,
            stale: true, isPrivate: false, notes: nil))
        Self.same(CheckRow(name: "n", score: "1", grade: "poor", reason: "r", documentation: "d", details: ["a", "b"]))
        let chart = LineChart(id: "c", title: "t", samples: [.init(at: Date(), health: 50, scorecard: 5), .init(at: Date().addingTimeInterval(60), health: 60, scorecard: nil)])
        for point in chart.healthPoints { Self.same(point) }
        for tick in chart.leftTicks + chart.timeTicks { Self.same(tick) }
        for row in chart.rows { Self.same(row) }
        for bar in BarChart(id: "b", title: "t", counts: [1, 2, 3], end: Date()).bars { Self.same(bar) }
    }
}
