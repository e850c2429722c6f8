import Foundation
import GitFixtures
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Alerts end to end, with the real binary on both engines: a repository served by the loopback git server is watched
/// with regression rules and a webhook whose receiver is the reference Standard Webhooks library (Python). The first
/// report sends nothing; a pushed `pull_request_target` workflow that checks out the pull request's head, then a
/// re-check, sends exactly one message, which the library verifies; a re-check with no change sends nothing more.
@Suite("Alerts end to end")
struct AlertsEndToEndTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let safeWorkflow = """
        name: ci
        on: push
        permissions: read-all
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
              - run: make test

        """

    /// Checks out the pull request's head with the target repository's permissions: Scorecard's Dangerous-Workflow.
    static let dangerousWorkflow = """
        name: pr
        on: pull_request_target
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
                with:
                  ref: ${{ github.event.pull_request.head.sha }}
              - run: make test

        """

    /// Commits `files` on the served repository's `main` (as a developer's push would).
    static func push(_ files: [String: String], to bare: URL, message: String, scratch: URL) async throws {
        let work = scratch.appendingPathComponent("work-\(UUID().uuidString)")
        try await runGit(["clone", "-q", bare.path, work.path], in: scratch)
        for (path, text) in files {
            let file = work.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        try await runGit(["add", "-A"], in: work)
        try await runGit(["commit", "-q", "-m", message], in: work)
        try await runGit(["push", "-q", "origin", "HEAD:\(RepositoryGenerator.branch)"], in: work)
        try? FileManager.default.removeItem(at: work)
    }

    /// The receiver's records: one per request, as the reference library judged it.
    static func records(_ file: URL) -> [[String: Any]] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test(arguments: Engine.allCases)
    func aRegressionIsDeliveredOnceAndVerifiedByTheReferenceLibrary(engine: Engine) async throws {
        try await HeavyTests.run {
            let python = Self.packageRoot.appendingPathComponent(".build/pyvenv/bin/python").path
            #expect(FileManager.default.isExecutableFile(atPath: python), "run scripts/python-venv.sh (make test does) for the reference verifier")
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: scratch) }
            let served = scratch.appendingPathComponent("served")
            let bare = served.appendingPathComponent("fixtures/project")
            let now = Date()
            _ = try await RepositoryGenerator.make(
                at: bare, commits: 60, span: now.addingTimeInterval(-100 * 86_400)...now.addingTimeInterval(-3600), seed: 5, bare: true)
            try await Self.push([".github/workflows/ci.yml": Self.safeWorkflow], to: bare, message: "ci", scratch: scratch)
            let git = try await GitHTTPServer.start(root: served)
            let receiverPort = try EndToEndTests.freePort()
            let port = try EndToEndTests.freePort()
            var flags = ["serve", "--data-dir", scratch.appendingPathComponent("data").path, "--port", "\(port)", "--log-level", "info"]
            if engine == .postgres { flags += ["--database-url", try await TestDatabase.createDatabase()] }
            let server = try await ChildProcess.start(CLITests.binary, flags, environment: CLITests.environment([
                "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(git.port)",
                "REPOWATCH_GIT_PROTOCOLS": "http",
                "REPOWATCH_WEBHOOKS_INTERNAL_HOSTS": "127.0.0.1:\(receiverPort)",
                "REPOWATCH_WEBHOOKS_RETRY_BASE": "200ms",
                // Webhook secrets are stored sealed; on PostgreSQL every host needs the same key, so none is made up.
                "REPOWATCH_SECRETS_TOKEN_KEY": Data(repeating: 3, count: 32).base64EncodedString(),
            ]))
            #expect(await server.waitForOutput(containing: "listening on"), "\(server.stderr.suffix(2000))")
            let key = try #require(server.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey), "the first start's admin key")
            let base = "http://127.0.0.1:\(port)"

            // The webhook first: its secret goes to the receiver through the environment.
            let (created, webhook) = try await EndToEndTests.http(
                "POST", "\(base)/v1/webhooks", key: key, json: #"{"url": "http://127.0.0.1:\#(receiverPort)/hooks/repowatch"}"#)
            #expect(created == 201, "\(webhook)")
            let secret = try #require(webhook["secret"] as? String)
            let webhookID = try #require(webhook["id"] as? String)
            let received = scratch.appendingPathComponent("received.jsonl")
            let receiver = try await ChildProcess.start(
                python, [Self.packageRoot.appendingPathComponent("Tests/receivers/standard_webhooks_receiver.py").path, "\(receiverPort)", received.path],
                environment: ["WEBHOOK_SECRET": secret, "PATH": "/usr/bin:/bin"])
            #expect(await receiver.waitForOutput(containing: "listening on"), "\(receiver.stderr.suffix(2000))")

            let alerts = #"{"check_regressed": ["Dangerous-Workflow", "Token-Permissions"], "score_drop": 0.5}"#
            let (added, entry) = try await EndToEndTests.http(
                "POST", "\(base)/v1/watchlist", key: key, json: #"{"repo_url": "\#(git.url(for: "fixtures/project"))", "alerts": \#(alerts)}"#)
            #expect(added == 202, "\(entry)")
            let id = try #require(entry["id"] as? String)

            /// Waits until the entry is ready and not refreshing, with a check newer than `after`.
            func settled(after: String?) async throws -> [String: Any] {
                var status: [String: Any] = [:]
                let deadline = ContinuousClock.now + .seconds(180)
                while ContinuousClock.now < deadline {
                    status = try await EndToEndTests.http("GET", "\(base)/v1/watchlist/\(id)/status", key: key).1
                    if status["status"] as? String == "ready", status["refreshing"] as? Bool == false,
                        let checked = status["last_checked_at"] as? String, checked != after
                    { return status }
                    if status["status"] as? String == "failed" { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                Issue.record("not settled: \(status)\n\(server.stderr.suffix(3000))")
                return status
            }
            let first = try await settled(after: nil)
            try await Task.sleep(for: .seconds(2))
            #expect(Self.records(received).isEmpty, "the first report is a baseline: nothing is delivered")

            // A dangerous workflow is pushed; the owner asks for a re-check.
            try await Self.push([".github/workflows/pr.yml": Self.dangerousWorkflow], to: bare, message: "pr workflow", scratch: scratch)
            let (rechecked, _) = try await EndToEndTests.http("POST", "\(base)/v1/watchlist/\(id)/recheck", key: key)
            #expect(rechecked == 202)
            let second = try await settled(after: first["last_checked_at"] as? String)
            #expect(second["head_commit"] as? String != first["head_commit"] as? String, "the re-check saw the push")
            let deadline = ContinuousClock.now + .seconds(30)
            while Self.records(received).isEmpty && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            try await Task.sleep(for: .seconds(2))
            let records = Self.records(received)
            #expect(records.count == 1, "exactly one delivery: \(records)")
            let record = try #require(records.first)
            #expect(record["verified"] as? Bool == true, "the reference library verifies it: \(record["error"] ?? "")")
            let payload = record["payload"] as? [String: Any]
            #expect(payload?["type"] as? String == "alerts.raised")
            let raised = ((payload?["data"] as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
            let regression = raised.first { $0["rule"] as? String == "check_regressed" && $0["subject"] as? String == "Dangerous-Workflow" }
            #expect(regression?["previous"] as? Int == 10 && regression?["current"] as? Int == 0, "\(raised)")
            #expect(raised.contains { $0["rule"] as? String == "score_drop" }, "\(raised)")

            // The same alerts are listed for a client that only polls, and the delivery is in the endpoint's log.
            let events = try await EndToEndTests.http("GET", "\(base)/v1/events?entry=\(id)", key: key).1["items"] as? [[String: Any]] ?? []
            #expect(events.count == raised.count && Set(events.compactMap { $0["notification_id"] as? String }).count == 1)
            #expect(record["webhook_id"] as? String == "msg_" + (events.first?["notification_id"] as? String ?? ""))
            let log = try await EndToEndTests.http("GET", "\(base)/v1/webhooks/\(webhookID)/deliveries", key: key).1["items"] as? [[String: Any]] ?? []
            #expect(log.count == 1 && log.first?["outcome"] as? String == "succeeded" && log.first?["response_status"] as? Int == 204)

            // Nothing changed: a third check sends nothing.
            _ = try await EndToEndTests.http("POST", "\(base)/v1/watchlist/\(id)/recheck", key: key)
            _ = try await settled(after: second["last_checked_at"] as? String)
            try await Task.sleep(for: .seconds(2))
            #expect(Self.records(received).count == 1, "no change, no delivery")

            server.send(SIGTERM)
            #expect(await server.waitForExit() == 0, "\(server.stderr.suffix(2000))")
            receiver.send(SIGTERM)
            _ = await receiver.waitForExit()
            await git.stop()
        }
    }
}
