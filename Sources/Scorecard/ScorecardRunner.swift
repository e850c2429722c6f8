import Domain
import Foundation
import Logging
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a Scorecard run produced no usable result.
///
/// `message` is scrubbed of every configured secret and may be stored as a job's `last_error`.
public struct ScorecardFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The classified reason; ``ScorecardFailure/reason`` is its raw value.
    public enum Kind: String, Sendable, CaseIterable {
        /// The wall-clock limit passed; the whole process group was killed.
        case timedOut = "timed_out"
        /// Exit 0 and nothing on standard output, without a `Skipping …` line saying why.
        case noOutput = "no_output"
        /// Exit 0 and nothing on standard output, with a `Skipping …` line: the repository could not be scanned.
        case skipped
        /// Standard output was not a Scorecard JSON result.
        case malformedOutput = "malformed_output"
        /// Standard output passed `maxOutputBytes`; the whole process group was killed.
        case outputTooLarge = "output_too_large"
        /// Exited with an error and no result (bad flags, a fatal error), was killed by a signal, could not be
        /// started, or was given an unusable repository or clone.
        case failed
        /// The command does not exist or is not executable.
        case notFound = "not_found"
        /// The clone's tree has more files than ``ScorecardRunner/maxFiles``: the command was not started.
        case tooLarge = "too_large"
    }

    /// The classified reason.
    public var kind: Kind
    /// Human-readable, scrubbed; names the exit status and the end of standard error where they help.
    public var message: String
    /// True when retrying the same job cannot help (a missing executable, output past the cap, an invalid
    /// repository name); false when a retry may succeed (after a rate limit resets, or once the operator fixed
    /// the configuration).
    public var isPermanent: Bool

    /// `timed_out`, `no_output`, `skipped`, `malformed_output`, `output_too_large`, `failed`, `not_found` or `too_large`.
    public var reason: String { kind.rawValue }

    /// A failure; `message` must already be scrubbed.
    public init(_ kind: Kind, _ message: String, isPermanent: Bool) {
        self.kind = kind
        self.message = message
        self.isPermanent = isPermanent
    }

    /// `reason: message`.
    public var description: String { "\(reason): \(message)" }
}

/// One Scorecard run that produced a result.
public struct ScorecardRun: Sendable, Equatable {
    /// The parsed result.
    public var report: ScorecardReport
    /// Names of the checks that errored at run time (score -1, reason starting `internal error:`); the official
    /// CLI exits 1 when there is any. Their -1 is left out of the aggregate like any inconclusive check.
    public var erroredChecks: [String]
    /// 0, or 1 when some check errored.
    public var exitCode: Int32
    /// The end of standard error (the CLI's logs), scrubbed of secrets, at most 4 KiB.
    public var stderrTail: String
    /// Wall-clock time of the run.
    public var duration: Duration
    /// What ``ScorecardRunner/version()`` reported for the command, nil when it was not asked (or could not
    /// tell) before this run. The version the command wrote into its result is `report.scorecard.version`.
    public var commandVersion: String?

    /// A run's result.
    public init(
        report: ScorecardReport, erroredChecks: [String], exitCode: Int32, stderrTail: String, duration: Duration,
        commandVersion: String?
    ) {
        self.report = report
        self.erroredChecks = erroredChecks
        self.exitCode = exitCode
        self.stderrTail = stderrTail
        self.duration = duration
        self.commandVersion = commandVersion
    }
}

/// Runs a Scorecard command — the official OpenSSF `scorecard` or the bundled `repowatch-scorecard` — as a child
/// process and turns every way it can end into a ``ScorecardRun`` or a ``ScorecardFailure``.
///
/// The child runs in a session and process group of its own (no controlling terminal), in an empty private
/// `HOME` that is also its working directory, with a clean environment: `PATH` (the service's), `HOME`, and
/// ``environment`` — nothing else of the service's environment. Past ``timeout``, ``cpuLimit`` of CPU time or
/// ``maxOutputBytes`` of standard output the whole group is killed with SIGKILL. A clone whose tree has more than
/// ``maxFiles`` files is refused before anything starts (issue 10, finding 6: one 200 000-file commit held an
/// analysis slot for half an hour). The values of ``environment`` are treated as secrets:
/// they reach the child through its environment only, never its arguments, and are replaced by `***` in
/// ``ScorecardRun/stderrTail``, in every ``ScorecardFailure/message`` and in logs (which name variables, never
/// values).
///
/// How each ending of the official CLI (v5.x) maps:
///
/// | ending | result |
/// |---|---|
/// | exit 0, a JSON result | ``ScorecardRun`` |
/// | exit 1, a JSON result (some check errored) | ``ScorecardRun`` with ``ScorecardRun/erroredChecks`` |
/// | exit 1, nothing on stdout (bad flags, fatal error) | `failed`, retryable, with the end of stderr |
/// | exit 0, nothing on stdout, a `Skipping …` line on stderr | `skipped`, retryable, with that line |
/// | exit 0, nothing on stdout, no such line | `no_output`, retryable |
/// | exit 0 or 1, stdout not a JSON result | `malformed_output`, retryable |
/// | any other exit status, or killed by a signal | `failed`, retryable |
/// | still running at ``timeout``, or past ``cpuLimit`` of CPU time | `timed_out`, retryable (the group is killed) |
/// | more than ``maxOutputBytes`` on stdout | `output_too_large`, permanent (the group is killed) |
/// | the command is missing or not executable | `not_found`, permanent |
/// | the arguments name `{clone}` and its tree has more than ``maxFiles`` files | `too_large`, permanent (not started) |
/// | exit 3 with a `too_large:` line on stderr (the bundled command's `--max-files`) | `too_large`, permanent |
/// | a repository name that is not `host/owner/name`, an invalid variable name | `failed`, permanent |
///
/// Exit 1 without output is retryable on purpose: it is what bad flags do, and retrying the same configuration
/// fails the same way, but the same job succeeds once the operator fixed the configuration, and a fatal runtime
/// error (GitHub unreachable) also ends this way. The stderr tail in the message says which.
///
/// Create one runner per configuration and reuse it: it remembers the command's ``version()``.
public struct ScorecardRunner: Sendable {
    /// The executable: a path, or a name looked up in `PATH` (the `PATH` the child gets).
    public let command: String
    /// The arguments, templated: `{clone}` becomes the clone's folder, `{repo}` becomes `github.com/OWNER/NAME`,
    /// `{max_files}` becomes ``maxFiles``. E.g. `["--local={clone}", "--format=json", "--show-details"]` or
    /// `["--repo={repo}", "--format=json", "--show-details"]`.
    public let arguments: [String]
    /// Variables given to the child, e.g. `GITHUB_AUTH_TOKEN`. Every value is treated as a secret.
    public let environment: [String: String]
    /// Wall-clock limit of one run (the official CLI has none, and sleeps through GitHub rate limits).
    public let timeout: Duration
    /// Largest standard output accepted, in bytes.
    public let maxOutputBytes: Int
    /// Most files a clone's tree may have (regular files, `.git` and symbolic links not counted) for a command that
    /// reads the clone (arguments naming `{clone}`); nil: no cap. It replaces `{max_files}` in the arguments, so
    /// the bundled command holds to it too (`--max-files={max_files}`); with no cap, an argument naming
    /// `{max_files}` is left out.
    public let maxFiles: Int?
    /// CPU time one run may use (the command's process and the children it waited for); nil: no limit.
    public let cpuLimit: Duration?
    let logger: Logger
    private let versionCache: VersionCache

    /// The bundled command's exit status when the tree has more files than its `--max-files` (it prints a
    /// `too_large:` line on stderr and no result).
    public static let tooLargeExitStatus: Int32 = 3

    /// The end of standard error kept in ``ScorecardRun/stderrTail`` and messages, in bytes.
    public static let stderrTailBytes = 4096
    /// Longest a `version` query may take.
    public static let versionTimeout: Duration = .seconds(30)

    /// Creates a runner.
    /// - Parameters:
    ///   - command: a path, or a name looked up in the child's `PATH`.
    ///   - arguments: templated with `{clone}`, `{repo}` and `{max_files}`.
    ///   - environment: variables for the child (secrets: never logged, never in argv, scrubbed from output).
    ///   - timeout: wall-clock limit of one run; default 10 minutes.
    ///   - maxOutputBytes: cap on standard output; default 16 MiB.
    ///   - maxFiles: most files a clone's tree may have; nil (default): no cap.
    ///   - cpuLimit: CPU time one run may use; nil (default): no limit besides `timeout`.
    ///   - logger: one line per run (command, repository, outcome, timing); variable names only, never values.
    public init(
        command: String,
        arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(600),
        maxOutputBytes: Int = 16 << 20,
        maxFiles: Int? = nil,
        cpuLimit: Duration? = nil,
        logger: Logger = Logger(label: "repowatch.scorecard")
    ) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.timeout = timeout
        self.maxOutputBytes = max(0, maxOutputBytes)
        self.maxFiles = maxFiles.map { max(0, $0) }
        self.cpuLimit = cpuLimit
        self.logger = logger
        self.versionCache = VersionCache()
    }

    // MARK: - Run

    /// Runs the command for one repository.
    ///
    /// - Parameters:
    ///   - clone: the repository's clone (what `{clone}` becomes); it must exist when the arguments use it.
    ///   - repository: `github.com/OWNER/NAME`; `https://github.com/OWNER/NAME(.git)` is accepted and shortened.
    /// - Returns: the parsed result, for exit 0 or exit 1 with a JSON result.
    /// - Throws: ``ScorecardFailure`` (see the table above), or `CancellationError` when the task is cancelled
    ///   (the process group is killed).
    public func run(clone: URL, repository: String) async throws -> ScorecardRun {
        let scrubber = SecretScrubber(secrets: environment.values)
        var logger = self.logger
        logger[metadataKey: "scorecard.repository"] = "\(scrubber.scrub(repository))"
        let clock = ContinuousClock()
        let started = clock.now
        do {
            // The version as this runner learned it from version() (which the caller asks first, to key its
            // cache); a run never spends a process on it.
            let run = try await runOnce(clone: clone, repository: repository, scrubber: scrubber, version: versionCache.value)
            logger.info("scorecard run done", metadata: [
                "scorecard.score": "\(run.report.score)",
                "scorecard.exit": "\(run.exitCode)",
                "scorecard.errored_checks": "\(run.erroredChecks.joined(separator: ","))",
                "scorecard.ms": "\((clock.now - started).scorecardMilliseconds)",
            ])
            return run
        } catch let failure as ScorecardFailure {
            logger.warning("scorecard run failed", metadata: [
                "scorecard.reason": "\(failure.reason)",
                "scorecard.permanent": "\(failure.isPermanent)",
                "scorecard.error": "\(failure.message)",
                "scorecard.ms": "\((clock.now - started).scorecardMilliseconds)",
            ])
            throw failure
        }
    }

    private func runOnce(clone: URL, repository: String, scrubber: SecretScrubber, version: String?) async throws -> ScorecardRun {
        let repo = try Self.repositoryName(repository, scrubber: scrubber)
        for (key, value) in environment
        where key.isEmpty || key.contains("=") || key.contains("\0") || value.contains("\0") {
            throw ScorecardFailure(
                .failed, scrubber.scrub("invalid environment variable \(key.debugDescription) in the configuration"),
                isPermanent: true)
        }
        if arguments.contains(where: { $0.contains("{clone}") }) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: clone.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ScorecardFailure(.failed, scrubber.scrub("the clone folder \(clone.path) does not exist"), isPermanent: false)
            }
            if let maxFiles {
                // Counted before a process is spent: the count stops one file past the cap, so a huge tree costs
                // little more than a tree at the cap.
                let count = FileCount.regularFiles(under: clone.path, limit: maxFiles)
                if count > maxFiles {
                    throw ScorecardFailure(
                        .tooLarge, "the tree has more than \(maxFiles) files (scorecard.max_files); not scored", isPermanent: true)
                }
            }
        }
        let values = ["{clone}": clone.path, "{repo}": repo, "{max_files}": maxFiles.map(String.init) ?? ""]
        let rendered = arguments.compactMap { argument -> String? in
            if maxFiles == nil && argument.contains("{max_files}") { return nil }
            return Self.render(argument, values: values)
        }
        let started = ContinuousClock.now
        let output = try await spawn(
            rendered, deadline: started + timeout, maxStdoutBytes: maxOutputBytes, cpuLimit: cpuLimit, scrubber: scrubber)
        let duration = ContinuousClock.now - started
        let stderrTail = scrubber.scrubbedTail(output.stderrTail, truncated: output.stderrTruncated, limit: Self.stderrTailBytes)
        logger.debug("scorecard process ended", metadata: [
            "scorecard.status": "\(output.status)",
            "scorecard.verdict": "\(output.verdict)",
            "scorecard.stdout_bytes": "\(output.stdout.count)",
        ])
        return try Self.classify(
            output, stderrTail: stderrTail, duration: duration, version: version, timeout: timeout, cpuLimit: cpuLimit,
            maxOutputBytes: maxOutputBytes, scrubber: scrubber)
    }

    /// `template` with each placeholder replaced in one pass (a value containing a placeholder stays as it is).
    static func render(_ template: String, values: [String: String]) -> String {
        var result = ""
        var rest = Substring(template)
        outer: while !rest.isEmpty {
            if rest.first == "{" {
                for (placeholder, value) in values where rest.hasPrefix(placeholder) {
                    result += value
                    rest = rest.dropFirst(placeholder.count)
                    continue outer
                }
            }
            result.append(rest.removeFirst())
        }
        return result
    }

    /// The first line of what was printed instead of a result, scrubbed, for a message: at most 120 bytes, control
    /// characters shown as `?`. (Scrubbed before it is cut, so no piece of a secret survives the cut.)
    static func preview(_ stdout: [UInt8], scrubber: SecretScrubber) -> String {
        let text = scrubber.scrub(String(decoding: stdout.prefix(64 << 10), as: UTF8.self))
        let line = text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) } ?? ""
        let printable = String(line.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        let short = SecretScrubber.prefix(printable.trimmingCharacters(in: .whitespaces), maxBytes: 120)
        return short.count < printable.count ? short + "…" : short
    }

    /// Maps how the child ended to a run or a failure (the table in the type's documentation).
    static func classify(
        _ output: ChildOutput, stderrTail: String, duration: Duration, version: String?, timeout: Duration,
        cpuLimit: Duration? = nil, maxOutputBytes: Int, scrubber: SecretScrubber
    ) throws(ScorecardFailure) -> ScorecardRun {
        func fail(_ kind: ScorecardFailure.Kind, _ message: String, permanent: Bool = false) -> ScorecardFailure {
            ScorecardFailure(kind, scrubber.scrub(message), isPermanent: permanent)
        }
        func withStderr(_ message: String) -> String {
            let tail = stderrTail.trimmingCharacters(in: .whitespacesAndNewlines)
            return tail.isEmpty ? message + " (stderr empty)" : message + "; stderr: " + SecretScrubber.suffix(tail, maxBytes: 1024)
        }
        switch output.verdict {
        case .timedOut:
            throw fail(.timedOut, withStderr("no result after \(timeout); the process group was killed"))
        case .cpuLimitExceeded:
            let limit = cpuLimit.map { "\($0)" } ?? "the limit"
            throw fail(
                .timedOut, withStderr("used more than \(limit) of CPU time (scorecard.cpu_limit); the process group was killed"))
        case .outputTooLarge:
            throw fail(
                .outputTooLarge, "standard output passed \(maxOutputBytes) bytes; the process group was killed",
                permanent: true)
        case .completed:
            break
        }
        let stdout = Data(output.stdout)
        let blank = !output.stdout.contains { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }
        let code: Int32
        switch output.status {
        case .exited(let value):
            code = value
        case .signaled(let signal):
            throw fail(.failed, withStderr("killed by signal \(signal)"))
        }
        if code == tooLargeExitStatus, blank, let line = Self.line(startingWith: "too_large:", in: stderrTail) {
            throw fail(.tooLarge, line, permanent: true)
        }
        guard code == 0 || code == 1 else {
            throw fail(.failed, withStderr("exit status \(code)"))
        }
        if blank {
            if code == 1 {
                throw fail(.failed, withStderr("exit status 1 without a result (bad flags or a fatal error)"))
            }
            if let line = Self.skippingLine(in: stderrTail) {
                throw fail(.skipped, line)
            }
            throw fail(.noOutput, withStderr("exit status 0 without a result"))
        }
        let report: ScorecardReport
        do {
            report = try ScorecardReport.parse(stdout)
        } catch {
            throw fail(
                .malformedOutput,
                withStderr(
                    "exit status \(code), \(output.stdout.count) bytes on stdout that are not a Scorecard result: \(error); "
                        + "stdout starts with \(Self.preview(output.stdout, scrubber: scrubber).debugDescription)"))
        }
        return ScorecardRun(
            report: report,
            erroredChecks: report.erroredChecks.map(\.name),
            exitCode: code,
            stderrTail: stderrTail,
            duration: duration,
            commandVersion: version
        )
    }

    /// The text from `marker` to the end of the last line containing it.
    static func line(startingWith marker: String, in stderr: String) -> String? {
        for line in stderr.split(whereSeparator: \.isNewline).reversed() {
            if let range = line.range(of: marker) { return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    /// The last `Skipping …` line (v5.4.0+: `Skipping github.com/OWNER/NAME: why`), without log decorations
    /// before it.
    static func skippingLine(in stderr: String) -> String? {
        for line in stderr.split(whereSeparator: \.isNewline).reversed() {
            if let range = line.range(of: "Skipping ") {
                return String(line[range.lowerBound...]).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// `github.com/OWNER/NAME` from that or from `https://github.com/OWNER/NAME(.git)(/)`.
    static func repositoryName(_ repository: String, scrubber: SecretScrubber) throws(ScorecardFailure) -> String {
        var name = Substring(repository.trimmingCharacters(in: .whitespaces))
        for scheme in ["https://", "http://"] where name.lowercased().hasPrefix(scheme) {
            name = name.dropFirst(scheme.count)
        }
        while name.hasSuffix("/") { name = name.dropLast() }
        if name.hasSuffix(".git") { name = name.dropLast(4) }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:")
        guard parts.count >= 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(allowed.contains) && $0 != "." && $0 != ".." }),
            !name.hasPrefix("-")
        else {
            throw ScorecardFailure(
                .failed, scrubber.scrub("not a repository name of the form host/owner/name: \(repository.debugDescription)"),
                isPermanent: true)
        }
        return String(name)
    }

    // MARK: - Version

    /// The command's version, asked once and remembered by this runner (and its copies).
    ///
    /// Runs `command version` (the official CLI prints a banner and `GitVersion: v5.x.y`), and when that fails
    /// or says nothing, `command --version`. Returns the value of the first `Version:`/`GitVersion:` line, or
    /// else the first non-empty line of the output (at most 200 bytes). Only a successful answer is remembered.
    /// - Throws: ``ScorecardFailure`` (`not_found`, `timed_out`, `failed` when neither form answers).
    public func version() async throws -> String {
        if let cached = versionCache.value { return cached }
        let scrubber = SecretScrubber(secrets: environment.values)
        var lastFailure: ScorecardFailure?
        for query in [["version"], ["--version"]] {
            let deadline = ContinuousClock.now + min(timeout, Self.versionTimeout)
            let output: ChildOutput
            do {
                output = try await spawn(query, deadline: deadline, maxStdoutBytes: 64 << 10, scrubber: scrubber)
            } catch let failure as ScorecardFailure where failure.kind == .notFound {
                throw failure
            } catch let failure as ScorecardFailure {
                lastFailure = failure
                continue
            }
            let stderrTail = scrubber.scrubbedTail(output.stderrTail, truncated: output.stderrTruncated, limit: Self.stderrTailBytes)
            if output.verdict == .timedOut {
                lastFailure = ScorecardFailure(.timedOut, "`\(query[0])` gave no answer within the limit", isPermanent: false)
                continue
            }
            guard output.verdict == .completed, output.status.isSuccess,
                let text = Self.versionText(scrubber.scrub(String(decoding: output.stdout, as: UTF8.self) + "\n" + stderrTail))
            else {
                lastFailure = ScorecardFailure(
                    .failed, scrubber.scrub("`\(query[0])` ended \(output.status) without a version; stderr: \(stderrTail)"),
                    isPermanent: false)
                continue
            }
            versionCache.value = text
            logger.debug("scorecard version", metadata: ["scorecard.version": "\(text)"])
            return text
        }
        throw lastFailure ?? ScorecardFailure(.failed, "no version", isPermanent: false)
    }

    /// The version in what `version`/`--version` printed.
    static func versionText(_ output: String) -> String? {
        let lines = output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        for line in lines {
            for label in ["GitVersion:", "Version:"] where line.hasPrefix(label) {
                let value = line.dropFirst(label.count).trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { return SecretScrubber.prefix(value, maxBytes: 200) }
            }
        }
        // The official banner is ASCII art; skip lines without a letter or digit.
        guard let first = lines.first(where: { $0.contains(where: { $0.isLetter || $0.isNumber }) }) else { return nil }
        return SecretScrubber.prefix(first, maxBytes: 200)
    }

    // MARK: - Process

    /// Resolves the command, prepares the private `HOME` and runs the child once.
    private func spawn(
        _ arguments: [String], deadline: ContinuousClock.Instant, maxStdoutBytes: Int, cpuLimit: Duration? = nil,
        scrubber: SecretScrubber
    ) async throws -> ChildOutput {
        let home = FileManager.default.temporaryDirectory
            .appendingPathComponent("repowatch-scorecard-\(UUID().uuidString)", isDirectory: true)
        do {
            try FileManager.default.createDirectory(
                at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ScorecardFailure(.failed, scrubber.scrub("cannot create a private HOME: \(error)"), isPermanent: false)
        }
        defer { try? FileManager.default.removeItem(at: home) }

        var childEnvironment: [String: String] = [:]
        let servicePath = ProcessInfo.processInfo.environment["PATH"].flatMap { $0.isEmpty ? nil : $0 }
        childEnvironment["PATH"] = servicePath ?? "/usr/local/bin:/usr/bin:/bin"
        childEnvironment["HOME"] = home.path
        for (key, value) in environment { childEnvironment[key] = value }

        guard let executable = ChildProcess.resolve(command, path: childEnvironment["PATH"] ?? "") else {
            throw ScorecardFailure(
                .notFound, scrubber.scrub("scorecard command \(command.debugDescription) not found or not executable"),
                isPermanent: true)
        }
        logger.debug("scorecard process starting", metadata: [
            "scorecard.executable": "\(scrubber.scrub(executable))",
            "scorecard.arguments": "\(scrubber.scrub(arguments.joined(separator: " ")))",
            "scorecard.environment": "\(environment.keys.sorted().joined(separator: ","))",
        ])
        let process = ChildProcess(executable: executable, environment: childEnvironment, workingDirectory: home)
        do {
            let output = try await process.run(arguments, deadline: deadline, maxStdoutBytes: maxStdoutBytes, cpuLimit: cpuLimit)
            // Cancelled: Subprocess killed the group, so the child "ended by a signal"; that is not its failure.
            if Task.isCancelled { throw CancellationError() }
            return output
        } catch let error as CancellationError {
            throw error
        } catch let error as SubprocessError {
            if Task.isCancelled { throw CancellationError() }
            if error.code == .executableNotFound {
                throw ScorecardFailure(
                    .notFound, scrubber.scrub("scorecard command \(command.debugDescription) not found: \(error)"),
                    isPermanent: true)
            }
            throw ScorecardFailure(.failed, scrubber.scrub("cannot run \(command.debugDescription): \(error)"), isPermanent: false)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ScorecardFailure(.failed, scrubber.scrub("cannot run \(command.debugDescription): \(error)"), isPermanent: false)
        }
    }
}

/// The remembered answer of ``ScorecardRunner/version()``, shared by copies of a runner.
private final class VersionCache: Sendable {
    private let storage = Mutex<String?>(nil)

    var value: String? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

extension Duration {
    var scorecardMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
