import Foundation
import Scorecard

/// SAST: 10 when a static-analysis tool runs in the workflows (CodeQL: `github/codeql-action/analyze`; others:
/// Snyk, Pysa, Qodana, hadolint, or SonarCloud configured in `pom.xml`), else 0. The official CLI's other half —
/// the share of recent merged pull requests whose commits had a SAST check run — needs GitHub's API; in local mode
/// it is not applicable there too, so the results agree.
public struct SASTCheck: Check {
    public let name = "SAST"
    public let shortDescription = "Determines if the project uses static code analysis."

    static let otherTools: [(prefix: String, tool: String)] = [
        ("snyk/actions/", "Snyk"), ("facebook/pysa-action", "Pysa"), ("JetBrains/qodana-action", "Qodana"),
        ("hadolint/hadolint-action", "Hadolint"),
    ]
    static let sonarHost = Pattern(#"<sonar\.host\.url>\s*(\S+)\s*</sonar\.host\.url>"#)

    /// A check with the official rules.
    public init() {}

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        let workflows: [(file: WorkflowFile, workflow: Workflow)]
        switch context.parsedWorkflows() {
        case .success(let parsed): workflows = parsed
        case .failure(let failure): return internalError("\(failure.path): \(failure.message)")
        }
        details.warn("no pull requests merged into dev branch")
        var codeQL = false
        var other: String?
        for (file, workflow) in workflows {
            for job in workflow.jobs {
                for step in job.steps {
                    guard let uses = step.uses?.value else { continue }
                    let action = uses.split(separator: "@").first.map(String.init) ?? uses
                    if action == "github/codeql-action/analyze" {
                        codeQL = true
                        details.info("SAST tool detected: CodeQL", at: Location(file.path, line: step.line))
                    }
                    for entry in Self.otherTools where action.hasPrefix(entry.prefix) || action == entry.prefix {
                        other = entry.tool
                        details.info("SAST tool detected: \(entry.tool)", at: Location(file.path, line: step.line))
                    }
                }
            }
        }
        for file in context.index.files(named: "pom.xml") where !file.isTestData {
            if let text = context.text(file.path), Self.sonarHost.matches(text) {
                other = "Sonar"
                details.info("SAST tool detected: Sonar", at: Location(file.path, line: text.lineNumber(of: "<sonar.host.url>")))
            }
        }
        if other != nil { return result(10, "SAST tool detected", details) }
        if codeQL { return result(10, "SAST tool detected: CodeQL", details) }
        details.warn("no SAST tool detected")
        return result(0, "no SAST tool detected", details)
    }
}
