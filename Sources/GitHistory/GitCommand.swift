import Foundation
import Subprocess

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs the `git` executable on an untrusted clone, hardened so that nothing from the repository or the user's
/// configuration is executed or changes the results.
struct GitCommand: Sendable {
    /// Path of the `git` executable.
    var executable: String

    /// Configuration forced on every call, ahead of the subcommand: nothing configurable in a repository may run a
    /// program (hooks, fsmonitor, pager, signature verification) or change what is counted.
    static let hardening: [String] = [
        "--no-pager",
        "-c", "core.hooksPath=/dev/null",
        "-c", "core.fsmonitor=false",
        "-c", "core.pager=cat",
        "-c", "log.showSignature=false",
        "-c", "log.showRoot=true",
        "-c", "log.mailmap=false",
        "-c", "diff.renames=true",
        "-c", "diff.renameLimit=1000",
        "-c", "diff.algorithm=myers",
        "-c", "diff.external=",
        "-c", "diff.noprefix=false",
        "-c", "i18n.logOutputEncoding=UTF-8",
        "-c", "protocol.allow=never",
    ]

    /// The environment of every call: no system or global configuration, no prompts, no pager, no replace refs,
    /// no optional locks, no discovery above the repository.
    static func environment(repository: String) -> [Environment.Key: String] {
        let inherited = ProcessInfo.processInfo.environment
        var environment: [Environment.Key: String] = [
            "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": inherited["HOME"] ?? "/nonexistent",
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_ATTR_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_PAGER": "cat",
            "PAGER": "cat",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_NO_REPLACE_OBJECTS": "1",
            "GIT_NO_LAZY_FETCH": "1",
        ]
        let parent = URL(fileURLWithPath: repository).standardizedFileURL.deletingLastPathComponent().path
        environment["GIT_CEILING_DIRECTORIES"] = parent
        return environment
    }

    /// `name` itself when it is a path (holds a `/`), else the first executable of that name on `PATH`, or nil.
    static func findExecutable(_ name: String = "git") -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `git <hardening> <arguments>` in `repository` with `input` on standard input and hands its standard
    /// output to `consume` chunk by chunk as it arrives, keeping none of it: the caller's parser decides what is
    /// kept, so memory does not grow with what git prints (a commit message of 50 MB costs a pipe buffer here).
    /// Throws ``GitHistoryError`` with git's standard error (its last 64 KiB) when git exits non-zero, and rethrows
    /// what `consume` throws after killing git.
    func stream(
        _ arguments: [String], in repository: String, input: [UInt8] = [],
        into consume: (UnsafeRawBufferPointer) throws -> Void
    ) async throws {
        var options = PlatformOptions()
        // If the calling task is cancelled, or the parser gives up, git goes at once.
        options.teardownSequence = [.send(signal: .kill, allowedDurationToNextStep: .milliseconds(10))]
        let result: ExecutionResult<[UInt8], SequenceOutput, SequenceOutput>
        do {
            result = try await Subprocess.run(
                .path(FilePath(executable)),
                arguments: Arguments(Self.hardening + arguments),
                environment: .custom(Self.environment(repository: repository)),
                workingDirectory: FilePath(repository),
                platformOptions: options,
                input: .array(input),
                output: .sequence,
                error: .sequence
            ) { execution in
                let stderr = execution.standardError
                async let tail = Self.tail(of: stderr, keeping: 64 * 1024)
                do {
                    for try await chunk in execution.standardOutput {
                        try chunk.withUnsafeBytes { try consume($0) }
                    }
                } catch {
                    kill(execution.processIdentifier.value, SIGKILL)
                    _ = try? await tail
                    throw error
                }
                return try await tail
            }
        } catch let error as GitHistoryError {
            throw error
        } catch {
            throw GitHistoryError(
                .gitCommand(status: nil), operation: "git \(arguments.first ?? "")", message: "\(error)")
        }
        try Self.check(result.terminationStatus, of: arguments, stderr: String(decoding: result.closureResult, as: UTF8.self))
    }

    /// Throws ``GitHistoryError`` with git's standard error unless git exited 0.
    private static func check(_ termination: TerminationStatus, of arguments: [String], stderr: String) throws {
        guard case .exited(let code) = termination, code == 0 else {
            var status: Int32?
            if case .exited(let code) = termination { status = code }
            let message = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw GitHistoryError(
                .gitCommand(status: status), operation: "git \(arguments.first ?? "")",
                message: message.isEmpty ? "\(termination)" : message)
        }
    }

    /// The last `limit` bytes of a stream, read to its end.
    private static func tail(of sequence: SubprocessOutputSequence, keeping limit: Int) async throws -> [UInt8] {
        var tail: [UInt8] = []
        for try await chunk in sequence {
            chunk.withUnsafeBytes { tail.append(contentsOf: $0) }
            if tail.count > 2 * limit { tail.removeFirst(tail.count - limit) }
        }
        if tail.count > limit { tail.removeFirst(tail.count - limit) }
        return tail
    }

    /// Runs `git <hardening> <arguments>` in `repository` with `input` on standard input and returns its standard
    /// output; throws ``GitHistoryError`` with git's standard error when it exits non-zero. For output whose size
    /// the repository decides (messages, object contents), use ``stream(_:in:input:into:)``.
    func run(_ arguments: [String], in repository: String, input: [UInt8] = []) async throws -> [UInt8] {
        let result: ExecutionResult<Void, BytesOutput, StringOutput<UTF8>>
        do {
            result = try await Subprocess.run(
                .path(FilePath(executable)),
                arguments: Arguments(Self.hardening + arguments),
                environment: .custom(Self.environment(repository: repository)),
                workingDirectory: FilePath(repository),
                input: .array(input),
                output: .bytes(limit: 1 << 31),
                error: .string(limit: 64 * 1024)
            )
        } catch {
            throw GitHistoryError(
                .gitCommand(status: nil), operation: "git \(arguments.first ?? "")", message: "\(error)")
        }
        try Self.check(result.terminationStatus, of: arguments, stderr: result.standardError)
        return result.standardOutput
    }
}
