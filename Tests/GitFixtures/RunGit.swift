import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs `git` for building fixtures and returns its standard output; throws when git exits non-zero.
///
/// The environment is minimal and isolated from the host (`GIT_CONFIG_NOSYSTEM=1`,
/// `GIT_CONFIG_GLOBAL=/dev/null`, `HOME=/nonexistent`, a fixed author and committer) unless
/// `environment` overrides a key (`standardInput`, when given, is a file fed to git's standard input): a test that wants a careless host sets `HOME`/`GIT_CONFIG_GLOBAL` itself.
@discardableResult
public func runGit(
    _ args: [String], in dir: URL, environment: [String: String] = [:], standardInput: URL? = nil
) async throws -> String {
    var env: [Subprocess.Environment.Key: String] = [
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Fixture Author",
        "GIT_AUTHOR_EMAIL": "author@example.invalid",
        "GIT_COMMITTER_NAME": "Fixture Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.invalid",
        "LC_ALL": "C",
    ]
    for (key, value) in environment { env[Subprocess.Environment.Key(stringLiteral: key)] = value }
    let input: FileDescriptorInput
    if let standardInput {
        input = .fileDescriptor(try FileDescriptor.open(FilePath(standardInput.path), .readOnly), closeAfterSpawningProcess: true)
    } else {
        input = .fileDescriptor(try FileDescriptor.open("/dev/null", .readOnly), closeAfterSpawningProcess: true)
    }
    let result = try await Subprocess.run(
        .name("git"),
        arguments: Arguments(args),
        environment: .custom(env),
        workingDirectory: FilePath(dir.path),
        input: input,
        output: .string(limit: 64 << 20),
        error: .string(limit: 1 << 20)
    )
    guard case .exited(0) = result.terminationStatus else {
        throw RunGitError(arguments: args, status: "\(result.terminationStatus)", stderr: result.standardError)
    }
    return result.standardOutput
}

/// A fixture git command that failed.
public struct RunGitError: Error, CustomStringConvertible {
    /// The arguments git was run with.
    public var arguments: [String]
    /// How git ended.
    public var status: String
    /// What git printed on standard error.
    public var stderr: String
    /// Creates a value.
    public init(arguments: [String], status: String, stderr: String) {
        self.arguments = arguments
        self.status = status
        self.stderr = stderr
    }

    /// A one-line summary.
    public var description: String { "git \(arguments.joined(separator: " ")) → \(status): \(stderr)" }
}
