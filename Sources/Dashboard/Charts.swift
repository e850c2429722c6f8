import Foundation

/// A label on an axis, with its grid line: coordinates already computed, so the template only places them.
public struct Tick: Sendable {
    public var x: String
    public var y: String
    public var x2: String
    public var y2: String
    public var label: String
}

/// A point of a line chart, with the text a pointer shows (`<title>`).
public struct ChartPoint: Sendable {
    public var cx: String
    public var cy: String
    public var label: String
}

/// One row of a chart's table (its text alternative).
public struct ChartRow: Sendable {
    public var label: String
    public var values: [String]
}

/// The report history: health score (0–100, left axis) and Scorecard aggregate (0–10, right axis) over time, in SVG.
public struct LineChart: Sendable {
    public let id: String
    public let title: String
    public let summary: String
    public let width = 720
    public let height = 240
    public let healthLine: String
    public let scorecardLine: String
    public let healthPoints: [ChartPoint]
    public let scorecardPoints: [ChartPoint]
    public let leftTicks: [Tick]
    public let rightTicks: [Tick]
    public let timeTicks: [Tick]
    public let plotLeft: Int
    public let plotRight: Int
    public let plotTop: Int
    public let plotBottom: Int
    public let isEmpty: Bool
    public let columns: [String]
    public let rows: [ChartRow]

    /// One report of the history.
    public struct Sample: Sendable {
        public var at: Date
        public var health: Double
        public var scorecard: Double?

        public init(at: Date, health: Double, scorecard: Double?) {
            self.at = at
            self.health = health
            self.scorecard = scorecard
        }
    }

    /// - Parameter samples: oldest first.
    public init(id: String, title: String, samples: [Sample]) {
        let (left, right, top, bottom) = (48, 720 - 48, 28, 240 - 32)
        (plotLeft, plotRight, plotTop, plotBottom) = (left, right, top, bottom)
        self.id = id
        self.title = title
        isEmpty = samples.isEmpty
        let first = samples.first?.at.timeIntervalSince1970 ?? 0
        let last = samples.last?.at.timeIntervalSince1970 ?? 1
        let span = max(last - first, 1)
        func x(_ date: Date) -> Double {
            samples.count == 1 ? Double(left + right) / 2 : Double(left) + (date.timeIntervalSince1970 - first) / span * Double(right - left)
        }
        func y(_ fraction: Double) -> Double { Double(bottom) - min(max(fraction, 0), 1) * Double(bottom - top) }
        var health: [ChartPoint] = []
        var scorecard: [ChartPoint] = []
        var rows: [ChartRow] = []
        for sample in samples {
            // Reports of one day are told apart by their time (re-checks run daily, and a person may ask for more).
            let when = Format.dateTime(sample.at, seconds: span < 600)
            let px = Format.coordinate(x(sample.at))
            health.append(ChartPoint(
                cx: px, cy: Format.coordinate(y(sample.health / 100)), label: "\(when): health \(Format.score(sample.health))"))
            if let score = sample.scorecard {
                scorecard.append(ChartPoint(cx: px, cy: Format.coordinate(y(score / 10)), label: "\(when): Scorecard \(Format.score(score))"))
            }
            rows.append(ChartRow(label: Format.dateTime(sample.at, seconds: span < 600), values: [Format.score(sample.health), sample.scorecard.map(Format.score) ?? "—"]))
        }
        healthPoints = health
        scorecardPoints = scorecard
        healthLine = health.map { "\($0.cx),\($0.cy)" }.joined(separator: " ")
        scorecardLine = scorecard.map { "\($0.cx),\($0.cy)" }.joined(separator: " ")
        leftTicks = stride(from: 0, through: 100, by: 25).map { value in
            let py = Format.coordinate(y(Double(value) / 100))
            return Tick(x: "\(left - 6)", y: py, x2: "\(right)", y2: py, label: "\(value)")
        }
        rightTicks = stride(from: 0, through: 10, by: 2.5).map { value in
            Tick(x: "\(right + 6)", y: Format.coordinate(y(value / 10)), x2: "", y2: "", label: Format.score(value))
        }
        timeTicks = Self.timeTicks(samples: samples, first: first, span: span, y: bottom + 20, x: x)
        columns = ["Report", "Health score (0–100)", "Scorecard (0–10)"]
        self.rows = rows.reversed()
        if let latest = samples.last {
            summary = "\(samples.count) report\(samples.count == 1 ? "" : "s") from \(Format.day(samples[0].at)) to \(Format.day(latest.at)); "
                + "latest health score \(Format.score(latest.health))"
                + (latest.scorecard.map { ", Scorecard \(Format.score($0))." } ?? ".")
        } else {
            summary = "No report yet."
        }
    }
}

extension LineChart {
    /// Up to four labels under the time axis, evenly spaced from the first report to the last. Their precision follows
    /// the span: days, else the time of day (reports within two days), else with seconds (within ten minutes: a first
    /// setup and the re-checks asked for right after it); two neighbours that would read the same keep only the first.
    static func timeTicks(samples: [Sample], first: TimeInterval, span: TimeInterval, y: Int, x: (Date) -> Double) -> [Tick] {
        guard let firstSample = samples.first else { return [] }
        let dates = samples.count == 1
            ? [firstSample.at] : (0..<4).map { Date(timeIntervalSince1970: first + span * Double($0) / 3) }
        func label(_ date: Date) -> String {
            if samples.count == 1 || span >= 2 * 86_400 { return Format.day(date) }
            return span < 600 ? Format.time(date, seconds: true) : Format.time(date)
        }
        var ticks: [Tick] = []
        for date in dates {
            let text = label(date)
            if ticks.last?.label == text { continue }
            ticks.append(Tick(x: Format.coordinate(x(date)), y: "\(y)", x2: "", y2: "", label: text))
        }
        return ticks
    }
}

/// Weekly commits over the last 52 weeks, in SVG.
public struct BarChart: Sendable {
    public let id: String
    public let title: String
    public let summary: String
    public let width = 720
    public let height = 200
    public let bars: [Bar]
    public let valueTicks: [Tick]
    public let timeTicks: [Tick]
    public let plotLeft: Int
    public let plotRight: Int
    public let plotBottom: Int
    public let columns: [String]
    public let rows: [ChartRow]

    public struct Bar: Sendable {
        public var x: String
        public var y: String
        public var width: String
        public var height: String
        public var label: String
    }

    /// - Parameters:
    ///   - counts: one value per week, oldest first; the last week ends at `end`.
    public init(id: String, title: String, counts: [Int], end: Date) {
        let (left, right, top, bottom) = (48, 720 - 16, 16, 200 - 32)
        (plotLeft, plotRight, plotBottom) = (left, right, bottom)
        self.id = id
        self.title = title
        let peak = max(counts.max() ?? 0, 1)
        // A round top for the axis: 1, 2, 5 × 10^n at or above the peak.
        let magnitude = pow(10, floor(log10(Double(peak))))
        let top10 = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= Double(peak) } ?? Double(peak)
        let slot = Double(right - left) / Double(max(counts.count, 1))
        let week: TimeInterval = 7 * 86_400
        func weekStart(_ index: Int) -> Date { end.addingTimeInterval(-Double(counts.count - index) * week) }
        func y(_ value: Double) -> Double { Double(bottom) - value / top10 * Double(bottom - top) }
        bars = counts.enumerated().map { index, count in
            let height = Double(bottom) - y(Double(count))
            return Bar(
                x: Format.coordinate(Double(left) + Double(index) * slot + 1), y: Format.coordinate(y(Double(count))),
                width: Format.coordinate(max(slot - 2, 1)), height: Format.coordinate(height),
                label: "Week of \(Format.day(weekStart(index))): \(count) commit\(count == 1 ? "" : "s")")
        }
        valueTicks = [0, 0.5, 1].map { fraction in
            let py = Format.coordinate(y(top10 * fraction))
            return Tick(x: "\(left - 6)", y: py, x2: "\(right)", y2: py, label: Format.count(top10 * fraction))
        }
        timeTicks = stride(from: 0, to: counts.count, by: 13).map { index in
            Tick(x: Format.coordinate(Double(left) + Double(index) * slot), y: "\(bottom + 20)", x2: "", y2: "", label: Format.day(weekStart(index)))
        }
        columns = ["Week starting", "Commits"]
        rows = counts.enumerated().map { index, count in ChartRow(label: Format.day(weekStart(index)), values: ["\(count)"]) }
        let total = counts.reduce(0, +)
        let busiest = counts.enumerated().max { $0.element < $1.element }
        summary = "\(total) commit\(total == 1 ? "" : "s") in \(counts.count) weeks"
            + (busiest.map { $0.element > 0 ? "; the busiest week, starting \(Format.day(weekStart($0.offset))), had \($0.element)." : "." } ?? ".")
    }
}

/// How numbers and dates read on the pages (UTC, so every viewer and every test sees the same text).
public enum Format {
    public static func score(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.1f", rounded)
    }

    public static func score(_ value: Double?) -> String { value.map { score($0) } ?? "—" }

    static func count(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value) }

    static func coordinate(_ value: Double) -> String { String(format: "%.1f", value) }

    public static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    public static func dateTime(_ date: Date, seconds: Bool = false) -> String {
        "\(day(date)) \(time(date, seconds: seconds))"
    }

    /// `14:05 UTC`, or `14:05:09 UTC` with `seconds`.
    public static func time(_ date: Date, seconds: Bool = false) -> String {
        String(date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).time(includingFractionalSeconds: false)).prefix(seconds ? 8 : 5)) + " UTC"
    }

    /// Machine-readable, for `<time datetime>`.
    public static func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

    /// `3 days ago`, `5 hours ago`, `just now`.
    public static func ago(_ date: Date, now: Date = Date()) -> String {
        let seconds = max(now.timeIntervalSince(date), 0)
        switch seconds {
        case ..<60: return "just now"
        case ..<3600: return plural(Int(seconds / 60), "minute") + " ago"
        case ..<86_400: return plural(Int(seconds / 3600), "hour") + " ago"
        default: return plural(Int(seconds / 86_400), "day") + " ago"
        }
    }

    public static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

    /// A duration in seconds, as `42 s`, `3 min`, `2.5 h`.
    public static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: return "\(Int(seconds.rounded())) s"
        case ..<7200: return "\(Int((seconds / 60).rounded())) min"
        default: return String(format: "%.1f h", seconds / 3600)
        }
    }
}
