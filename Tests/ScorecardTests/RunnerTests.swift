import Foundation
import Logging
import Scorecard
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The runner against fake `scorecard` scripts, one per way the official CLI can end (SOURCES.md).
@Suite("Scorecard runner")
struct RunnerTests {
    /// A script that answers `version` like the official CLI and otherwise prints `file` and exits `status`.
    static func printing(_ file: URL, status: Int32 = 0, before: String = "") -> String {
        """
        case "$1" in version) echo 'GitVersion:    v5.5.0'; exit 0;; esac
        \(before)
        cat \(quoted(file.path))
        exit \(status)
        """
    }

    // MARK: - Results

    @Test("exit 0 with a JSON result: a run; arguments templated with the clone and the repository")
    func success() async throws {
        let fake = try FakeScorecard(Self.printing(try Fixture.ossf.url, before: "printf '%s\\n' \"$@\" > @ARGS@"))
        defer { fake.cleanUp() }
        let runner = fake.runner(arguments: ["--local={clone}", "--repo={repo}", "--format=json", "--show-details"])
        let run = try await runner.run(clone: fake.clone, repository: "https://github.com/ossf/scorecard.git")
        #expect(run.report == (try ScorecardReport.parse(try Fixture.ossf.data)))
        #expect(run.exitCode == 0)
        #expect(run.erroredChecks.isEmpty)
        #expect(run.report.recomputedScore == 9.6)
        #expect(run.duration > .zero)
        #expect(run.commandVersion == nil)  // version() was not asked
        let arguments = try String(contentsOf: fake.argsFile, encoding: .utf8)
        #expect(arguments == "--local=\(fake.clone.path)\n--repo=github.com/ossf/scorecard\n--format=json\n--show-details\n")
    }

    @Test("exit 1 with a JSON result: the result is kept and the errored checks (internal error) are flagged")
    func exitOneWithResult() async throws {
        var report = try ScorecardReport.parse(try Fixture.docutrust.data)
        for index in report.checks.indices where ["Vulnerabilities", "SAST"].contains(report.checks[index].name) {
            report.checks[index].score = -1
            report.checks[index].reason = "internal error: GET https://api.osv.dev: 503 Service Unavailable"
        }
        let fake = try FakeScorecard("")
        defer { fake.cleanUp() }
        try Data(report.json().utf8).write(to: fake.file("partial.json"))
        try Data(("#!/bin/sh\n" + Self.printing(fake.file("partial.json"), status: 1,
            before: "echo 'Error: check runtime error: Vulnerabilities: internal error' >&2")).utf8).write(to: fake.script)
        let run = try await fake.runner().run(clone: fake.clone, repository: "github.com/expadox/docutrust")
        #expect(run.exitCode == 1)
        #expect(run.erroredChecks.sorted() == ["SAST", "Vulnerabilities"])
        #expect(run.report.inconclusiveChecks.count == 5)  // the file's three and the two errored
        #expect(run.report.checks.count == 18)
        #expect(run.stderrTail.contains("check runtime error"))
    }

    // MARK: - Failures

    @Test("exit 1 without output (bad flags): failed, retryable, with the end of stderr")
    func exitOneWithoutResult() async throws {
        let fake = try FakeScorecard("echo 'Error: unknown flag: --bogus' >&2\necho 'Usage: scorecard --repo=<repo> [flags]' >&2\nexit 1")
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "failed")
        #expect(failure?.isPermanent == false)
        #expect(failure?.message.contains("exit status 1") == true)
        #expect(failure?.message.contains("unknown flag: --bogus") == true)
    }

    @Test("stdout that is not JSON: malformed_output, retryable", arguments: [0, 1] as [Int32])
    func garbage(status: Int32) async throws {
        let fake = try FakeScorecard("echo 'this is not a scorecard result'\necho '{\"half\":' \nexit \(status)")
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "malformed_output")
        #expect(failure?.isPermanent == false)
        #expect(failure?.message.contains("not JSON") == true)
        #expect(failure?.message.contains("stdout starts with \"this is not a scorecard result\"") == true)
    }

    @Test("JSON of another shape: malformed_output naming the place")
    func wrongShape() async throws {
        let fake = try FakeScorecard("echo '{\"date\":\"d\",\"checks\":[]}'")
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "malformed_output")
        #expect(failure?.message.contains("missing key") == true)
    }

    @Test("exit 0, nothing on stdout, `Skipping …` on stderr: skipped (a failure, not an empty result) with that line")
    func skipped() async throws {
        let fake = try FakeScorecard("""
            echo '2025/06/01 10:00:00 starting' >&2
            echo '2025/06/01 10:00:01 Skipping github.com/x/y: repository is archived' >&2
            exit 0
            """)
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "skipped")
        #expect(failure?.message == "Skipping github.com/x/y: repository is archived")
        #expect(failure?.isPermanent == false)
    }

    @Test("exit 0 with nothing at all: no_output, retryable")
    func noOutput() async throws {
        let fake = try FakeScorecard("exit 0")
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "no_output")
        #expect(failure?.isPermanent == false)
    }

    @Test("another exit status, or death by a signal: failed, retryable", arguments: ["exit 2", "kill -9 $$"])
    func otherEndings(_ ending: String) async throws {
        let fake = try FakeScorecard("echo 'panic: nil map' >&2\n\(ending)")
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "failed")
        #expect(failure?.isPermanent == false)
        #expect(failure?.message.contains("panic: nil map") == true)
    }

    @Test("a hang: timed_out after the limit, and the whole process group is gone (a background child too)")
    func hang() async throws {
        let fake = try FakeScorecard("""
            echo $$ > @PIDS@
            sleep 600 &
            echo $! >> @PIDS@
            echo 'waiting for the GitHub rate limit to reset' >&2
            sleep 600
            """)
        defer { fake.cleanUp() }
        // Had the deadline not ended it, the script would have run out its sleep and exited 0 with no output:
        // not timed_out. The outcome says which ended the run, not a stopwatch (tests do not assert on timing).
        let failure = await failure {
            try await fake.runner(timeout: .seconds(2)).run(clone: fake.clone, repository: "github.com/x/y")
        }
        #expect(failure?.reason == "timed_out")
        #expect(failure?.isPermanent == false)
        #expect(failure?.message.contains("rate limit") == true)
        try await fake.expectGroupGone()
    }

    @Test("20 MiB on stdout: output_too_large, permanent; reading stops and the group is killed")
    func outputCap() async throws {
        let fake = try FakeScorecard("""
            echo $$ > @PIDS@
            head -c 20971520 /dev/zero | tr '\\000' 'a'
            sleep 600
            """)
        defer { fake.cleanUp() }
        // The sleep after the output is far longer than the runner's 60 s deadline: a runner that kept reading, or
        // waited for the command to end, would have ended this run as timed_out, not output_too_large.
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(failure?.reason == "output_too_large")
        #expect(failure?.isPermanent == true)
        try await fake.expectGroupGone()
    }

    @Test("a hang after closing stdout and stderr is still timed_out: the deadline watches the process, not its pipes")
    func hangWithoutPipes() async throws {
        let fake = try FakeScorecard("""
            echo $$ > @PIDS@
            exec >/dev/null 2>&1
            sleep 600
            """)
        defer { fake.cleanUp() }
        // A runner that waited for the process after its pipes closed would see it exit 0 with no output after the
        // sleep: not timed_out.
        let failure = await failure {
            try await fake.runner(timeout: .seconds(2)).run(clone: fake.clone, repository: "github.com/x/y")
        }
        #expect(failure?.reason == "timed_out")
        try await fake.expectGroupGone()
    }

    @Test("a successful run leaves nothing behind: a background process the command left in its group is killed")
    func noLeftovers() async throws {
        let fake = try FakeScorecard(Self.printing(try Fixture.docutrust.url, before: """
            sleep 600 &
            echo $$ $! > @PIDS@
            """))
        defer { fake.cleanUp() }
        // The background sleep holds the pipes open for longer than the runner's 60 s deadline: a runner that waited
        // for end of file on them would have thrown timed_out here instead of returning the run.
        let run = try await fake.runner().run(clone: fake.clone, repository: "github.com/expadox/docutrust")
        #expect(run.exitCode == 0)
        try await fake.expectGroupGone()
    }

    @Test("a cancelled task kills the group and throws CancellationError")
    func cancellation() async throws {
        let fake = try FakeScorecard("""
            sleep 600 &
            echo $$ $! > @PIDS@.tmp
            mv @PIDS@.tmp @PIDS@
            sleep 600
            """)
        defer { fake.cleanUp() }
        let runner = fake.runner()
        let task = Task { try await runner.run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(await eventually { FileManager.default.fileExists(atPath: fake.pidsFile.path) })
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        try await fake.expectGroupGone()
    }

    @Test("a missing or non-executable command: not_found, permanent")
    func notFound() async throws {
        let fake = try FakeScorecard("exit 0")
        defer { fake.cleanUp() }
        try Data("#!/bin/sh\n".utf8).write(to: fake.file("not-executable"))
        for command in ["/nonexistent/scorecard", "repowatch-no-such-scorecard", fake.file("not-executable").path, fake.bin.path] {
            let runner = ScorecardRunner(command: command, arguments: ["--local={clone}"], logger: quietLogger)
            let failure = await failure { try await runner.run(clone: fake.clone, repository: "github.com/x/y") }
            #expect(failure?.reason == "not_found", "\(command)")
            #expect(failure?.isPermanent == true, "\(command)")
            await #expect(throws: ScorecardFailure.self) { _ = try await runner.version() }
        }
    }

    @Test("a command name is looked up in the child's PATH")
    func commandOnPath() async throws {
        let fake = try FakeScorecard(Self.printing(try Fixture.docutrust.url))
        defer { fake.cleanUp() }
        let runner = ScorecardRunner(
            command: "scorecard", arguments: ["--repo={repo}"], environment: ["PATH": fake.bin.path + ":/usr/bin:/bin"],
            logger: quietLogger)
        let run = try await runner.run(clone: fake.clone, repository: "github.com/expadox/docutrust")
        #expect(run.report.recomputedScore == 2.6)
    }

    @Test("a repository that is not host/owner/name fails permanently without starting anything",
          arguments: ["-rf", "github.com/x", "github.com/x/y z", "github.com/../y", "", "github.com/x/y\n--local=/"])
    func invalidRepository(_ repository: String) async throws {
        let fake = try FakeScorecard("touch @PIDS@\nexit 1")
        defer { fake.cleanUp() }
        let failure = await failure { try await fake.runner().run(clone: fake.clone, repository: repository) }
        #expect(failure?.reason == "failed")
        #expect(failure?.isPermanent == true)
        #expect(!FileManager.default.fileExists(atPath: fake.pidsFile.path))
    }

    @Test("an invalid variable name in the configuration fails permanently", arguments: ["", "A=B", "NUL\u{0}"])
    func invalidEnvironment(_ key: String) async throws {
        let fake = try FakeScorecard("touch @PIDS@\nexit 1")
        defer { fake.cleanUp() }
        let failure = await failure {
            try await fake.runner(environment: [key: "value"]).run(clone: fake.clone, repository: "github.com/x/y")
        }
        #expect(failure?.reason == "failed")
        #expect(failure?.isPermanent == true)
        #expect(!FileManager.default.fileExists(atPath: fake.pidsFile.path))
    }

    @Test("a missing clone folder fails (retryable: the next attempt clones again)")
    func missingClone() async throws {
        let fake = try FakeScorecard("exit 0")
        defer { fake.cleanUp() }
        let failure = await failure {
            try await fake.runner().run(clone: fake.file("evicted"), repository: "github.com/x/y")
        }
        #expect(failure?.reason == "failed")
        #expect(failure?.isPermanent == false)
    }

    // MARK: - Secrets and environment

    @Test("the token reaches the child by environment only, the environment is clean, HOME is empty and private")
    func environmentOnly() async throws {
        let token = Self.token()
        let fake = try FakeScorecard(Self.printing(try Fixture.docutrust.url, before: Self.reportEnvironment))
        defer { fake.cleanUp() }
        let runner = fake.runner(
            arguments: ["--repo={repo}", "--local={clone}", "--format=json"], environment: ["GITHUB_AUTH_TOKEN": token])
        let run = try await runner.run(clone: fake.clone, repository: "github.com/expadox/docutrust")
        let tail = run.stderrTail
        #expect(tail.contains("TOKEN_IN_ENV"))
        #expect(!tail.contains("TOKEN_IN_ARGV"))
        #expect(tail.contains("argv: --repo=github.com/expadox/docutrust --local=\(fake.clone.path) --format=json"))
        #expect(tail.contains("GITHUB_AUTH_TOKEN=***"))
        #expect(tail.contains("https://***@github.com/x/y"))
        #expect(tail.contains("home entries: 0"))
        #expect(!tail.contains(token))
        // Nothing of this process's environment but PATH (and HOME, replaced) reaches the child.
        let childVariables = Set(tail.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("env: "), let equals = line.firstIndex(of: "=") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 5)..<equals])
        })
        #expect(childVariables.isSuperset(of: ["PATH", "HOME", "GITHUB_AUTH_TOKEN"]))
        // The shell adds PWD (and may add SHLVL, OLDPWD, _) by itself.
        #expect(childVariables.subtracting(["PATH", "HOME", "GITHUB_AUTH_TOKEN", "PWD", "SHLVL", "OLDPWD", "_"]).isEmpty,
                "\(childVariables.sorted())")
        let home = try #require(tail.split(separator: "\n").first { $0.hasPrefix("env: HOME=") })
        let homePath = String(home.dropFirst("env: HOME=".count))
        #expect(homePath != ProcessInfo.processInfo.environment["HOME"])
        #expect(!FileManager.default.fileExists(atPath: homePath))  // removed after the run
    }

    @Test("the token is scrubbed from every failure's message", arguments: [
        "exit 1", "echo \"garbage $GITHUB_AUTH_TOKEN\"", "exit 3", "kill -9 $$",
        "echo \"Skipping github.com/x/y: token $GITHUB_AUTH_TOKEN was rejected\" >&2", "sleep 600",
    ])
    func scrubbedFailures(_ ending: String) async throws {
        let token = Self.token()
        let fake = try FakeScorecard(Self.reportEnvironment + "\n" + ending)
        defer { fake.cleanUp() }
        let failure = await failure {
            try await fake.runner(environment: ["GITHUB_AUTH_TOKEN": token], timeout: .seconds(2))
                .run(clone: fake.clone, repository: "github.com/x/y")
        }
        let failureMessage = try #require(failure)
        #expect(!failureMessage.message.contains(token))
        #expect(!failureMessage.description.contains(token))
        #expect(!"\(failureMessage)".contains(token))
        #expect(!String(reflecting: failureMessage).contains(token))
    }

    @Test("a long stderr is cut to 4 KiB without leaving the end of a cut token behind")
    func longStderr() async throws {
        let token = Self.token()
        #expect(token.utf8.count == 40)
        // 60-byte lines, 60 000 bytes: the last 8 KiB kept start 32 bytes before a line's end, inside a token.
        let fake = try FakeScorecard(Self.printing(try Fixture.docutrust.url, before: """
            i=0
            while [ $i -lt 1000 ]; do echo "stderr line padding$GITHUB_AUTH_TOKEN"; i=$((i+1)); done >&2
            """))
        defer { fake.cleanUp() }
        let run = try await fake.runner(environment: ["GITHUB_AUTH_TOKEN": token])
            .run(clone: fake.clone, repository: "github.com/x/y")
        #expect(run.stderrTail.utf8.count <= 4096)
        #expect(run.stderrTail.utf8.count > 3000)
        #expect(run.stderrTail.contains("stderr line padding***"))
        let characters = Array(token)
        for start in 0...(characters.count - 6) {
            let piece = String(characters[start..<(start + 6)])
            #expect(!run.stderrTail.contains(piece), "a piece of the token: \(piece)")
        }
    }

    // MARK: - Version

    @Test("version(): `version` asked once, the GitVersion line read, the answer kept by the runner and its copies")
    func versionCached() async throws {
        let fake = try FakeScorecard("""
            echo "$*" >> @PIDS@
            case "$1" in
            version)
              echo '         __  ____   ____       _      ____    ____   ____     ____'
              echo ' ./scorecard version'
              echo 'GitVersion:    v5.5.0'
              echo 'GitCommit:     3a6f1a5ab4df2d9e1b4b2a5f3a2e0c1e4e8b1f2a'
              exit 0;;
            esac
            cat \(quoted(try Fixture.ossf.url.path))
            """)
        defer { fake.cleanUp() }
        let runner = fake.runner()
        #expect(try await runner.version() == "v5.5.0")
        let copy = runner
        #expect(try await copy.version() == "v5.5.0")
        let run = try await copy.run(clone: fake.clone, repository: "github.com/ossf/scorecard")
        #expect(run.commandVersion == "v5.5.0")
        let calls = try String(contentsOf: fake.pidsFile, encoding: .utf8).split(separator: "\n")
        #expect(calls == ["version", "--local=\(fake.clone.path) --format=json --show-details"])
    }

    @Test("version(): falls back to `--version` and its first line when `version` is not a command")
    func versionFallback() async throws {
        let fake = try FakeScorecard("""
            case "$1" in
            --version) echo 'repowatch-scorecard 0.1.0 (bundled)'; exit 0;;
            *) echo 'Error: unknown command' >&2; exit 1;;
            esac
            """)
        defer { fake.cleanUp() }
        #expect(try await fake.runner().version() == "repowatch-scorecard 0.1.0 (bundled)")
    }

    @Test("version(): a command that answers neither fails, and nothing is remembered")
    func versionFails() async throws {
        let fake = try FakeScorecard("echo 'no' >&2\nexit 1")
        defer { fake.cleanUp() }
        let runner = fake.runner()
        await #expect(throws: ScorecardFailure.self) { _ = try await runner.version() }
        let run = await failure { try await runner.run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(run?.reason == "failed")
    }

    // MARK: - Helpers

    /// 40 characters, unique per test.
    static func token() -> String {
        "ghp_" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + "Zz09"
    }

    /// Shell lines that print the child's argv, environment and HOME to stderr, and whether the token is in each.
    static let reportEnvironment = """
        echo "argv: $*" >&2
        env | sed 's/^/env: /' >&2
        case "$*" in *"$GITHUB_AUTH_TOKEN"*) [ -n "$GITHUB_AUTH_TOKEN" ] && echo TOKEN_IN_ARGV >&2;; esac
        [ -n "$GITHUB_AUTH_TOKEN" ] && echo TOKEN_IN_ENV >&2
        echo "home entries: $(ls -A "$HOME" | wc -l)" >&2
        echo "token in a URL: https://x-access-token:$GITHUB_AUTH_TOKEN@github.com/x/y" >&2
        """
}

extension FakeScorecard {
    /// Where a script's `@PIDS@` writes (pids, or calls).
    var pidsFile: URL { root.appendingPathComponent("pids") }
    /// Where a script's `@ARGS@` writes.
    var argsFile: URL { root.appendingPathComponent("args") }

    /// Every pid the script wrote, and its process group, are gone (zombies awaiting a reaper count as gone).
    func expectGroupGone(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let text = try String(contentsOf: pidsFile, encoding: .utf8)
        let pids = text.split(whereSeparator: { $0 == "\n" || $0 == " " }).compactMap { pid_t($0) }
        #expect(pids.count >= 1, sourceLocation: sourceLocation)
        for pid in pids {
            #expect(await eventually { !isAlive(pid) }, "process \(pid) still runs", sourceLocation: sourceLocation)
        }
        if let group = pids.first {
            #expect(await eventually { liveMembers(ofGroup: group).isEmpty },
                    "process group \(group) still has members", sourceLocation: sourceLocation)
        }
    }
}

/// Live (not zombie) processes whose process group is `group`, from /proc.
func liveMembers(ofGroup group: pid_t) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var members: [pid_t] = []
    for entry in entries {
        guard let pid = pid_t(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        // After "(comm)": state ppid pgrp …
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let pgrp = pid_t(fields[2]) else { continue }
        if pgrp == group, fields[0] != "Z", fields[0] != "X" { members.append(pid) }
    }
    return members
}
