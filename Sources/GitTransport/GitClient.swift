import Domain
import Foundation
import Logging
import Subprocess

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Shallow clone, fetch and ls-remote with the `git` command line, safe with untrusted repositories.
///
/// Every git process runs
/// - in a session and process group of its own, killed as a whole (SIGKILL) at the operation's deadline, when
///   the clone directory grows past ``GitLimits/maxBytes``, or when the calling task is cancelled;
/// - with a minimal environment built here (nothing of the service's environment is inherited but `PATH`):
///   no system or global configuration (`GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`, `HOME` and
///   `XDG_CONFIG_HOME` pointing at an empty private directory), no prompts (`GIT_TERMINAL_PROMPT=0`, no
///   terminal at all), English messages (`LC_ALL=C`), `GIT_LFS_SKIP_SMUDGE=1`;
/// - with `-c` options that disable hooks (`core.hooksPath=/dev/null`, and `--template=` on clone so no
///   template hook is copied), keep symbolic links as plain files (`core.symlinks=false`), allow only the
///   given protocols (`protocol.allow=never`, `protocol.<scheme>.allow=always`), never touch submodules,
///   never start a background `gc`/maintenance, use no credential helper, and check every received object
///   (`transfer.fsckObjects=true`).
///
/// The token travels only in the environment (see ``GitRemote``).
public struct GitClient: Sendable {
    /// The git executable (a path, or a name looked up in `PATH`).
    public let executable: String
    /// Limits applied to each operation.
    public let limits: GitLimits
    /// URL schemes git may use (`https`; tests add `http` or `file`).
    public let allowedProtocols: Set<String>
    let logger: Logger
    let extraEnvironment: [String: String]
    /// Called with the process id (= process group id) of every git process started; for tests.
    var onProcessStart: (@Sendable (Int32) -> Void)?

    /// Variables of the service's environment that may be passed to git through `environment`:
    /// proxies and TLS trust settings. Anything else is ignored.
    public static let passableEnvironmentKeys: Set<String> = [
        "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
        "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
    ]

    /// Creates a client.
    /// - Parameters:
    ///   - executable: the git executable (`"git"` is looked up in `PATH`).
    ///   - limits: timeout and size cap of each operation.
    ///   - allowedProtocols: URL schemes git may use; everything else fails with ``GitFailure/protocolNotAllowed(_:)``.
    ///   - environment: extra variables for git, limited to ``passableEnvironmentKeys`` (proxies, CA bundles).
    ///   - logger: receives one line per operation with the scrubbed URL and timings; never a token.
    public init(
        executable: String = "git",
        limits: GitLimits,
        allowedProtocols: Set<String> = ["https"],
        environment: [String: String] = [:],
        logger: Logger
    ) {
        self.executable = executable
        self.limits = limits
        self.allowedProtocols = Set(allowedProtocols.map { $0.lowercased() })
        self.extraEnvironment = environment.filter { Self.passableEnvironmentKeys.contains($0.key) }
        self.logger = logger
    }

    // MARK: - Public operations

    /// The remote's default branch and its head commit.
    public func lsRemote(_ remote: GitRemote) async throws -> RemoteHead {
        let session = try Session(client: self, remote: remote, operation: "ls-remote")
        defer { session.close() }
        return try await session.logged {
            let output = try await session.git(["ls-remote", "--symref", "--", session.url, "HEAD"])
            try session.check(output)
            guard let head = Self.parseSymref(output.stdout) else {
                // No HEAD line at all: nothing was ever pushed.
                throw GitFailure.emptyRepository
            }
            return (head, ["sha": "\(head.sha)", "branch": "\(head.branch)"])
        }
    }

    /// Shallow, single-branch clone of the default branch since `since` into `directory` (must not exist); on
    /// "no commits in the window" falls back to --depth 1 (windowWasEmpty = true). An empty repository → .emptyRepository.
    ///
    /// The work tree is checked out with `core.symlinks=false` (a symbolic link becomes a regular file
    /// holding the link's target text), and `core.symlinks=false`, `core.hooksPath=/dev/null` and
    /// `core.fsmonitor=false` are also written into the clone's own configuration so later git commands
    /// in it stay safe. On any failure the directory is removed.
    public func clone(_ remote: GitRemote, into directory: URL, since: Date) async throws -> CloneResult {
        let session = try Session(client: self, remote: remote, operation: "clone")
        defer { session.close() }
        let directory = directory.standardizedFileURL
        guard !FileManager.default.fileExists(atPath: directory.path) else {
            throw GitFailure.failed("destination already exists: \(directory.lastPathComponent)")
        }
        let parent = directory.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        do {
            return try await session.logged {
                var windowWasEmpty = false
                var output = try await session.git(
                    Self.cloneArguments(url: session.url, directory: directory, window: .since(since)),
                    in: parent, watch: directory)
                if !output.succeeded, output.verdict == .completed,
                   Self.isEmptyWindow(output.stderrTail)
                {
                    // No commit since `since`: take the newest commit alone.
                    session.logger.info("git clone: no commit in the window, cloning the newest commit only", metadata: [
                        "git.stderr": "\(session.scrubber.scrub(output.stderrTail).trimmed)",
                    ])
                    windowWasEmpty = true
                    try? FileManager.default.removeItem(at: directory)
                    output = try await session.git(
                        Self.cloneArguments(url: session.url, directory: directory, window: .depth(1)),
                        in: parent, watch: directory)
                }
                try session.check(output)
                // An empty repository clones "successfully" ("warning: You appear to have cloned an empty
                // repository."): there is no commit to check out.
                let head = try await session.git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], repository: directory)
                guard head.succeeded else { throw GitFailure.emptyRepository }
                let branch = try await session.git(["symbolic-ref", "--quiet", "--short", "HEAD"], repository: directory)
                try session.check(branch)
                // The commits of the window that `--shallow-since` cut off behind a merge (see WindowCompletion).
                let window = windowWasEmpty
                    ? WindowCompletion.untouched
                    : try await completeWindow(
                        session: session, directory: directory, head: head.stdout.trimmed, since: since, arguments: Self.fetchArguments)
                let shallow = try await session.git(["rev-parse", "--is-shallow-repository"], repository: directory)
                try session.check(shallow)
                let result = CloneResult(
                    head: head.stdout.trimmed,
                    branch: branch.stdout.trimmed,
                    isShallow: shallow.stdout.trimmed == "true",
                    windowWasEmpty: windowWasEmpty,
                    window: window
                )
                let size = DiskUsage.allocatedBytes(under: directory.path)
                return (result, [
                    "head": "\(result.head)", "branch": "\(result.branch)", "shallow": "\(result.isShallow)",
                    "window_empty": "\(windowWasEmpty)", "bytes": "\(size)",
                ].merging(window.metadata) { $1 })
            }
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    /// Fetches only what is new on the clone's branch into an existing clone, then moves the work tree to it.
    ///
    /// Runs `git fetch --shallow-since=<since>` of the branch (the client tells the server which commits it
    /// has, so only new objects are sent), falling back to a plain fetch when no commit is inside the window,
    /// then `reset --hard` to the fetched commit and `clean -ffdx` (hooks disabled). A force-pushed branch is
    /// followed. On failure the clone is left as it was (stray temporary pack files removed).
    public func fetch(_ remote: GitRemote, in directory: URL, since: Date) async throws -> FetchResult {
        let session = try Session(client: self, remote: remote, operation: "fetch")
        defer { session.close() }
        let directory = directory.standardizedFileURL
        return try await session.logged {
            // Only a clone made by `clone`: a real `.git` directory (not a `gitdir:` file or a link pointing
            // elsewhere). git is always told the repository and work tree explicitly, so it never discovers
            // an enclosing repository.
            var info = stat()
            guard lstat(directory.appendingPathComponent(".git").path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw GitFailure.failed("not a clone: \(directory.lastPathComponent)")
            }
            let previous = try await session.git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], repository: directory)
            try session.check(previous)
            let branchOutput = try await session.git(["symbolic-ref", "--quiet", "--short", "HEAD"], repository: directory)
            try session.check(branchOutput)
            let branch = branchOutput.stdout.trimmed
            guard Self.isSafeBranchName(branch) else { throw GitFailure.failed("unexpected branch name") }
            let refspec = "+refs/heads/\(branch):refs/remotes/origin/\(branch)"
            let base = Self.fetchArguments
            var output = try await session.git(
                base + ["--shallow-since=\(Self.gitDate(since))", "--", session.url, refspec],
                repository: directory, watch: directory)
            var windowWasEmpty = false
            if !output.succeeded, output.verdict == .completed, Self.isEmptyWindow(output.stderrTail) {
                windowWasEmpty = true
                output = try await session.git(base + ["--", session.url, refspec], repository: directory, watch: directory)
            }
            if !output.succeeded { Self.removeTemporaryPacks(in: directory) }
            try session.check(output)
            let fetched = try await session.git(
                ["rev-parse", "--verify", "--quiet", "refs/remotes/origin/\(branch)^{commit}"], repository: directory)
            try session.check(fetched)
            let head = fetched.stdout.trimmed
            // A fetch with --shallow-since marks boundary merges shallow again (and brings new ones): repaired each time.
            let window = windowWasEmpty
                ? WindowCompletion.untouched
                : try await completeWindow(session: session, directory: directory, head: head, since: since, arguments: base)
            try session.check(try await session.git(["reset", "--hard", "--quiet", head], repository: directory))
            try session.check(try await session.git(["clean", "-ffdxq"], repository: directory))
            let result = FetchResult(previousHead: previous.stdout.trimmed, head: head, branch: branch, window: window)
            return (result, ["head": "\(head)", "previous_head": "\(result.previousHead)", "branch": "\(branch)"]
                .merging(window.metadata) { $1 })
        }
    }

    /// True when the clone in `directory` has `commit` (fetched, with its tree).
    public func contains(_ commit: String, in directory: URL, remote: GitRemote) async throws -> Bool {
        guard Self.isObjectName(commit) else { return false }
        let session = try Session(client: self, remote: remote, operation: "contains")
        defer { session.close() }
        return try await session.git(["cat-file", "-e", "\(commit)^{commit}"], repository: directory.standardizedFileURL).succeeded
    }

    /// Moves the clone's work tree to `commit`, already fetched (`reset --hard` and `clean -ffdx`, hooks
    /// disabled), so a stage works on exactly the head it is for. False when the clone does not have it.
    public func checkout(_ commit: String, in directory: URL, remote: GitRemote) async throws -> Bool {
        guard Self.isObjectName(commit) else { return false }
        let session = try Session(client: self, remote: remote, operation: "checkout")
        defer { session.close() }
        let directory = directory.standardizedFileURL
        return try await session.logged {
            let present = try await session.git(["cat-file", "-e", "\(commit)^{commit}"], repository: directory)
            guard present.succeeded else { return (false, ["commit": "\(commit)", "present": "false"]) }
            try session.check(try await session.git(["reset", "--hard", "--quiet", commit], repository: directory))
            try session.check(try await session.git(["clean", "-ffdxq"], repository: directory))
            return (true, ["commit": "\(commit)"])
        }
    }

    /// A full object name (SHA-1 or SHA-256 hex): never an option or a revision expression.
    static func isObjectName(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64) && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    // MARK: - Arguments

    enum Window { case since(Date), depth(Int) }

    /// The options of every fetch into a clone: the branch's objects only, nothing written or run beside them.
    static let fetchArguments = [
        "fetch", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head", "--no-auto-gc", "--no-auto-maintenance",
    ]

    static func cloneArguments(url: String, directory: URL, window: Window) -> [String] {
        var arguments = [
            "clone", "--single-branch", "--no-tags", "--no-recurse-submodules", "--template=",
            // Persisted in the clone, so every later git command in it is safe too.
            "--config", "core.symlinks=false",
            "--config", "core.hooksPath=/dev/null",
            "--config", "core.fsmonitor=false",
        ]
        switch window {
        case .since(let date): arguments.append("--shallow-since=\(gitDate(date))")
        case .depth(let depth): arguments.append("--depth=\(depth)")
        }
        return arguments + ["--", url, directory.path]
    }

    /// A date git's parser reads exactly: `2025-11-23 14:05:41 +0000`.
    static func gitDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d +0000",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `ref: refs/heads/<branch>\tHEAD` and `<sha>\tHEAD` lines of `ls-remote --symref … HEAD`.
    static func parseSymref(_ output: String) -> RemoteHead? {
        var branch: String?
        var sha: String?
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 2, fields[1] == "HEAD" else { continue }
            if fields[0].hasPrefix("ref: refs/heads/") {
                branch = String(fields[0].dropFirst("ref: refs/heads/".count))
            } else if fields[0].count == 40 || fields[0].count == 64, fields[0].allSatisfy(\.isHexDigit) {
                sha = String(fields[0])
            }
        }
        guard let sha else { return nil }
        // A detached remote HEAD has no branch name to report.
        return RemoteHead(sha: sha, branch: branch ?? "HEAD")
    }

    static func isSafeBranchName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("-") && !name.contains("..") && !name.contains(":")
            && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f }
    }

    /// What git 2.39 prints when `--shallow-since` selects no commit (upload-pack's `die()` text, relayed
    /// on file:// and ssh; over smart HTTP the server's message is lost and the client reports a broken
    /// protocol stream instead — see ``GitFailureClassifier``).
    static func isEmptyWindow(_ stderr: String) -> Bool {
        GitFailureClassifier.isEmptyWindow(stderr)
    }

    /// Removes `tmp_pack_*`, `tmp_idx_*` and `incoming-*` left by an interrupted fetch.
    static func removeTemporaryPacks(in directory: URL) {
        let fileManager = FileManager.default
        for folder in [".git/objects/pack", ".git/objects"] {
            let url = directory.appendingPathComponent(folder)
            guard let names = try? fileManager.contentsOfDirectory(atPath: url.path) else { continue }
            for name in names where name.hasPrefix("tmp_pack_") || name.hasPrefix("tmp_idx_") || name.hasPrefix("incoming-") {
                try? fileManager.removeItem(at: url.appendingPathComponent(name))
            }
        }
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
