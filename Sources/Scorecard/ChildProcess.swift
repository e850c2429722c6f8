import Foundation
import Subprocess

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// How one child process ended.
struct ChildOutput: Sendable {
    enum Verdict: Sendable, Equatable {
        /// The child ended by itself (any status).
        case completed
        /// Killed, with its process group, at the deadline.
        case timedOut
        /// Killed, with its process group, when standard output passed the cap.
        case outputTooLarge
    }

    var verdict: Verdict
    var status: TerminationStatus
    /// Standard output; when ``verdict`` is ``Verdict/outputTooLarge``, the first bytes read only.
    var stdout: [UInt8]
    /// The last bytes of standard error (``ChildProcess/stderrKeptBytes`` at most), not scrubbed.
    var stderrTail: [UInt8]
    /// True when standard error was longer than ``stderrTail``: its first bytes may be the end of a cut word.
    var stderrTruncated: Bool
    /// The child's process id, which is also its process group id.
    var processGroup: pid_t
}

/// Runs one child in a session (and so a process group) of its own, with a deadline and a cap on standard
/// output; on either limit the whole group is killed with SIGKILL. The same approach as GitTransport's
/// `GitProcess` (which this target cannot import).
struct ChildProcess: Sendable {
    /// Raw standard error kept: twice what is shown, so that scrubbing can see whole secrets near the end.
    static let stderrKeptBytes = 8192

    var executable: String
    var environment: [String: String]
    var workingDirectory: URL

    func run(_ arguments: [String], deadline: ContinuousClock.Instant, maxStdoutBytes: Int) async throws -> ChildOutput {
        var options = PlatformOptions()
        // setsid(): a new session and process group led by the child, with no controlling terminal, so
        // nothing can prompt and `kill(-pid)` reaches everything it starts (that does not leave the group itself).
        options.createSession = true
        // If the calling task is cancelled: kill the whole group at once.
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(10))]

        var subprocessEnvironment: [Subprocess.Environment.Key: String] = [:]
        for (key, value) in environment { subprocessEnvironment[.init(stringLiteral: key)] = value }

        let result = try await Subprocess.run(
            .path(FilePath(executable)),
            arguments: Arguments(arguments),
            environment: .custom(subprocessEnvironment),
            workingDirectory: FilePath(workingDirectory.path),
            platformOptions: options,
            input: .none,
            output: .sequence,
            error: .sequence
        ) { execution -> Supervised in
            let pid = execution.processIdentifier.value
            let stdoutSequence = execution.standardOutput
            let stderrSequence = execution.standardError
            do {
                return try await Self.supervise(
                    pid: pid, stdout: stdoutSequence, stderr: stderrSequence, deadline: deadline,
                    maxStdoutBytes: maxStdoutBytes)
            } catch {
                // Reading failed or the task was cancelled: never leave the child running behind us.
                kill(-pid, SIGKILL)
                throw error
            }
        }
        let supervised = result.closureResult
        // Anything of the group that outlived the child goes now.
        if supervised.verdict != .completed || !result.terminationStatus.isSuccess { kill(-supervised.pid, SIGKILL) }
        return ChildOutput(
            verdict: supervised.verdict,
            status: result.terminationStatus,
            stdout: supervised.stdout,
            stderrTail: supervised.stderr,
            stderrTruncated: supervised.stderrTruncated,
            processGroup: supervised.pid
        )
    }

    struct Supervised: Sendable {
        var verdict: ChildOutput.Verdict
        var stdout: [UInt8]
        var stderr: [UInt8]
        var stderrTruncated: Bool
        var pid: pid_t
    }

    private enum Part: Sendable {
        case stdout([UInt8], overCap: Bool)
        case stderr([UInt8], truncated: Bool)
        case verdict(ChildOutput.Verdict?)
    }

    /// Reads both pipes while the watchdog enforces the deadline; returns when both pipes are closed.
    private static func supervise(
        pid: pid_t, stdout stdoutSequence: SubprocessOutputSequence, stderr stderrSequence: SubprocessOutputSequence,
        deadline: ContinuousClock.Instant, maxStdoutBytes: Int
    ) async throws -> Supervised {
        try await withThrowingTaskGroup(of: Part.self) { group in
            group.addTask {
                var bytes: [UInt8] = []
                for try await chunk in stdoutSequence {
                    chunk.withUnsafeBytes { bytes.append(contentsOf: $0) }
                    if bytes.count > maxStdoutBytes {
                        // Past the cap: stop reading, kill the group (which closes the pipe's other end).
                        kill(-pid, SIGKILL)
                        bytes.removeSubrange(maxStdoutBytes...)
                        return .stdout(bytes, overCap: true)
                    }
                }
                return .stdout(bytes, overCap: false)
            }
            group.addTask {
                var tail: [UInt8] = []
                var truncated = false
                for try await chunk in stderrSequence {
                    chunk.withUnsafeBytes { tail.append(contentsOf: $0) }
                    if tail.count > 2 * Self.stderrKeptBytes {
                        tail.removeFirst(tail.count - Self.stderrKeptBytes)
                        truncated = true
                    }
                }
                if tail.count > Self.stderrKeptBytes {
                    tail.removeFirst(tail.count - Self.stderrKeptBytes)
                    truncated = true
                }
                return .stderr(tail, truncated: truncated)
            }
            group.addTask {
                .verdict(await Self.watchdog(group: pid, deadline: deadline))
            }
            var result = Supervised(verdict: .completed, stdout: [], stderr: [], stderrTruncated: false, pid: pid)
            var overCap = false
            var timedOut = false
            var readersDone = 0
            while let part = try await group.next() {
                switch part {
                case .stdout(let bytes, let over):
                    result.stdout = bytes
                    overCap = over
                    readersDone += 1
                case .stderr(let bytes, let truncated):
                    result.stderr = bytes
                    result.stderrTruncated = truncated
                    readersDone += 1
                case .verdict(let verdict):
                    timedOut = verdict == .timedOut
                }
                // Both pipes closed (or stdout abandoned past the cap and stderr closed): stop watching.
                if readersDone == 2 { group.cancelAll() }
            }
            // The first limit hit wins: past the cap the group is killed at once, so it cannot also time out,
            // unless the deadline came first.
            result.verdict = timedOut ? .timedOut : (overCap ? .outputTooLarge : .completed)
            return result
        }
    }

    /// Sleeps until cancelled (returns nil) or the deadline (kills the group, returns `.timedOut`).
    private static func watchdog(group pid: pid_t, deadline: ContinuousClock.Instant) async -> ChildOutput.Verdict? {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let now = clock.now
            if now >= deadline {
                kill(-pid, SIGKILL)
                return .timedOut
            }
            do { try await Task.sleep(for: min(.milliseconds(250), deadline - now)) } catch { return nil }
        }
        return nil
    }

    /// The executable a command names, as `execvp` would find it: a path (containing `/`) as given, relative to
    /// the current directory; a bare name in each `PATH` entry in turn. Nil when none is a regular executable file.
    static func resolve(_ command: String, path: String) -> String? {
        if command.contains("/") {
            let absolute = command.hasPrefix("/")
                ? command : FileManager.default.currentDirectoryPath + "/" + command
            return isExecutableFile(absolute) ? absolute : nil
        }
        guard !command.isEmpty else { return nil }
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let folder = directory.isEmpty ? "." : String(directory)
            let candidate = folder + "/" + command
            if isExecutableFile(candidate) {
                return candidate.hasPrefix("/") ? candidate : FileManager.default.currentDirectoryPath + "/" + candidate
            }
        }
        return nil
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
