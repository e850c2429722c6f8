import Foundation
import Scorecard

/// Packaging: 10 when a GitHub Actions workflow publishes packages (the official list: npm, Maven, Gradle, sbt,
/// gem, NuGet, docker push / build-push-action, PyPI, goreleaser, cargo publish, ko, semantic-release, hex);
/// otherwise -1 ("packaging workflow not detected"). Like the official local mode, successful runs of the
/// workflow cannot be checked offline, so a matching workflow counts.
public struct PackagingCheck: Check {
    public let name = "Packaging"
    public let shortDescription =
        "Determines if the project is published as a package that others can easily download, install, easily update, and uninstall."

    /// A check with the official rules.
    public init() {}

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        let workflows: [(file: WorkflowFile, workflow: Workflow)]
        switch context.parsedWorkflows() {
        case .success(let parsed): workflows = parsed
        case .failure(let failure): return internalError("\(failure.path): \(failure.message)")
        }
        var found = false
        for (file, workflow) in workflows {
            if let (job, _) = JobMatcher.firstMatch(workflow, JobMatcher.packaging) {
                details.info("Project packages its releases by way of GitHub Actions.", at: Location(file.path, line: job.line))
                found = true
            } else {
                details.debug("not a publishing workflow: \(file.path)")
            }
        }
        if found { return result(10, "packaging workflow detected", details) }
        details.warn("no GitHub/GitLab publishing workflow detected.")
        return inconclusive("packaging workflow not detected", details)
    }
}
