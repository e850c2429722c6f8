import Foundation
import Scorecard

/// Token-Permissions: whether workflows give `GITHUB_TOKEN` only the permissions they need, scored as the official
/// evaluation: start at 10; a workflow without top-level `permissions` loses 0.5 (0 when a job also lacks them);
/// top-level `write-all` loses 0.5 (0 with any job-level write or undeclared job); a top-level write of `contents`,
/// `packages` or `actions` → 0, of `deployments` or `security-events` −1, of `checks` or `statuses` −0.5; a
/// job-level write of one of those scopes is 0 with a top-level write and −0.5 with undeclared top-level
/// permissions. Writes a job needs are allowed: `packages` in publishing workflows, `contents` in release and
/// GitHub Pages workflows, `security-events` with SARIF uploads. No workflows → -1.
public struct TokenPermissionsCheck: Check {
    public let name = "Token-Permissions"
    public let shortDescription = "Determines if the project's workflows follow the principle of least privilege."

    static let ofInterest: Set<String> = [
        "statuses", "checks", "security-events", "deployments", "contents", "packages", "actions",
    ]

    /// A check with the official rules.
    public init() {}

    enum Level { case none, read, write, undeclared, unknown }

    struct Finding {
        let path: String
        let line: Int
        let level: Level
        let token: String  // scope name, or the `all` value
        let isAll: Bool
        let value: String
    }

    static func level(of value: String) -> Level {
        switch value {
        case "read", "read-all": .read
        case "none": .none
        default: .unknown
        }
    }

    /// The findings of one `permissions` block, as the official raw data.
    static func findings(_ permissions: Permissions?, path: String, line: Int, ignored: Set<String>) -> [Finding] {
        guard let permissions else {
            return [Finding(path: path, line: line, level: .undeclared, token: "", isAll: false, value: "")]
        }
        if let all = permissions.all {
            // Anything but `read-all` as one string counts as a write, as in the official raw data.
            let level: Level = all.value.caseInsensitiveCompare("read-all") == .orderedSame ? .read : .write
            return [Finding(path: path, line: all.line, level: level, token: all.value, isAll: true, value: all.value)]
        }
        if permissions.scopes.isEmpty {
            return [Finding(path: path, line: permissions.line, level: .none, token: "", isAll: false, value: "none")]
        }
        return permissions.scopes.map { scope in
            let value = scope.value.value
            let level: Level
            if value.caseInsensitiveCompare("write") == .orderedSame {
                level = ofInterest.contains(scope.name) && !ignored.contains(scope.name) ? .write : .unknown
            } else {
                level = Self.level(of: value)
            }
            return Finding(path: path, line: scope.value.line, level: level, token: scope.name, isAll: false, value: value)
        }
    }

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        let workflows: [(file: WorkflowFile, workflow: Workflow)]
        switch context.parsedWorkflows() {
        case .success(let parsed): workflows = parsed
        case .failure(let failure): return internalError("\(failure.path): \(failure.message)")
        }
        if workflows.isEmpty {
            return inconclusive("No tokens found", details)
        }
        var jobFindings: [Finding] = []
        var topFindings: [Finding] = []
        for (file, workflow) in workflows {
            topFindings += Self.findings(workflow.permissions, path: file.path, line: 1, ignored: [])
            var ignored: Set<String> = []
            if JobMatcher.firstMatch(workflow, JobMatcher.packaging) != nil { ignored.insert("packages") }
            if JobMatcher.firstMatch(workflow, JobMatcher.releasing) != nil { ignored.insert("contents") }
            let sarif = workflow.jobs.contains { job in
                job.steps.contains { step in
                    guard let uses = step.uses?.value else { return false }
                    return JobMatcher.sarifActions.contains(String(uses.split(separator: "@").first ?? ""))
                }
            }
            if sarif { ignored.insert("security-events") }
            for job in workflow.jobs {
                jobFindings += Self.findings(job.permissions, path: file.path, line: job.line, ignored: ignored)
            }
        }

        // The official evaluation walks the job-level findings, then the top-level ones, keeping per-file state.
        var score = 10.0
        var jobWrite: Set<String> = [], topWrite: Set<String> = []
        var jobUndeclared: Set<String> = [], topUndeclared: Set<String> = []
        for finding in jobFindings {
            let location = Location(finding.path, line: finding.line)
            switch finding.level {
            case .none:
                details.info("jobLevel permissions set to 'none'", at: location)
            case .read:
                details.info("jobLevel '\(finding.token)' permission set to '\(finding.value)'", at: location)
            case .undeclared:
                details.debug("no jobLevel permission defined", at: location)
                jobUndeclared.insert(finding.path)
                if topWrite.contains(finding.path) || topUndeclared.contains(finding.path) { score = 0 }
            case .write where !finding.isAll:
                details.warn("jobLevel '\(finding.token)' permission set to '\(finding.value)'", at: location)
                jobWrite.insert(finding.path)
                if topWrite.contains(finding.path) {
                    score = 0
                } else if topUndeclared.contains(finding.path) {
                    score -= 0.5
                }
            case .write, .unknown:
                continue  // job-level `write-all` has no scope name: the official evaluation passes over it
            }
        }
        for finding in topFindings {
            let location = Location(finding.path, line: finding.line)
            switch finding.level {
            case .none:
                details.info("topLevel permissions set to 'none'", at: location)
            case .read:
                if finding.isAll {
                    details.info("topLevel permissions set to '\(finding.value)'", at: location)
                } else {
                    details.info("topLevel '\(finding.token)' permission set to '\(finding.value)'", at: location)
                }
            case .undeclared:
                details.warn("no topLevel permission defined", at: location)
                topUndeclared.insert(finding.path)
                score = jobUndeclared.contains(finding.path) ? 0 : score - 0.5
            case .write:
                topWrite.insert(finding.path)
                if finding.isAll {
                    details.warn("topLevel permissions set to '\(finding.value)'", at: location)
                    if jobWrite.contains(finding.path) || jobUndeclared.contains(finding.path) {
                        return result(0, "detected GitHub workflow tokens with excessive permissions", details)
                    }
                    score -= 0.5
                } else {
                    details.warn("topLevel '\(finding.token)' permission set to '\(finding.value)'", at: location)
                    switch finding.token {
                    case "checks", "statuses": score -= 0.5
                    case "contents", "packages", "actions": score -= 10
                    case "deployments", "security-events": score -= 1
                    default: break
                    }
                }
            case .unknown:
                continue
            }
        }
        score = max(score, 0)
        if jobWrite.isEmpty { details.info("no jobLevel write permissions found") }
        if score != 10 {
            return result(Int(score), "detected GitHub workflow tokens with excessive permissions", details)
        }
        return result(10, "GitHub workflow tokens follow principle of least privilege", details)
    }
}
