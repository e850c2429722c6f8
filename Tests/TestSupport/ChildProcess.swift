import Foundation
import Synchronization

/// A child process for tests, driven without blocking Swift's cooperative threads (there are only
/// as many as cores): output is collected by handlers, exit is awaited through a continuation.
public final class ChildProcess: Sendable {
    private let process: Process
    private let output = Mutex((stdout: Data(), stderr: Data()))
    private let exit = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    public init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.output.withLock { $0.stdout.append(data) }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.output.withLock { $0.stderr.append(data) }
        }
        process.terminationHandler = { [weak self] process in
            guard let self else { return }
            let waiters = self.exit.withLock { state in
                state.status = process.terminationStatus
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: process.terminationStatus) }
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var stdout: String { output.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    public var stderr: String { output.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    /// True when the process ended because of a signal rather than by exiting.
    public var wasSignalled: Bool { process.terminationReason == .uncaughtSignal }

    /// Waits until stdout or stderr contains `text`; false on timeout or when the process ended first.
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.contains(text) || stderr.contains(text) { return true }
            if exit.withLock({ $0.status }) != nil { return stdout.contains(text) || stderr.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Sends `signal` (SIGTERM, SIGKILL, …).
    public func send(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the exit status.
    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = exit.withLock { state -> Int32? in
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
        let child = try ChildProcess(executable, arguments, environment: environment)
        let status = await child.waitForExit()
        // The pipes may still hold the last bytes when the exit is reported.
        try? await Task.sleep(for: .milliseconds(50))
        return (status, child.stdout, child.stderr)
    }
}
