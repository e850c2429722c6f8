import Foundation
import Subprocess

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

    /// Runs `git <hardening> <arguments>` in `repository` with `input` on standard input and returns its standard
    /// output; throws ``GitHistoryError`` with git's standard error when it exits non-zero.
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
        guard case .exited(let status) = result.terminationStatus, status == 0 else {
            var status: Int32?
            if case .exited(let code) = result.terminationStatus { status = code }
            let stderr = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            throw GitHistoryError(
                .gitCommand(status: status), operation: "git \(arguments.first ?? "")",
                message: stderr.isEmpty ? "\(result.terminationStatus)" : stderr)
        }
        return result.standardOutput
    }
}
