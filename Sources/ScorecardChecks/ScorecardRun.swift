import Foundation
import Scorecard

/// Runs checks on a local clone and prints the result the way the official CLI does in local mode.
public enum ScorecardRun {
    /// The bundled command's version (semver), printed by `repowatch-scorecard version` and in `scorecard.version`.
    public static let version = "0.1.0"

    /// Environment variable naming a local OSV data folder (the `--osv-dir` flag wins).
    public static let osvEnvironmentVariable = "REPOWATCH_SCORECARD_OSV_DIR"

    /// Runs `checks` on `context` and assembles the JSON v2 report: `repo.name = file://DIR`, commits `unknown`,
    /// the aggregate as `printedAggregate`. Without `showDetails` every check's details are nil (`null`).
    public static func report(
        localPath: String, context: CheckContext, checks: [any Check], showDetails: Bool, now: Date = Date()
    ) -> ScorecardReport {
        var results = checks.map { $0.run(context) }
        if !showDetails {
            for index in results.indices { results[index].details = nil }
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return ScorecardReport(
            date: formatter.string(from: now),
            repo: .init(name: "file://\(localPath)", commit: "unknown"),
            scorecard: .init(version: "v\(version)", commit: "unknown"),
            score: ScorecardReport.printedAggregate(of: results),
            checks: results,
            metadata: nil
        )
    }

    /// True when some check errored at run time (score -1, reason `internal error:…`): the CLI then exits 1.
    public static func hasRuntimeError(_ report: ScorecardReport) -> Bool {
        report.checks.contains { $0.score < 0 && $0.reason.hasPrefix("internal error") }
    }

    /// The human table of `--format default`.
    public static func table(_ report: ScorecardReport, showDetails: Bool) -> String {
        var out = "RESULTS\n-------\n"
        let aggregate = report.score < 0 ? "?" : String(format: "%.1f", report.score)
        out += "Aggregate score: \(aggregate) / 10\n\nCheck scores:\n"
        var rows: [[String]] = [["SCORE", "NAME", "REASON"] + (showDetails ? ["DETAILS"] : []) + ["DOCUMENTATION/REMEDIATION"]]
        for check in report.checks {
            let score = check.score < 0 ? "?" : "\(check.score) / 10"
            var row = [score, check.name, check.reason]
            if showDetails { row.append((check.details ?? []).joined(separator: "\n")) }
            row.append(check.documentation.url)
            rows.append(row)
        }
        // Multi-line cells (details) become several table lines.
        let split = rows.map { $0.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } }
        let columns = rows[0].count
        var widths = [Int](repeating: 0, count: columns)
        for row in split {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.map(\.count).max() ?? 0) }
        }
        let rule = "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|\n"
        out += rule
        for (index, row) in split.enumerated() {
            let height = row.map(\.count).max() ?? 1
            for lineIndex in 0..<height {
                let cells = (0..<columns).map { column -> String in
                    let text = lineIndex < row[column].count ? row[column][lineIndex] : ""
                    return " " + text + String(repeating: " ", count: widths[column] - text.count) + " "
                }
                out += "|" + cells.joined(separator: "|") + "|\n"
            }
            out += index == 0 || index == split.count - 1 ? rule : rule
        }
        return out
    }
}
