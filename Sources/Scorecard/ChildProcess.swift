import Foundation
import Subprocess
import Synchronization

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
        /// Killed, with its process group, when its CPU time passed the limit.
        case cpuLimitExceeded
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
/// output; on either limit the whole group is killed with SIGKILL. The approach of GitTransport's `GitProcess`
/// (which this target cannot import), with one difference: the deadline watches the child until it has exited,
/// not only until its pipes close, so a child that closes its output and keeps running is killed too.
///
/// A CPU-time limit can be set as well: a watchdog reads the child's CPU time from `/proc/<pid>/stat` (user plus
/// system time, its own and that of the children it has waited for) and kills the group once it passes the limit.
/// A wall-clock limit alone lets one busy run hold a core for all of it (issue 10, finding 6); the CPU limit ends
/// a run that computes without end sooner, and one that mostly waits (the official CLI on the network) is not
/// charged for waiting. Linux only: where `/proc` is missing, only the deadline applies.
struct ChildProcess: Sendable {
    /// Raw standard error kept: twice what is shown, so that scrubbing can see whole secrets near the end.
    static let stderrKeptBytes = 8192

    var executable: String
    var environment: [String: String]
    var workingDirectory: URL

    func run(
        _ arguments: [String], deadline: ContinuousClock.Instant, maxStdoutBytes: Int, cpuLimit: Duration? = nil
    ) async throws -> ChildOutput {
        var options = PlatformOptions()
        // setsid(): a new session and process group led by the child, with no controlling terminal, so
        // nothing can prompt and `kill(-pid)` reaches everything it starts (that does not leave the group itself).
        options.createSession = true
        // If the calling task is cancelled: kill the whole group at once.
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(10))]

        var subprocessEnvironment: [Subprocess.Environment.Key: String] = [:]
        for (key, value) in environment { subprocessEnvironment[.init(stringLiteral: key)] = value }
        let childEnvironment = subprocessEnvironment
        let platformOptions = options
        let watch = Watch()
        let executable = executable
        let workingDirectory = workingDirectory

        return try await withThrowingTaskGroup(of: ChildOutput?.self) { group in
            group.addTask {
                let result = try await Subprocess.run(
                    .path(FilePath(executable)),
                    arguments: Arguments(arguments),
                    environment: .custom(childEnvironment),
                    workingDirectory: FilePath(workingDirectory.path),
                    platformOptions: platformOptions,
                    input: .none,
                    output: .sequence,
                    error: .sequence
                ) { execution -> Read in
                    let pid = execution.processIdentifier.value
                    watch.started(pid)
                    let stdoutSequence = execution.standardOutput
                    let stderrSequence = execution.standardError
                    do {
                        return try await Self.read(
                            pid: pid, stdout: stdoutSequence, stderr: stderrSequence, maxStdoutBytes: maxStdoutBytes)
                    } catch {
                        // Reading failed or the task was cancelled: never leave the child running behind us.
                        kill(-pid, SIGKILL)
                        throw error
                    }
                }
                // The child has exited and been reaped: the watchdogs must not signal its (now free) pid.
                let killedFor = watch.finished()
                let read = result.closureResult
                let verdict = killedFor ?? (read.overCap ? .outputTooLarge : .completed)
                // Anything of the group that outlived the child goes now, whatever the outcome (Subprocess stops
                // reading when the child exits, so a background process still holding the pipes does not delay
                // this). The group id cannot have been reused while any member lives; with none left this is ESRCH.
                kill(-read.pid, SIGKILL)
                return ChildOutput(
                    verdict: verdict,
                    status: result.terminationStatus,
                    stdout: read.stdout,
                    stderrTail: read.stderr,
                    stderrTruncated: read.stderrTruncated,
                    processGroup: read.pid
                )
            }
            group.addTask {
                // Sleeps until the deadline, or until cancelled when the child is done.
                if (try? await Task.sleep(until: deadline, clock: .continuous)) != nil { watch.limitPassed(.timedOut) }
                return nil
            }
            if let cpuLimit {
                group.addTask {
                    // Polls until the limit passes, or until cancelled when the child is done.
                    let interval = min(.seconds(1), max(.milliseconds(50), cpuLimit / 20))
                    while (try? await Task.sleep(for: interval)) != nil {
                        guard let pid = watch.runningPID, let used = Self.cpuTime(of: pid) else { continue }
                        if used > cpuLimit {
                            watch.limitPassed(.cpuLimitExceeded)
                            return nil
                        }
                    }
                    return nil
                }
            }
            var output: ChildOutput?
            while let part = try await group.next() {
                if let part {
                    output = part
                    group.cancelAll()
                }
            }
            guard let output else { throw CancellationError() }
            return output
        }
    }

    /// What the body read from the pipes.
    struct Read: Sendable {
        var stdout: [UInt8]
        var overCap: Bool
        var stderr: [UInt8]
        var stderrTruncated: Bool
        var pid: pid_t
    }

    /// The child's pid for the watchdogs, and which limit (the deadline, the CPU time) killed it, under one lock.
    private final class Watch: Sendable {
        private struct State {
            var pid: pid_t?
            var killedFor: ChildOutput.Verdict?
            var finished = false
        }

        private let state = Mutex(State())

        /// The child started; killed at once if a limit already passed.
        func started(_ pid: pid_t) {
            let killed = state.withLock { state in
                state.pid = pid
                return state.killedFor != nil
            }
            if killed { kill(-pid, SIGKILL) }
        }

        /// The child's pid while it runs: nil before it started and once it has been reaped.
        var runningPID: pid_t? {
            state.withLock { $0.finished ? nil : $0.pid }
        }

        /// A limit passed: kill the group unless the child is already done. The first limit to pass is the verdict.
        func limitPassed(_ verdict: ChildOutput.Verdict) {
            state.withLock { state in
                guard !state.finished, state.killedFor == nil else { return }
                state.killedFor = verdict
                if let pid = state.pid { kill(-pid, SIGKILL) }
            }
        }

        /// The child is reaped; returns the limit that killed it, if one did.
        func finished() -> ChildOutput.Verdict? {
            state.withLock { state in
                state.finished = true
                return state.killedFor
            }
        }
    }

    /// CPU time used by process `pid` and by the children it has waited for: utime + stime + cutime + cstime of
    /// `/proc/<pid>/stat`. Nil when that cannot be read, or when `pid` no longer leads its process group (it was
    /// reaped and the number reused: the child always leads its own group, see `createSession`).
    static func cpuTime(of pid: pid_t) -> Duration? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state, ppid, pgrp, …; utime, stime, cutime, cstime are fields 14–17 of the file.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 14, pid_t(fields[2]) == pid else { return nil }
        let ticks = [11, 12, 13, 14].compactMap { Int64(fields[$0]) }.reduce(0, +)
        let perSecond = max(Int64(sysconf(Int32(_SC_CLK_TCK))), 1)
        return .milliseconds(ticks * 1000 / perSecond)
    }

    private enum Part: Sendable {
        case stdout([UInt8], overCap: Bool)
        case stderr([UInt8], truncated: Bool)
    }

    /// Reads both pipes to their end, or standard output until the cap (then the group is killed).
    private static func read(
        pid: pid_t, stdout stdoutSequence: SubprocessOutputSequence, stderr stderrSequence: SubprocessOutputSequence,
        maxStdoutBytes: Int
    ) async throws -> Read {
        try await withThrowingTaskGroup(of: Part.self) { group in
            group.addTask {
                var bytes: [UInt8] = []
                for try await chunk in stdoutSequence {
                    chunk.withUnsafeBytes { bytes.append(contentsOf: $0) }
                    if bytes.count > maxStdoutBytes {
                        // Past the cap: stop reading, kill the group (which closes the pipes' other ends).
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
            var read = Read(stdout: [], overCap: false, stderr: [], stderrTruncated: false, pid: pid)
            while let part = try await group.next() {
                switch part {
                case .stdout(let bytes, let overCap):
                    read.stdout = bytes
                    read.overCap = overCap
                case .stderr(let bytes, let truncated):
                    read.stderr = bytes
                    read.stderrTruncated = truncated
                }
            }
            return read
        }
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
