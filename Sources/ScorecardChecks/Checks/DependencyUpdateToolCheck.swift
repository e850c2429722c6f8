import Foundation
import Scorecard

/// Dependency-Update-Tool: 10 when a Dependabot, Renovate or Scala Steward configuration file is present at one of
/// the official paths, else 0.
public struct DependencyUpdateToolCheck: Check {
    public let name = "Dependency-Update-Tool"
    public let shortDescription = "Determines if the project uses a dependency update tool."

    /// Official paths (lower-cased) → tool name.
    static let tools: [(paths: Set<String>, tool: String)] = [
        ([".github/dependabot.yml", ".github/dependabot.yaml"], "Dependabot"),
        ([
            "renovate.json", "renovate.json5", ".github/renovate.json", ".github/renovate.json5",
            ".gitlab/renovate.json", ".gitlab/renovate.json5", ".renovaterc", ".renovaterc.json", ".renovaterc.json5",
        ], "RenovateBot"),
        ([
            ".scala-steward.conf", "scala-steward.conf", ".github/.scala-steward.conf", ".github/scala-steward.conf",
            ".config/.scala-steward.conf", ".config/scala-steward.conf",
        ], "scala-steward"),
    ]

    /// Every path of ``tools``, to look up at once.
    static let allPaths: Set<String> = Set(tools.flatMap(\.paths))

    /// A check with the official rules.
    public init() {}

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        var found = false
        for file in context.index.files(lowercasedPaths: Self.allPaths) {
            let lower = file.path.lowercased()
            for entry in Self.tools where entry.paths.contains(lower) {
                details.info("detected update tool: \(entry.tool)", at: Location(file.path))
                found = true
            }
        }
        if found { return result(10, "update tool detected", details) }
        details.warn("no dependency update tool configurations found")
        return result(0, "no update tool detected", details)
    }
}
