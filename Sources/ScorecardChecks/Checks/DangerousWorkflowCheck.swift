import Foundation
import Scorecard

/// Dangerous-Workflow: 0 when a workflow triggered by `pull_request_target` or `workflow_run` checks out the
/// untrusted head (`actions/checkout` with a `ref` from `github.event.pull_request…` or `github.event.workflow_run…`),
/// or when a `run:` script expands attacker-controlled context (`${{ github.event.issue.title }}`, `github.head_ref`,
/// commit messages, `toJSON(github.event)`…) — script injection; else 10; no workflows → -1.
public struct DangerousWorkflowCheck: Check {
    public let name = "Dangerous-Workflow"
    public let shortDescription = "Determines if the project's GitHub Action workflows avoid dangerous patterns."

    static let untrusted = Pattern(
        #".*(issue\.title|issue\.body|pull_request\.title|pull_request\.body|discussion\.title|discussion\.body|comment\.body|review\.body|review_comment\.body|pages.*\.page_name|commits.*\.message|head_commit\.message|head_commit\.author\.email|head_commit\.author\.name|commits.*\.author\.email|commits.*\.author\.name|blocked_user\.name|blocked_user\.email|pull_request\.head\.ref|pull_request\.head\.label|pull_request\.head\.repo\.default_branch).*"#
    )
    static let toJSON = Pattern(#"tojson\s*\(\s*github(\.event)?\s*\)"#, caseInsensitive: true)

    /// A check with the official rules.
    public init() {}

    /// True when the expression text between `${{` and `}}` reads attacker-controlled data.
    static func isUntrusted(_ expression: String) -> Bool {
        if expression.contains("github.head_ref") { return true }
        if toJSON.matches(expression) { return true }
        return expression.contains("github.event.") && untrusted.matches(expression)
    }

    /// The `${{ … }}` expressions of a script; nil when one is not closed (the official CLI errors then).
    static func expressions(in script: String) -> [String]? {
        var found: [String] = []
        var rest = Substring(script)
        while let open = rest.range(of: "${{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { return nil }
            found.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        let workflows: [(file: WorkflowFile, workflow: Workflow)]
        switch context.parsedWorkflows() {
        case .success(let parsed): workflows = parsed
        case .failure(let failure): return internalError("\(failure.path): \(failure.message)")
        }
        if workflows.isEmpty { return inconclusive("no workflows found", details) }
        var dangerous = false
        for (file, workflow) in workflows {
            if workflow.triggers(on: "pull_request_target") || workflow.triggers(on: "workflow_run") {
                for job in workflow.jobs {
                    for step in job.steps {
                        guard let uses = step.uses?.value, uses.contains("actions/checkout"),
                              let ref = step.with["ref"]?.value else { continue }
                        if ref.contains("github.event.pull_request") || ref.contains("github.event.workflow_run") {
                            dangerous = true
                            details.warn("untrusted code checkout '\(ref)'", at: Location(file.path, line: step.line))
                        }
                    }
                }
            }
            for job in workflow.jobs {
                for step in job.steps {
                    guard let run = step.run else { continue }
                    guard let expressions = Self.expressions(in: run.value) else {
                        return internalError("invalid GitHub workflow: unterminated ${{ in \(file.path):\(run.line)")
                    }
                    for expression in expressions where Self.isUntrusted(expression) {
                        dangerous = true
                        details.warn("script injection with untrusted input '\(expression)'", at: Location(file.path, line: run.line))
                    }
                }
            }
        }
        if dangerous { return result(0, "dangerous workflow patterns detected", details) }
        return result(10, "no dangerous workflow patterns detected", details)
    }
}
