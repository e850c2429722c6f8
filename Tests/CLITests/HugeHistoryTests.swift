import Foundation
import GitFixtures
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, finding 5: a small repository whose commit messages are huge must not cost the server memory in
/// proportion to them. Twelve commits of 50 MB messages pack to a few hundred KB; `git log` prints 600 MB of them.
@Suite("Hostile histories")
struct HugeHistoryTests {
    /// A `/proc/<pid>/status` field (`VmRSS`, `VmHWM`), in MiB.
    static func memory(_ field: String, of pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kib = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }

    @Test func twelveCommitsOf50MBMessagesBackfillInBoundedMemory() async throws {
        try await HeavyTests.run {
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: scratch) }
            let served = scratch.appendingPathComponent("served")
            try FileManager.default.createDirectory(at: served.appendingPathComponent("fixtures"), withIntermediateDirectories: true)
            let script = URL(fileURLWithPath: CLITests.binary)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/huge-message-repo.py").path
            let (made, _, madeErrors) = try await ChildProcess.run(
                "/usr/bin/env", ["python3", script, served.appendingPathComponent("fixtures/huge").path],
                environment: ProcessInfo.processInfo.environment)
            #expect(made == 0, "\(madeErrors)")

            let git = try await GitHTTPServer.start(root: served)
            let port = try EndToEndTests.freePort()
            let server = try await ChildProcess.start(CLITests.binary, [
                "serve", "--data-dir", scratch.appendingPathComponent("data").path, "--port", "\(port)", "--log-level", "info",
            ], environment: CLITests.environment([
                "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(git.port)",
                "REPOWATCH_GIT_PROTOCOLS": "http",
            ]))
            #expect(await server.waitForOutput(containing: "listening on"), "\(server.stderr.suffix(2000))")
            let key = try #require(server.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey))
            let base = "http://127.0.0.1:\(port)"
            // Idle: started, one request served.
            _ = try await EndToEndTests.http("GET", "\(base)/v1/watchlist", key: key)
            let idle = try #require(Self.memory("VmRSS", of: server.pid))

            let started = ContinuousClock.now
            let (added, entry) = try await EndToEndTests.http(
                "POST", "\(base)/v1/watchlist", key: key, json: #"{"repo_url": "\#(git.url(for: "fixtures/huge"))"}"#)
            #expect(added == 202, "\(entry)")
            let id = try #require(entry["id"] as? String)
            var status: [String: Any] = [:]
            while ContinuousClock.now < started + .seconds(300) {
                status = try await EndToEndTests.http("GET", "\(base)/v1/watchlist/\(id)/status", key: key).1
                if let value = status["status"] as? String, value != "processing" { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            let elapsed = ContinuousClock.now - started
            let peak = try #require(Self.memory("VmHWM", of: server.pid))
            print("huge messages: idle \(Int(idle)) MiB, peak \(Int(peak)) MiB (+\(Int(peak - idle)) MiB), ready in \(elapsed)")
            #expect(status["status"] as? String == "ready", "\(status)\n\(server.stderr.suffix(3000))")
            let repository = try #require(entry["repository_id"] as? String)
            let activity = try await EndToEndTests.http("GET", "\(base)/v1/repositories/\(repository)/activity", key: key).1
            #expect(activity["commits_total"] as? Int == 12, "\(activity)")
            // Before streaming the history, the server held each batch's whole `git log` output: 648 MiB RSS.
            #expect(peak - idle < 150, "peak \(peak) MiB, idle \(idle) MiB")

            server.send(SIGTERM)
            #expect(await server.waitForExit() == 0)
            await git.stop()
        }
    }
}
