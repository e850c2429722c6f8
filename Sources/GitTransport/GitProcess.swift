import Domain
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

/// How one git process ended.
struct GitProcessOutput: Sendable {
    enum Verdict: Sendable, Equatable {
        /// git ended by itself (any exit status).
        case completed
        /// Killed (with its process group) at the deadline.
        case timedOut
        /// Killed (with its process group) because the watched directory grew past the cap.
        case tooLarge
    }

    var verdict: Verdict
    var status: TerminationStatus
    var stdout: String
    /// The last ``GitProcess/stderrTailBytes`` of standard error, not yet scrubbed.
    var stderrTail: String
    var processGroup: pid_t

    var succeeded: Bool { verdict == .completed && status.isSuccess }
}

/// Runs one git process in a session (and so a process group) of its own, with a deadline and an
/// optional watch on a directory's size; on either limit the whole group is killed with SIGKILL
/// (git's helpers `git-remote-https`, `index-pack`, `fetch-pack` are in the group too).
struct GitProcess: Sendable {
    static let stderrTailBytes = 4096
    static let stdoutLimitBytes = 4 << 20

    var executable: String
    var environment: [Subprocess.Environment.Key: String]
    var onStart: (@Sendable (Int32) -> Void)?

    func run(
        _ arguments: [String],
        in workingDirectory: URL? = nil,
        deadline: ContinuousClock.Instant,
        watch: URL? = nil,
        maxBytes: Int64 = .max
    ) async throws -> GitProcessOutput {
        var options = PlatformOptions()
        // setsid(): a new session and process group led by git, with no controlling terminal, so
        // nothing can prompt and `kill(-pid)` reaches every helper git starts.
        options.createSession = true
        // If the calling task is cancelled: kill the whole group at once.
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(10))]

        let exec: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        let result = try await Subprocess.run(
            exec,
            arguments: Arguments(arguments),
            environment: .custom(environment),
            workingDirectory: workingDirectory.map { FilePath($0.path) },
            platformOptions: options,
            input: .none,
            output: .sequence,
            error: .sequence
        ) { execution -> (GitProcessOutput.Verdict, [UInt8], [UInt8], pid_t) in
            let pid = execution.processIdentifier.value
            onStart?(pid)
            let stdoutSequence = execution.standardOutput
            let stderrSequence = execution.standardError
            do {
                return try await Self.supervise(
                    pid: pid, stdout: stdoutSequence, stderr: stderrSequence, deadline: deadline, watch: watch,
                    maxBytes: maxBytes)
            } catch {
                // Reading failed or the task was cancelled: never leave git running behind us.
                kill(-pid, SIGKILL)
                throw error
            }
        }
        let (verdict, stdout, stderr, pid) = result.closureResult
        // Anything of the group that outlived git (it should not) goes now.
        if verdict != .completed || !result.terminationStatus.isSuccess { kill(-pid, SIGKILL) }
        return GitProcessOutput(
            verdict: verdict,
            status: result.terminationStatus,
            stdout: String(decoding: stdout, as: UTF8.self),
            stderrTail: String(decoding: stderr, as: UTF8.self),
            processGroup: pid
        )
    }

    /// Reads both pipes while the watchdog enforces the limits; returns when both pipes are closed.
    private static func supervise(
        pid: pid_t, stdout stdoutSequence: SubprocessOutputSequence, stderr stderrSequence: SubprocessOutputSequence,
        deadline: ContinuousClock.Instant, watch: URL?, maxBytes: Int64
    ) async throws -> (GitProcessOutput.Verdict, [UInt8], [UInt8], pid_t) {
        try await withThrowingTaskGroup(of: Part.self) { group in
            group.addTask {
                var bytes: [UInt8] = []
                for try await chunk in stdoutSequence where bytes.count < Self.stdoutLimitBytes {
                    chunk.withUnsafeBytes { bytes.append(contentsOf: $0) }
                }
                return .stdout(bytes)
            }
            group.addTask {
                var tail: [UInt8] = []
                for try await chunk in stderrSequence {
                    chunk.withUnsafeBytes { tail.append(contentsOf: $0) }
                    if tail.count > 2 * Self.stderrTailBytes { tail.removeFirst(tail.count - Self.stderrTailBytes) }
                }
                if tail.count > Self.stderrTailBytes { tail.removeFirst(tail.count - Self.stderrTailBytes) }
                return .stderr(tail)
            }
            group.addTask {
                .verdict(await Self.watchdog(group: pid, deadline: deadline, watch: watch, maxBytes: maxBytes))
            }
            var stdout: [UInt8] = []
            var stderr: [UInt8] = []
            var verdict = GitProcessOutput.Verdict.completed
            var readersDone = 0
            while let part = try await group.next() {
                switch part {
                case .stdout(let bytes): stdout = bytes; readersDone += 1
                case .stderr(let bytes): stderr = bytes; readersDone += 1
                case .verdict(let value): verdict = value ?? verdict
                }
                // Both pipes closed: git (and every helper holding them) is gone or going; stop watching.
                if readersDone == 2 { group.cancelAll() }
            }
            // A git that closed its pipes but keeps running is still held to the deadline.
            while verdict == .completed, Self.isRunning(pid) {
                if ContinuousClock.now >= deadline {
                    kill(-pid, SIGKILL)
                    verdict = .timedOut
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return (verdict, stdout, stderr, pid)
        }
    }

    /// True while `pid` runs: it exists and is not a zombie waiting to be reaped (`/proc/<pid>/stat`).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        // "pid (comm) S …": the state follows the command name, which may itself hold spaces or parentheses.
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    private enum Part: Sendable {
        case stdout([UInt8])
        case stderr([UInt8])
        case verdict(GitProcessOutput.Verdict?)
    }

    /// Polls until cancelled (returns nil) or a limit is hit (kills the group, returns why).
    private static func watchdog(
        group pid: pid_t, deadline: ContinuousClock.Instant, watch: URL?, maxBytes: Int64
    ) async -> GitProcessOutput.Verdict? {
        let clock = ContinuousClock()
        var interval = Duration.milliseconds(100)
        while !Task.isCancelled {
            let now = clock.now
            if now >= deadline {
                kill(-pid, SIGKILL)
                return .timedOut
            }
            do { try await Task.sleep(for: min(interval, deadline - now)) } catch { return nil }
            if clock.now >= deadline {
                kill(-pid, SIGKILL)
                return .timedOut
            }
            if let watch {
                let started = clock.now
                let size = DiskUsage.allocatedBytes(under: watch.path)
                if size > maxBytes {
                    kill(-pid, SIGKILL)
                    return .tooLarge
                }
                // Keep the walk's cost below ~10 % of the time: a large work tree is walked less often.
                let walk = clock.now - started
                interval = max(.milliseconds(100), min(.milliseconds(250), walk * 10))
            }
        }
        return nil
    }
}

/// Size on disk of a directory tree, like `du -s` (allocated 512-byte blocks), without following links.
public enum DiskUsage {
    public static func allocatedBytes(under path: String) -> Int64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        var total = Int64(info.st_blocks) * 512
        if (info.st_mode & S_IFMT) == S_IFDIR {
            guard let dir = opendir(path) else { return total }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = name(of: entry)
                if name == "." || name == ".." { continue }
                total += allocatedBytes(under: path + "/" + name)
            }
        }
        return total
    }

    /// The name of a directory entry, read up to its NUL and no further: an entry is only `d_reclen` bytes long,
    /// so copying the 256-byte `d_name` tuple (as this did before) reads past a short entry and, for the last
    /// entries of `readdir`'s buffer, past the end of glibc's allocation (undefined behaviour, can fault).
    static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \.d_name)!
        return String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
    }
}
