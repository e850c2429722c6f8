import Foundation
import Scorecard

/// Pinned-Dependencies: the share of build dependencies pinned by hash, weighted as the official evaluation.
/// Dependencies: GitHub Actions in workflows (`uses:` pinned by a 40-hex commit; local `./` actions skipped;
/// `docker://` images need `@sha256:`), container images of Dockerfile `FROM` (`@sha256:`; `scratch` and earlier
/// build stages skipped), and in workflow `run:` steps, Dockerfile `RUN` and shell scripts: `curl … | sh`-style
/// download-then-run (never pinned), `pip install` (pinned with `--require-hashes`), `npm install` (`npm ci` is
/// pinned), `go install`/`go get` (pinned at a commit hash), `choco`, `nuget`.
/// Score: per type pinned/total with weight 10, except actions, split GitHub-owned (weight 2) and third-party
/// (weight 8) when both occur; 10·Σ(w·pinned)/Σ(w·total), integer; no dependencies → -1.
public struct PinnedDependenciesCheck: Check {
    public let name = "Pinned-Dependencies"
    public let shortDescription =
        "Determines if the project has declared and pinned the dependencies of its build process."

    static let commitHash = Pattern(#"^[0-9a-fA-F]{40}$"#)
    /// An image pinned by digest, as the official pattern: `@sha256:` and 64 hex digits, or `@sha256:${…}`.
    static let digest = Pattern(#".*@sha256:(?:[a-f0-9]{64}|\$\{.*\})"#)

    /// A check with the official rules.
    public init() {}

    struct Use {
        let kind: String
        let pinned: Bool
        let location: Location
        let snippet: String
    }

    static func isDockerfile(_ file: RepoFile) -> Bool {
        let lower = file.name.lowercased()
        return lower == "dockerfile" || lower.hasPrefix("dockerfile.") || lower.hasSuffix(".dockerfile")
            || lower.hasPrefix("dockerfile-") || lower.hasSuffix("-dockerfile")
    }

    static func isShellScript(_ file: RepoFile, _ context: CheckContext) -> Bool {
        if ["sh", "bash", "zsh", "ksh", "mksh"].contains(file.fileExtension) { return true }
        guard file.fileExtension.isEmpty, file.isExecutable, let head = context.read(file.path, limit: 128) else {
            return false
        }
        let firstLine = String(decoding: head, as: UTF8.self).split(whereSeparator: \.isNewline).first ?? ""
        return firstLine.hasPrefix("#!") && ["/sh", "/bash", "env sh", "env bash", "/zsh", "env zsh", "/ksh", "/mksh"]
            .contains { firstLine.hasSuffix($0) || firstLine.contains($0 + " ") }
    }

    /// `uses:` of an action: pinned when its ref is a full commit hash (or a `docker://` image by digest).
    static func actionUse(_ uses: Located, path: String) -> Use? {
        let value = uses.value
        if value.hasPrefix("./") { return nil }
        if value.hasPrefix("docker://") {
            return Use(kind: "containerImage", pinned: value.contains("@sha256:"), location: Location(path, line: uses.line), snippet: value)
        }
        let parts = value.split(separator: "@", maxSplits: 1)
        let pinned = parts.count == 2 && commitHash.matches(String(parts[1]))
        return Use(kind: "GitHubAction", pinned: pinned, location: Location(path, line: uses.line), snippet: value)
    }

    /// Dockerfile instructions with their first line: continuation lines joined, comments dropped.
    static func instructions(_ text: String) -> [(keyword: String, arguments: String, line: Int)] {
        var result: [(String, String, Int)] = []
        var pending = ""
        var startLine = 0
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw).trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if !pending.isEmpty && line.hasPrefix("#") { continue }
            if pending.isEmpty { startLine = index + 1 }
            if line.hasSuffix("\\") {
                line.removeLast()
                pending += line + " "
                continue
            }
            pending += line
            let parts = pending.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            if let keyword = parts.first {
                result.append((keyword.uppercased(), parts.count > 1 ? String(parts[1]) : "", startLine))
            }
            pending = ""
        }
        return result
    }

    /// A `RUN` argument in exec form (`["sh", "-c", "…"]`) becomes the joined words.
    static func runScript(_ arguments: String) -> String {
        guard arguments.hasPrefix("["), let data = arguments.data(using: .utf8),
              let words = try? JSONDecoder().decode([String].self, from: data) else { return arguments }
        if words.count >= 3, ShellScript.interpreters.contains(ShellScript.base(words[0])), words[1] == "-c" {
            return words[2...].joined(separator: " ")
        }
        return words.joined(separator: " ")
    }

    func dockerfileUses(_ file: RepoFile, _ text: String) -> [Use] {
        var uses: [Use] = []
        // As the official check: every FROM is a dependency, a stage named by an earlier `AS` too (pinned when that
        // stage's image was); `scratch` is none; `${NAME}` takes the value of an earlier `ARG NAME=value`.
        var stagePinned: [String: Bool] = [:]
        var arguments: [String: String] = [:]
        for instruction in Self.instructions(text) {
            let location = Location(file.path, line: instruction.line)
            switch instruction.keyword {
            case "ARG":
                for word in instruction.arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    if let equals = word.firstIndex(of: "=") {
                        arguments[String(word[..<equals])] = String(word[word.index(after: equals)...])
                    }
                }
            case "FROM":
                let words = instruction.arguments.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    .map { word in arguments.reduce(String(word)) { $0.replacingOccurrences(of: "${\($1.key)}", with: $1.value) } }
                    .filter { !$0.hasPrefix("--") }
                guard let image = words.first else { continue }
                let stage = words.count == 3 && words[1].lowercased() == "as" ? words[2] : nil
                if image.lowercased() == "scratch" {
                    if let stage { stagePinned[stage] = true }
                    continue
                }
                let pinned = stagePinned[image] == true || Self.digest.matches(image)
                if let stage { stagePinned[stage] = pinned }
                uses.append(Use(kind: "containerImage", pinned: pinned, location: location, snippet: "FROM \(instruction.arguments)"))
            case "RUN":
                for use in ShellScript.uses(Self.runScript(instruction.arguments)) {
                    uses.append(Use(kind: use.kind, pinned: use.pinned, location: location, snippet: use.snippet))
                }
            default:
                continue
            }
        }
        return uses
    }

    public func run(_ context: CheckContext) -> ScorecardReport.Check {
        var details = Details()
        let workflows: [(file: WorkflowFile, workflow: Workflow)]
        switch context.parsedWorkflows() {
        case .success(let parsed): workflows = parsed
        case .failure(let failure): return internalError("\(failure.path): \(failure.message)")
        }
        var uses: [Use] = []
        for (file, workflow) in workflows {
            for job in workflow.jobs {
                if let call = job.uses, let use = Self.actionUse(call, path: file.path) { uses.append(use) }
                let shell = job.defaultShell
                let windows = job.runsOn?.lowercased().contains("windows") ?? false
                for step in job.steps {
                    if let action = step.uses, let use = Self.actionUse(action, path: file.path) { uses.append(use) }
                    guard let run = step.run else { continue }
                    // Only bash/sh scripts are read, as the official CLI (Windows defaults to pwsh).
                    let stepShell = step.shell ?? shell ?? (windows ? "pwsh" : "bash")
                    guard stepShell.hasPrefix("bash") || stepShell.hasPrefix("sh") else { continue }
                    for use in ShellScript.uses(run.value) {
                        uses.append(Use(kind: use.kind, pinned: use.pinned, location: Location(file.path, line: run.line), snippet: use.snippet))
                    }
                }
            }
        }
        for file in context.files where !file.isTestData {
            if Self.isDockerfile(file), let text = context.text(file.path) {
                uses += dockerfileUses(file, text)
            } else if Self.isShellScript(file, context), let text = context.text(file.path) {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                for (index, line) in lines.enumerated() {
                    for use in ShellScript.uses(String(line)) {
                        uses.append(Use(kind: use.kind, pinned: use.pinned, location: Location(file.path, line: index + 1), snippet: use.snippet))
                    }
                }
            }
        }
        if uses.isEmpty { return inconclusive("no dependencies found", details) }

        for use in uses where !use.pinned {
            let owner = use.kind == "GitHubAction" ? (Self.isGitHubOwned(use.snippet) ? "GitHub-owned " : "third-party ") : ""
            details.warn("\(owner)\(use.kind) not pinned by hash", at: use.location)
        }
        var groups: [(pinned: Int, total: Int, weight: Int)] = []
        let actions = uses.filter { $0.kind == "GitHubAction" }
        let owned = actions.filter { Self.isGitHubOwned($0.snippet) }
        let third = actions.filter { !Self.isGitHubOwned($0.snippet) }
        let count = { (list: [Use]) in (list.filter(\.pinned).count, list.count) }
        if !owned.isEmpty && !third.isEmpty {
            groups.append((count(owned).0, count(owned).1, 2))
            groups.append((count(third).0, count(third).1, 8))
        } else if !actions.isEmpty {
            groups.append((count(actions).0, count(actions).1, 10))
        }
        if !owned.isEmpty {
            details.info(String(format: "%3d out of %3d GitHub-owned GitHubAction dependencies pinned", count(owned).0, count(owned).1))
        }
        if !third.isEmpty {
            details.info(String(format: "%3d out of %3d third-party GitHubAction dependencies pinned", count(third).0, count(third).1))
        }
        let kinds = Set(uses.map(\.kind)).subtracting(["GitHubAction"]).sorted()
        for kind in kinds {
            let list = uses.filter { $0.kind == kind }
            groups.append((count(list).0, count(list).1, 10))
            details.info(String(format: "%3d out of %3d ", count(list).0, count(list).1) + "\(kind) dependencies pinned")
        }
        let weighted = groups.reduce(0) { $0 + $1.pinned * $1.weight }
        let total = groups.reduce(0) { $0 + $1.total * $1.weight }
        let score = total == 0 ? 10 : min(10 * weighted / total, 10)
        if score == 10 { return result(10, "all dependencies are pinned", details) }
        return result(score, "dependency not pinned by hash detected -- score normalized to \(score)", details)
    }

    static func isGitHubOwned(_ action: String) -> Bool {
        action.hasPrefix("actions/") || action.hasPrefix("github/")
    }
}
