import Foundation
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A child process for tests (a `repowatch serve`, `worker` or `api`, a `pkill`, an `rm`), run with swift-subprocess
/// — as the service runs git and Scorecard — without blocking Swift's cooperative threads.
///
/// Its standard output and error go to files in a private folder (read incrementally by ``stdout``/``stderr``), not
/// to pipes: its exit is reported when it exits, even if a process it started still holds what it inherited, and
/// no dispatch source or readability handler is involved. (The Foundation `Process` with pipe readability handlers
/// this replaces was the suspect of a libdispatch crash, `_dispatch_event_loop_drain`, in one CI run.)
public final class ChildProcess: Sendable {
    public let pid: Int32
    private let folder: URL
    private let stdoutFile: OutputFile
    private let stderrFile: OutputFile
    private let exit: ExitState

    private init(pid: Int32, folder: URL, exit: ExitState) {
        self.pid = pid
        self.folder = folder
        stdoutFile = OutputFile(folder.appendingPathComponent("stdout").path)
        stderrFile = OutputFile(folder.appendingPathComponent("stderr").path)
        self.exit = exit
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Starts `executable` with `arguments` and exactly `environment` (nothing inherited); returns once it runs.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> ChildProcess {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let out = try FileDescriptor.open(
            FilePath(folder.appendingPathComponent("stdout").path), .writeOnly, options: [.create, .truncate, .closeOnExec],
            permissions: [.ownerReadWrite])
        let err = try FileDescriptor.open(
            FilePath(folder.appendingPathComponent("stderr").path), .writeOnly, options: [.create, .truncate, .closeOnExec],
            permissions: [.ownerReadWrite])
        var custom: [Environment.Key: String] = [:]
        for (key, value) in environment { custom[Environment.Key(stringLiteral: key)] = value }

        // The child shares its exit state with the task that waits for it; `start` returns once the pid is known.
        let exitState = ExitState()
        let (started, startedContinuation) = AsyncThrowingStream<Int32, any Error>.makeStream()
        Task {
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(executable)),
                    arguments: Arguments(arguments),
                    environment: .custom(custom),
                    input: .none,
                    output: .fileDescriptor(out, closeAfterSpawningProcess: true),
                    error: .fileDescriptor(err, closeAfterSpawningProcess: true)
                ) { execution in
                    startedContinuation.yield(execution.processIdentifier.value)
                    startedContinuation.finish()
                }
                let (status, signalled): (Int32, Bool) =
                    switch result.terminationStatus {
                    case .exited(let code): (code, false)
                    case .signaled(let signal): (signal, true)
                    }
                let waiters = exitState.state.withLock { state in
                    state.status = status
                    state.signalled = signalled
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume(returning: status) }
            } catch {
                startedContinuation.finish(throwing: error)
            }
        }
        var iterator = started.makeAsyncIterator()
        guard let pid = try await iterator.next() else { throw CancellationError() }
        return ChildProcess(pid: pid, folder: folder, exit: exitState)
    }

    public var stdout: String { stdoutFile.text }
    public var stderr: String { stderrFile.text }
    /// True once the process has ended (and been waited for).
    public var hasExited: Bool { exit.state.withLock { $0.status != nil } }
    /// True when the process ended because of a signal rather than by exiting.
    public var wasSignalled: Bool { exit.state.withLock { $0.signalled } }

    /// Waits until stdout or stderr contains `text`; false on timeout or when the process ended first.
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.contains(text) || stderr.contains(text) { return true }
            if exit.state.withLock({ $0.status }) != nil { return stdout.contains(text) || stderr.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Sends `signal` (SIGTERM, SIGKILL, …), unless the process has already been waited for (its pid may be reused).
    public func send(_ signal: Int32) {
        guard exit.state.withLock({ $0.status }) == nil else { return }
        kill(pid, signal)
    }

    /// Waits for the exit status (the signal's number when it was killed by one).
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = exit.state.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Runs a command to completion and returns its exit status and output.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try await start(executable, arguments, environment: environment)
        let status = await child.waitForExit()
        return (status, child.stdout, child.stderr)
    }
}

/// How a child ended, once it has, and who waits for it.
private final class ExitState: Sendable {
    let state = Mutex<(status: Int32?, signalled: Bool, waiters: [CheckedContinuation<Int32, Never>])>((nil, false, []))
}

/// A file a child writes its output to, read as it grows: each read takes only the bytes added since the last.
private final class OutputFile: Sendable {
    private let path: String
    private let state = Mutex<(bytes: [UInt8], offset: off_t)>(([], 0))

    init(_ path: String) { self.path = path }

    var text: String {
        state.withLock { state in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, state.offset) }
                    guard count > 0 else { break }
                    state.bytes.append(contentsOf: chunk[0..<count])
                    state.offset += off_t(count)
                }
            }
            return String(decoding: state.bytes, as: UTF8.self)
        }
    }
}
