import Foundation
import GitFixtures
import Subprocess
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a new user does, with the real binary: `repowatch serve` on a new data folder, a repository served
/// by a local smart-HTTP git server added over HTTP, polled until `ready`, its health report read — the
/// bundled `repowatch-scorecard` (the default `scorecard.command`, found beside the binary) scoring it.
@Suite("End to end")
struct EndToEndTests {
    /// A port nobody listens on now (bound, then released).
    static func freePort() throws -> Int { try LoopbackSocket.freePort() }

    /// curl, as a user would: returns (status, body).
    ///
    /// Started with swift-subprocess, not Foundation's Process: tests that send many requests from several tasks
    /// crashed inside Foundation's `Process.run` (a memmove past the end of a buffer) even with starts serialised.
    static func http(_ method: String, _ url: String, key: String, json: String? = nil) async throws -> (Int, [String: Any]) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, url, "-H", "Authorization: Bearer \(key)"]
        if let json { arguments += ["-H", "Content-Type: application/json", "-d", json] }
        let result = try await Subprocess.run(
            .name("curl"), arguments: Arguments(arguments), environment: .custom(["PATH": "/usr/bin:/bin"]),
            output: .string(limit: 16 << 20), error: .discarded)
        let stdout = result.standardOutput
        let lines = stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let status = Int(lines.last ?? "") ?? 0
        let body = lines.dropLast().joined(separator: "\n")
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        return (status, object)
    }

    @Test(arguments: Engine.allCases)
    func aRepositoryBecomesReadyWithItsHealthReport(engine: Engine) async throws {
        try await HeavyTests.run {
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: scratch) }
            let served = scratch.appendingPathComponent("served")
            let now = Date()
            _ = try await RepositoryGenerator.make(
                at: served.appendingPathComponent("fixtures/project"), commits: 200,
                span: now.addingTimeInterval(-200 * 86_400)...now.addingTimeInterval(-3600), seed: 11, bare: true)
            let git = try await GitHTTPServer.start(root: served)
            let port = try Self.freePort()
            var flags = ["serve", "--data-dir", scratch.appendingPathComponent("data").path, "--port", "\(port)", "--log-level", "info"]
            if engine == .postgres { flags += ["--database-url", try await TestDatabase.createDatabase()] }
            let server = try await ChildProcess.start(CLITests.binary, flags, environment: CLITests.environment([
                "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(git.port)",
                "REPOWATCH_GIT_PROTOCOLS": "http",
            ]))
            #expect(await server.waitForOutput(containing: "listening on"), "\(server.stderr.suffix(2000))")
            let key = try #require(server.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey), "the first start's admin key")
            let base = "http://127.0.0.1:\(port)"

            let (added, entry) = try await Self.http("POST", "\(base)/v1/watchlist", key: key, json: #"{"repo_url": "\#(git.url(for: "fixtures/project"))"}"#)
            #expect(added == 202, "\(entry)")
            let id = try #require(entry["id"] as? String)
            let repositoryID = try #require(entry["repository_id"] as? String)
            var status: [String: Any] = [:]
            let deadline = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < deadline {
                status = try await Self.http("GET", "\(base)/v1/watchlist/\(id)/status", key: key).1
                if let s = status["status"] as? String, s != "processing" { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(status["status"] as? String == "ready", "\(status)\n\(server.stderr.suffix(3000))")
            #expect(status["health_score"] is Double || status["health_score"] is Int)

            let (code, report) = try await Self.http("GET", "\(base)/v1/repositories/\(repositoryID)/health", key: key)
            #expect(code == 200, "\(report)")
            let scorecard = report["scorecard"] as? [String: Any]
            let checks = (scorecard?["checks"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(Set(checks).isSuperset(of: ["Binary-Artifacts", "Dangerous-Workflow", "License", "Security-Policy", "Token-Permissions", "Vulnerabilities"]),
                    "\(checks)")
            #expect((report["activity"] as? [String: Any])?["commits_total"] as? Int == 200)
            #expect(report["health_score"] as? Double == status["health_score"] as? Double)
            let (activityCode, _) = try await Self.http("GET", "\(base)/v1/repositories/\(repositoryID)/activity", key: key)
            #expect(activityCode == 200)

            server.send(SIGTERM)
            #expect(await server.waitForExit() == 0, "\(server.stderr.suffix(2000))")
            await git.stop()
        }
    }
}
