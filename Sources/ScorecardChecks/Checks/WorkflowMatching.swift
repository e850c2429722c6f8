import Foundation

/// The official "job matcher": a job matches when each wanted step is matched by one of its steps (an action
/// prefix `uses: NAME@…`, `with:` values, a regular expression over the `run:` script), or when the job calls a
/// reusable workflow starting with a wanted `uses`.
struct JobMatcher {
    struct WantedStep {
        var uses: String? = nil
        var with: [String: String] = [:]
        var run: Pattern? = nil
    }

    let steps: [WantedStep]
    let logText: String

    func matches(_ job: Job) -> Bool {
        for wanted in steps {
            if let uses = wanted.uses, let call = job.uses?.value, call.hasPrefix(uses + "@") { return true }
            guard job.steps.contains(where: { Self.stepMatches(wanted, $0) }) else { return false }
        }
        return true
    }

    static func stepMatches(_ wanted: WantedStep, _ step: Step) -> Bool {
        if let uses = wanted.uses {
            guard let value = step.uses?.value, value.hasPrefix(uses + "@") else { return false }
        }
        for (key, value) in wanted.with {
            guard step.with[key]?.value == value else { return false }
        }
        if let run = wanted.run {
            guard let script = step.run?.value else { return false }
            let joined = script.replacingOccurrences(of: "\\\r\n", with: "")
                .replacingOccurrences(of: "\\\n", with: "").replacingOccurrences(of: "\\\r", with: "")
            guard run.matches(joined) else { return false }
        }
        return true
    }

    /// The first job of `workflow` matched by one of `matchers`, with the matcher.
    static func firstMatch(_ workflow: Workflow, _ matchers: [JobMatcher]) -> (Job, JobMatcher)? {
        for job in workflow.jobs {
            for matcher in matchers where matcher.matches(job) { return (job, matcher) }
        }
        return nil
    }

    /// The official list of publishing workflows (Packaging; Token-Permissions allows `packages: write` in them).
    static let packaging: [JobMatcher] = [
        .init(steps: [.init(uses: "actions/setup-node", with: ["registry-url": "https://registry.npmjs.org"]),
                      .init(run: Pattern("npm.*publish"))], logText: "candidate node publishing workflow using npm"),
        .init(steps: [.init(uses: "actions/setup-java"), .init(run: Pattern("mvn.*deploy"))],
              logText: "candidate java publishing workflow using maven"),
        .init(steps: [.init(uses: "actions/setup-java"), .init(run: Pattern("gradle.*publish"))],
              logText: "candidate java publishing workflow using gradle"),
        .init(steps: [.init(run: Pattern("sbt.*ci-release"))], logText: "candidate Scala publishing workflow using sbt-ci-release"),
        .init(steps: [.init(run: Pattern("gem.*push"))], logText: "candidate ruby publishing workflow using gem"),
        .init(steps: [.init(run: Pattern("nuget.*push"))], logText: "candidate nuget publishing workflow"),
        .init(steps: [.init(run: Pattern("docker.*push"))], logText: "candidate docker publishing workflow"),
        .init(steps: [.init(uses: "docker/build-push-action")], logText: "candidate docker publishing workflow"),
        .init(steps: [.init(uses: "pypa/gh-action-pypi-publish")], logText: "candidate python publishing workflow using pypi"),
        .init(steps: [.init(uses: "relekang/python-semantic-release")],
              logText: "candidate python publishing workflow using python-semantic-release"),
        .init(steps: [.init(uses: "goreleaser/goreleaser-action")], logText: "candidate golang publishing workflow"),
        .init(steps: [.init(run: Pattern("cargo.*publish"))], logText: "candidate rust publishing workflow using cargo"),
        .init(steps: [.init(uses: "imjasonh/setup-ko")], logText: "candidate container publishing workflow using ko"),
        .init(steps: [.init(uses: "ko-build/setup-ko")], logText: "candidate container publishing workflow using ko"),
        .init(steps: [.init(run: Pattern("npx.*semantic-release"))], logText: "candidate publishing workflow using semantic-release"),
        .init(steps: [.init(uses: "erlef/setup-elixir"), .init(run: Pattern(".*hex.publish.*"))],
              logText: "candidate publishing workflow using elixir"),
    ]

    /// Workflows that create GitHub releases or deploy pages (Token-Permissions allows `contents: write` in them).
    static let releasing: [JobMatcher] = [
        .init(steps: [.init(uses: "relekang/python-semantic-release")], logText: "candidate python publishing workflow using python-semantic-release"),
        .init(steps: [.init(run: Pattern("(npx|pnpm|yarn).*semantic-release"))], logText: "candidate publishing workflow using semantic-release"),
        .init(steps: [.init(uses: "actions/setup-go"), .init(uses: "goreleaser/goreleaser-action")], logText: "candidate golang publishing workflow"),
        .init(steps: [.init(uses: "slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml")],
              logText: "candidate SLSA publishing workflow using slsa-github-generator"),
        .init(steps: [.init(uses: "slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml")],
              logText: "candidate SLSA publishing workflow using slsa-github-generator"),
        .init(steps: [.init(run: Pattern(".*mvn.*release:prepare.*"))], logText: "candidate mvn release workflow"),
        .init(steps: [.init(uses: "peaceiris/actions-gh-pages")],
              logText: "candidate GitHub page deployment workflow using peaceiris/actions-gh-pages"),
    ]

    /// Actions that upload SARIF results (Token-Permissions allows `security-events: write` with them).
    static let sarifActions: Set<String> = [
        "github/codeql-action/analyze", "github/codeql-action/upload-sarif", "ossf/scorecard-action",
        "haskell-actions/hlint-scan", "zizmorcore/zizmor-action",
    ]
}

extension CheckContext {
    /// Workflows with content (the official CLI skips comment-only files), or the first parse error.
    func parsedWorkflows() -> Result<[(file: WorkflowFile, workflow: Workflow)], WorkflowParseFailure> {
        var parsed: [(file: WorkflowFile, workflow: Workflow)] = []
        for file in workflows where file.hasContent {
            guard let workflow = file.workflow else {
                return .failure(WorkflowParseFailure(path: file.path, message: file.parseError ?? "unparsable"))
            }
            parsed.append((file, workflow))
        }
        return .success(parsed)
    }
}

/// A workflow file that is not valid YAML: the official CLI ends the check with an internal error.
struct WorkflowParseFailure: Error {
    let path: String
    let message: String
}
