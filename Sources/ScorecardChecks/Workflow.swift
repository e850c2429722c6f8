import Foundation
import Yams

/// A GitHub Actions workflow file of `.github/workflows`, parsed with Yams into the small typed model the checks
/// need (triggers, permissions, jobs, steps). Never read with regular expressions over the YAML text.
public struct WorkflowFile: Sendable {
    /// Path relative to the clone's root.
    public var path: String
    /// The parsed workflow; nil when the YAML could not be parsed (`parseError` says why).
    public var workflow: Workflow?
    /// Why parsing failed.
    public var parseError: String?
    /// True when the file holds something besides blank lines and `#` comments (the official CLI skips the rest).
    public var hasContent: Bool

    /// Parses `text`, read from `path`.
    public init(path: String, text: String) {
        self.path = path
        self.hasContent = text.split(whereSeparator: \.isNewline).contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#")
        }
        do {
            if let node = try Yams.compose(yaml: text) {
                workflow = Workflow(node: node)
                if workflow == nil { parseError = "not a YAML mapping" }
            } else {
                parseError = "empty document"
            }
        } catch {
            parseError = "\(error)"
        }
    }

    /// True for `.github/workflows/*.yml|yaml` (directly in that folder, case-insensitive), as the official CLI.
    public static func isWorkflowPath(_ file: RepoFile) -> Bool {
        let lower = file.path.lowercased()
        guard lower.hasPrefix(".github/workflows/") else { return false }
        let rest = lower.dropFirst(".github/workflows/".count)
        return !rest.contains("/") && (rest.hasSuffix(".yml") || rest.hasSuffix(".yaml"))
    }
}

/// A scalar value with its 1-based line in the file.
public struct Located: Sendable, Equatable {
    /// The scalar's text.
    public var value: String
    /// 1-based line (0 when unknown).
    public var line: Int
}

/// `permissions:` at the top level or in a job.
public struct Permissions: Sendable, Equatable {
    /// `read-all`, `write-all`, `read`, `write`… when permissions are given as one string.
    public var all: Located?
    /// Scope → value (`contents: write`), in file order.
    public var scopes: [(name: String, value: Located)]
    /// Line of the `permissions` key.
    public var line: Int

    public static func == (lhs: Permissions, rhs: Permissions) -> Bool {
        lhs.all == rhs.all && lhs.line == rhs.line
            && lhs.scopes.map(\.name) == rhs.scopes.map(\.name) && lhs.scopes.map(\.value) == rhs.scopes.map(\.value)
    }
}

/// One step of a job.
public struct Step: Sendable {
    /// 1-based line of the step.
    public var line: Int
    /// `uses:` (an action reference).
    public var uses: Located?
    /// `run:` (a shell script).
    public var run: Located?
    /// `with:` inputs, as strings.
    public var with: [String: Located]
    /// `shell:`.
    public var shell: String?
}

/// One job.
public struct Job: Sendable {
    /// The job's key under `jobs:`.
    public var id: String
    /// `name:`.
    public var name: String?
    /// 1-based line of the job.
    public var line: Int
    /// `permissions:`; nil when undeclared.
    public var permissions: Permissions?
    /// `uses:` of a reusable-workflow call.
    public var uses: Located?
    /// `container:` image (string or `image:`).
    public var container: Located?
    /// `services.*.image`.
    public var serviceImages: [Located]
    /// The steps.
    public var steps: [Step]
    /// `defaults.run.shell`, or the workflow's.
    public var defaultShell: String?
    /// `runs-on` as text (a list joined by commas); nil when absent or an expression object.
    public var runsOn: String?
}

/// The typed model of one workflow.
public struct Workflow: Sendable {
    /// Event names of `on:` (a string, a list, or a mapping's keys).
    public var triggers: [String]
    /// Top-level `permissions:`; nil when undeclared.
    public var permissions: Permissions?
    /// Jobs in file order.
    public var jobs: [Job]

    /// True when `on:` names `event`.
    public func triggers(on event: String) -> Bool { triggers.contains(event) }

    init?(node: Node) {
        guard let root = node.mapping else { return nil }
        var triggers: [String] = []
        // `on` is a plain string key here: Yams' composer keeps scalars as text, so YAML 1.1's `on: true` never bites.
        if let on = root["on"] ?? root["true"] {
            if let text = on.string {
                triggers = [text]
            } else if let list = on.sequence {
                triggers = list.compactMap(\.string)
            } else if let map = on.mapping {
                triggers = map.keys.compactMap(\.string)
            }
        }
        self.triggers = triggers
        self.permissions = root["permissions"].flatMap(Workflow.permissions)
        let workflowShell = root["defaults"]?.mapping?["run"]?.mapping?["shell"]?.string
        var jobs: [Job] = []
        if let jobsNode = root["jobs"]?.mapping {
            for (key, value) in jobsNode {
                guard let id = key.string, let job = value.mapping else { continue }
                var steps: [Step] = []
                for stepNode in job["steps"]?.sequence ?? [] {
                    guard let step = stepNode.mapping else { continue }
                    var with: [String: Located] = [:]
                    for (k, v) in step["with"]?.mapping ?? [:] {
                        if let name = k.string, let text = v.scalar?.string { with[name] = Workflow.located(v, text) }
                    }
                    steps.append(
                        Step(
                            line: Workflow.line(stepNode),
                            uses: step["uses"].flatMap(Workflow.scalar),
                            run: step["run"].flatMap(Workflow.scalar),
                            with: with,
                            shell: step["shell"]?.string
                        )
                    )
                }
                var container: Located?
                if let c = job["container"] {
                    container = Workflow.scalar(c) ?? c.mapping?["image"].flatMap(Workflow.scalar)
                }
                var services: [Located] = []
                for (_, service) in job["services"]?.mapping ?? [:] {
                    if let image = service.mapping?["image"].flatMap(Workflow.scalar) { services.append(image) }
                }
                var runsOn: String?
                if let r = job["runs-on"] {
                    runsOn = r.string ?? r.sequence.map { $0.compactMap(\.string).joined(separator: ",") }
                }
                jobs.append(
                    Job(
                        id: id,
                        name: job["name"]?.string,
                        line: Workflow.line(key),
                        permissions: job["permissions"].flatMap(Workflow.permissions),
                        uses: job["uses"].flatMap(Workflow.scalar),
                        container: container,
                        serviceImages: services,
                        steps: steps,
                        defaultShell: job["defaults"]?.mapping?["run"]?.mapping?["shell"]?.string ?? workflowShell,
                        runsOn: runsOn
                    )
                )
            }
        }
        self.jobs = jobs
    }

    static func line(_ node: Node) -> Int { node.mark.map { $0.line } ?? 0 }

    static func scalar(_ node: Node) -> Located? {
        guard let text = node.scalar?.string else { return nil }
        return located(node, text)
    }

    static func located(_ node: Node, _ text: String) -> Located { Located(value: text, line: line(node)) }

    static func permissions(_ node: Node) -> Permissions? {
        if let text = node.scalar?.string {
            // `permissions:` with nothing after it is null: GitHub treats it as no permissions block.
            if node.scalar?.tag == Tag(.null) || text.isEmpty || text == "~" || text == "null" {
                return nil
            }
            return Permissions(all: located(node, text), scopes: [], line: line(node))
        }
        if let map = node.mapping {
            var scopes: [(name: String, value: Located)] = []
            for (k, v) in map {
                if let name = k.string, let value = scalar(v) { scopes.append((name, value)) }
            }
            return Permissions(all: nil, scopes: scopes, line: line(node))
        }
        return nil
    }
}
