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

extension GitClient {
    /// One public operation: its deadline, its private empty `HOME`, its environment, its scrubber.
    struct Session: Sendable {
        let operation: String
        /// The URL handed to git: credentials removed.
        let url: String
        let scrubber: SecretScrubber
        let deadline: ContinuousClock.Instant
        let started: ContinuousClock.Instant
        let home: URL
        /// git's curl trace of this session's HTTP headers (a file in `home`).
        let trace: String
        let process: GitProcess
        let limits: GitLimits
        let logger: Logger

        init(client: GitClient, remote: GitRemote, operation: String) throws {
            self.operation = operation
            self.limits = client.limits
            self.started = ContinuousClock.now
            self.deadline = started + client.limits.timeout
            let parsed = ParsedRemoteURL(remote.url)
            url = parsed.urlWithoutCredentials

            var secrets: [String] = []
            var authorization: String?
            if let token = remote.token, !token.isEmpty {
                let basic = Data("x-access-token:\(token)".utf8).base64EncodedString()
                authorization = "Basic \(basic)"
                secrets += [token, basic]
            } else if let password = parsed.password, !password.isEmpty {
                let basic = Data("\(parsed.user ?? "x-access-token"):\(password)".utf8).base64EncodedString()
                authorization = "Basic \(basic)"
                secrets += [password, basic]
            }
            if let token = remote.token, let encoded = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) {
                secrets.append(encoded)
            }
            if let password = parsed.password { secrets.append(password) }
            scrubber = SecretScrubber(secrets: secrets)

            var logger = client.logger
            logger[metadataKey: "git.url"] = "\(SecretScrubber.scrubURLCredentials(remote.url))"
            logger[metadataKey: "git.operation"] = "\(operation)"
            self.logger = logger

            guard remote.url.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }), !remote.url.hasPrefix("-")
            else {
                throw GitFailure.protocolNotAllowed("invalid URL")
            }
            guard client.allowedProtocols.contains(parsed.scheme) else {
                logger.warning("git protocol not allowed", metadata: ["git.scheme": "\(parsed.scheme)"])
                throw GitFailure.protocolNotAllowed(parsed.scheme)
            }

            // A private, empty HOME: no ~/.gitconfig, ~/.config/git, ~/.netrc, ~/.ssh of the host's user.
            home = FileManager.default.temporaryDirectory
                .appendingPathComponent("repowatch-git-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(
                at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])

            var environment: [Subprocess.Environment.Key: String] = [:]
            for (key, value) in client.extraEnvironment { environment[.init(stringLiteral: key)] = value }
            let path = ProcessInfo.processInfo.environment["PATH"].flatMap { $0.isEmpty ? nil : $0 }
            environment["PATH"] = path ?? "/usr/local/bin:/usr/bin:/bin"
            environment["HOME"] = home.path
            environment["XDG_CONFIG_HOME"] = home.path
            environment["GIT_CONFIG_NOSYSTEM"] = "1"
            environment["GIT_CONFIG_SYSTEM"] = "/dev/null"
            environment["GIT_CONFIG_GLOBAL"] = "/dev/null"
            environment["GIT_TERMINAL_PROMPT"] = "0"
            environment["GIT_PROTOCOL_FROM_USER"] = "0"
            environment["GIT_LFS_SKIP_SMUDGE"] = "1"
            environment["GIT_ADVICE"] = "0"
            environment["LC_ALL"] = "C"
            // The HTTP response headers, for classifying failures (see HTTPTrace): headers only, credentials redacted.
            trace = home.appendingPathComponent("http-trace").path
            environment["GIT_TRACE_CURL"] = trace
            environment["GIT_TRACE_CURL_NO_DATA"] = "1"
            environment["GIT_TRACE_REDACT"] = "1"
            environment["LANG"] = "C"
            if client.allowedProtocols.contains("ssh") {
                environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes"
            }
            // Configuration through the environment: inherited by git-remote-https, invisible in argv.
            var settings: [(key: String, value: String)] = []
            if let authorization {
                // Scoped to the repository's own URL (`http.<url>.extraHeader`), so it is sent to that origin
                // and path only, never to another host (redirects are not followed either: see configuration).
                settings.append(("http.\(url).extraHeader", "Authorization: \(authorization)"))
            }
            for entry in remote.pinnedAddresses where entry.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f }) {
                // git connects to the addresses the egress policy checked, not to what the name resolves to later.
                settings.append(("http.curloptResolve", entry))
            }
            if !settings.isEmpty {
                environment["GIT_CONFIG_COUNT"] = "\(settings.count)"
                for (index, setting) in settings.enumerated() {
                    environment[.init(stringLiteral: "GIT_CONFIG_KEY_\(index)")] = setting.key
                    environment[.init(stringLiteral: "GIT_CONFIG_VALUE_\(index)")] = setting.value
                }
            }
            process = GitProcess(executable: client.executable, environment: environment, onStart: client.onProcessStart)
            configuration = Self.configuration(allowedProtocols: client.allowedProtocols)
        }

        let configuration: [String]

        /// `-c` options given to every git command.
        static func configuration(allowedProtocols: Set<String>) -> [String] {
            var settings = [
                "core.hooksPath=/dev/null",  // no hook can exist under /dev/null
                "core.symlinks=false",
                "core.fsmonitor=false",
                "core.askPass=",
                "core.protectNTFS=true",
                "core.protectHFS=true",
                "credential.helper=",
                "init.templateDir=",
                "protocol.allow=never",
                "submodule.recurse=false",
                "fetch.recurseSubmodules=false",
                "transfer.fsckObjects=true",
                "gc.auto=0",
                "maintenance.auto=false",
                "advice.detachedHead=false",
                // A redirect could send the clone — and the token — to a host nobody allowed.
                "http.followRedirects=false",
            ]
            // transfer.fsckObjects refuses hostile objects (a `.gitmodules` whose URL or path is an option or
            // escapes, `.git` path variants, malformed trees), but by default also old, harmless formatting
            // mistakes in commit headers that real repositories carry (a bad time zone, a malformed e-mail
            // address): those are ignored, so such repositories still clone.
            for id in Self.toleratedFsckMessages { settings.append("fetch.fsck.\(id)=ignore") }
            for scheme in allowedProtocols.sorted() { settings.append("protocol.\(scheme).allow=always") }
            return settings.flatMap { ["-c", $0] }
        }

        /// fsck message ids about author/committer/tagger header formatting only.
        static let toleratedFsckMessages = [
            "badDate", "badDateOverflow", "badEmail", "badName", "badTimezone", "missingEmail",
            "missingNameBeforeEmail", "missingSpaceBeforeDate", "missingSpaceBeforeEmail", "multipleAuthors",
        ]

        func close() {
            try? FileManager.default.removeItem(at: home)
        }

        /// Runs one git command within the operation's deadline.
        ///
        /// `repository`: a clone's work tree; git gets `--git-dir=<it>/.git --work-tree=<it>` (no discovery of
        /// an enclosing repository) and runs there.
        func git(
            _ arguments: [String], in directory: URL? = nil, repository: URL? = nil, watch: URL? = nil
        ) async throws -> GitProcessOutput {
            var arguments = arguments
            var directory = directory
            if let repository {
                arguments = ["--git-dir=\(repository.appendingPathComponent(".git").path)", "--work-tree=\(repository.path)"]
                    + arguments
                directory = repository
            }
            let clock = ContinuousClock()
            let start = clock.now
            guard start < deadline else { throw GitFailure.timedOut(limits.timeout) }
            let output: GitProcessOutput
            do {
                output = try await process.run(
                    configuration + arguments, in: directory, deadline: deadline, watch: watch, maxBytes: limits.maxBytes)
            } catch let error as CancellationError {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw GitFailure.failed(scrubber.scrub("cannot run git: \(error)"))
            }
            if Task.isCancelled { throw CancellationError() }
            logger.debug("git command", metadata: [
                "git.command": "\(arguments.first ?? "")",
                "git.status": "\(output.status)",
                "git.verdict": "\(output.verdict)",
                "git.ms": "\((clock.now - start).milliseconds)",
            ])
            return output
        }

        /// Throws the classified failure unless the command succeeded.
        func check(_ output: GitProcessOutput) throws {
            switch output.verdict {
            case .timedOut: throw GitFailure.timedOut(limits.timeout)
            case .tooLarge: throw GitFailure.tooLarge(limitBytes: limits.maxBytes)
            case .completed:
                if output.status.isSuccess { return }
                let stderr = scrubber.scrub(output.stderrTail)
                let failure = GitFailureClassifier.classify(
                    stderr: stderr, status: "\(output.status)", response: { HTTPTrace.lastResponse(inFile: trace) })
                logger.debug("git command failed", metadata: [
                    "git.status": "\(output.status)", "git.reason": "\(failure.reason)", "git.stderr": "\(stderr)",
                ])
                throw failure
            }
        }

        /// Runs `body`, logs one line with the outcome and the elapsed time, maps stray errors to ``GitFailure``.
        func logged<T>(_ body: () async throws -> (T, Logger.Metadata)) async throws -> T {
            do {
                let (value, metadata) = try await body()
                var all = metadata
                all["git.ms"] = "\((ContinuousClock.now - started).milliseconds)"
                logger.info("git \(operation) done", metadata: all)
                return value
            } catch let failure as GitFailure {
                logger.warning("git \(operation) failed", metadata: [
                    "git.reason": "\(failure.reason)",
                    "git.error": "\(scrubber.scrub(failure.description))",
                    "git.ms": "\((ContinuousClock.now - started).milliseconds)",
                ])
                throw failure
            } catch let error as CancellationError {
                logger.info("git \(operation) cancelled")
                throw error
            } catch {
                let failure = GitFailure.failed(scrubber.scrub("\(error)"))
                logger.warning("git \(operation) failed", metadata: ["git.reason": "\(failure.reason)", "git.error": "\(failure)"])
                throw failure
            }
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Maps git's standard error (git 2.39, `LC_ALL=C`) to a ``GitFailure``.
enum GitFailureClassifier {
    /// - Parameter response: the last HTTP response's headers (from the session's curl trace), asked for only when
    ///   an HTTP error's meaning depends on them: a 3xx's target, a 403's rate-limit headers, a 429's wait.
    static func classify(stderr: String, status: String, response: () -> HTTPTrace.Response? = { nil }, now: Date = Date()) -> GitFailure {
        let text = stderr.lowercased()
        if let range = text.range(of: "transport '"), let end = text[range.upperBound...].firstIndex(of: "'"),
           text[end...].hasPrefix("' not allowed")
        {
            return .protocolNotAllowed(String(text[range.upperBound..<end]))
        }
        let authentication = [
            "could not read username", "could not read password", "terminal prompts disabled",
            "authentication failed", "authentication required", "requested url returned error: 401",
            "requested url returned error: 403", "http basic: access denied", "invalid username or password",
            "permission denied (publickey", "access denied",
        ]
        if let range = text.range(of: "requested url returned error: 30"), let digit = text[range.upperBound...].first, digit.isNumber {
            let status = 300 + (digit.wholeNumberValue ?? 0)
            let last = response()
            return .redirected(status: status, to: last?.status == status ? last?.redirectHost : nil)
        }
        if text.contains("requested url returned error: 429") {
            let last = response()
            return .rateLimited(retryAfter: last?.status == 429 ? last?.retryAfter(now: now) : nil)
        }
        // A 403 is a refusal of the credentials — unless its headers say the rate limit is spent (GitHub answers
        // an exhausted budget with 403 and `X-RateLimit-Remaining: 0`, a secondary limit with `Retry-After`).
        if text.contains("requested url returned error: 403"), let last = response(), last.status == 403, last.isRateLimit {
            return .rateLimited(retryAfter: last.retryAfter(now: now))
        }
        if authentication.contains(where: text.contains) { return .authenticationRequired }
        let notFound = [
            "repository not found", "requested url returned error: 404",
            "does not appear to be a git repository", "' not found", "no such repository",
            "not found: did you run git update-server-info",
        ]
        if notFound.contains(where: text.contains) { return .notFound }
        if text.contains("you appear to have cloned an empty repository") { return .emptyRepository }
        let tail = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return .failed(tail.isEmpty ? "git \(status) without a message" : tail)
    }

    /// `--shallow-since` selected no commit. Over file:// and ssh git relays upload-pack's
    /// `fatal: no commits selected for shallow requests`; over smart HTTP that message stays in the
    /// server's log and the client only sees the response end early.
    static func isEmptyWindow(_ stderr: String) -> Bool {
        let text = stderr.lowercased()
        return text.contains("no commits selected for shallow requests")
            || text.contains("error processing shallow info")
    }
}
