import Foundation
import Logging
import Scorecard
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary folder holding a fake `scorecard` shell script, a fake clone and whatever the script writes.
struct FakeScorecard {
    let root: URL
    var script: URL { root.appendingPathComponent("bin/scorecard") }
    var clone: URL { root.appendingPathComponent("clone") }
    var bin: URL { root.appendingPathComponent("bin") }

    /// Writes `body` (POSIX sh) as an executable `bin/scorecard`; `@PIDS@` and `@ARGS@` in it become the quoted
    /// absolute paths of files in the folder (the script runs elsewhere: in its private, empty HOME).
    init(_ body: String) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("scorecard-tests-\(UUID().uuidString)")
        let body = body
            .replacingOccurrences(of: "@PIDS@", with: quoted(root.appendingPathComponent("pids").path))
            .replacingOccurrences(of: "@ARGS@", with: quoted(root.appendingPathComponent("args").path))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("clone"), withIntermediateDirectories: true)
        try Data(("#!/bin/sh\n" + body + "\n").utf8).write(to: root.appendingPathComponent("bin/scorecard"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent("bin/scorecard").path)
    }

    /// A file in the folder, for the script to print or write.
    func file(_ name: String) -> URL { root.appendingPathComponent(name) }

    /// A runner of this script with the usual local-mode arguments.
    func runner(
        arguments: [String] = ["--local={clone}", "--format=json", "--show-details"],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(60),
        maxOutputBytes: Int = 16 << 20,
        maxFiles: Int? = nil,
        cpuLimit: Duration? = nil
    ) -> ScorecardRunner {
        ScorecardRunner(
            command: script.path, arguments: arguments, environment: environment, timeout: timeout,
            maxOutputBytes: maxOutputBytes, maxFiles: maxFiles, cpuLimit: cpuLimit, logger: quietLogger)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: root) }
}

/// The runner logs at info and warning; the tests only want their own output.
let quietLogger: Logger = {
    var logger = Logger(label: "scorecard-tests")
    logger.logLevel = .critical
    return logger
}()

/// Shell-quotes a path for a script.
func quoted(_ path: String) -> String { "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// True while `pid` names a live process. A zombie (killed, not yet reaped by whoever inherited it) counts as gone.
func isAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    // "pid (comm) S …": the state follows the last ')'.
    guard let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}

/// Polls `condition` every 50 ms until it holds or `limit` passes.
func eventually(within limit: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}

/// Runs `body` and returns the ``ScorecardFailure`` it throws (records an issue and returns nil otherwise).
func failure(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> ScorecardRun
) async -> ScorecardFailure? {
    do {
        let run = try await body()
        Issue.record("expected a ScorecardFailure, got a run with score \(run.report.score)", sourceLocation: sourceLocation)
        return nil
    } catch let failure as ScorecardFailure {
        return failure
    } catch {
        Issue.record("expected a ScorecardFailure, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
