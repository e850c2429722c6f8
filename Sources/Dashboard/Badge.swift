/// The health badge: `repowatch | 82`, coloured by the score, in the flat style of shields.io badges.
public struct Badge: Sendable {
    public let label: String
    public let value: String
    public let color: String
    public let labelWidth: Int
    public let valueWidth: Int
    public let width: Int
    public let labelX: Int
    public let valueX: Int
    public let title: String

    /// - Parameters:
    ///   - score: the health score (0–100), nil before the first report.
    ///   - status: the repository's status (`failed` shows as such).
    public init(score: Double?, status: String) {
        label = "repo health"
        switch (score, status) {
        case (_, "failed"):
            value = "failed"
            color = "#6e7781"
        case (let score?, _):
            value = Format.score(score.rounded())
            // Dark enough behind white text for WCAG AA contrast.
            color = score >= 80 ? "#1a7f37" : score >= 60 ? "#7d6608" : score >= 40 ? "#bc4c00" : "#cf222e"
        case (nil, _):
            value = "pending"
            color = "#6e7781"
        }
        // Verdana 11px averages about 7 px a character; 10 px of padding on each side.
        labelWidth = label.count * 7 + 10
        valueWidth = value.count * 7 + 12
        width = labelWidth + valueWidth
        labelX = labelWidth / 2
        valueX = labelWidth + valueWidth / 2
        title = "\(label): \(value)"
    }
}
