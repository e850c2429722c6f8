import Foundation
import Logging
import Scorecard
import Testing

/// The runner's budgets against real child processes (issue 10, finding 6): a tree with too many files is refused
/// before anything starts, and a run that burns CPU past its limit is killed long before the wall-clock timeout.
/// No assertion is about time: the failure's reason and message say which limit ended the run.
@Suite("Scorecard runner budgets")
struct BudgetTests {
    /// `count` small files in the fake clone, 100 to a folder, and what the walk does not count: 50 files in
    /// `.git`, links to a file and to a folder.
    static func fill(_ clone: URL, files count: Int) throws {
        for index in 0..<count {
            let folder = clone.appendingPathComponent("src/d\(index / 100)")
            if index % 100 == 0 { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            try Data("\(index)\n".utf8).write(to: folder.appendingPathComponent("f\(index).txt"))
        }
        let git = clone.appendingPathComponent(".git/objects")
        try FileManager.default.createDirectory(at: git, withIntermediateDirectories: true)
        for index in 0..<50 { try Data().write(to: git.appendingPathComponent("o\(index)")) }
        try FileManager.default.createSymbolicLink(
            at: clone.appendingPathComponent("link-to-file"), withDestinationURL: clone.appendingPathComponent("src/d0/f0.txt"))
        try FileManager.default.createSymbolicLink(at: clone.appendingPathComponent("link-to-folder"), withDestinationURL: clone)
    }

    /// A command that records that it started (in the args file) and prints a result.
    static func recordingScript() throws -> String {
        RunnerTests.printing(try Fixture.ossf.url, before: "echo started > @ARGS@")
    }

    @Test("more files than maxFiles: too_large, permanent, and the command never starts")
    func tooManyFilesIsRefusedBeforeStarting() async throws {
        let fake = try FakeScorecard(try Self.recordingScript())
        defer { fake.cleanUp() }
        try Self.fill(fake.clone, files: 301)
        let failure = await failure {
            try await fake.runner(maxFiles: 300).run(clone: fake.clone, repository: "github.com/x/y")
        }
        #expect(failure?.reason == "too_large")
        #expect(failure?.isPermanent == true)
        #expect(failure?.message.contains("more than 300 files") == true, "\(failure?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: fake.argsFile.path), "the command was started")
    }

    @Test("exactly maxFiles files runs: .git and symbolic links are not counted")
    func aTreeAtTheCapRuns() async throws {
        let fake = try FakeScorecard(try Self.recordingScript())
        defer { fake.cleanUp() }
        try Self.fill(fake.clone, files: 300)
        let run = try await fake.runner(maxFiles: 300).run(clone: fake.clone, repository: "github.com/x/y")
        #expect(run.exitCode == 0)
        #expect(FileManager.default.fileExists(atPath: fake.argsFile.path))
    }

    @Test("a command that does not read the clone (--repo={repo}) is not held to maxFiles")
    func remoteModeIsNotCounted() async throws {
        let fake = try FakeScorecard(try Self.recordingScript())
        defer { fake.cleanUp() }
        try Self.fill(fake.clone, files: 20)
        let runner = fake.runner(arguments: ["--repo={repo}", "--format=json"], maxFiles: 10)
        let run = try await runner.run(clone: fake.clone, repository: "github.com/x/y")
        #expect(run.exitCode == 0)
    }

    @Test("a command busy past cpuLimit: timed_out naming the CPU limit, retryable, and the whole group is gone")
    func cpuLimitKillsABusyCommand() async throws {
        // A busy loop in the script's own process; a sleeping child in its group must go too.
        let fake = try FakeScorecard("""
            echo $$ > @PIDS@
            sleep 600 &
            echo $! >> @PIDS@
            while :; do :; done
            """)
        defer { fake.cleanUp() }
        // The wall-clock limit is far away: only the CPU watchdog can end this run with a CPU message.
        let failure = await failure {
            try await fake.runner(timeout: .seconds(300), cpuLimit: .seconds(1)).run(clone: fake.clone, repository: "github.com/x/y")
        }
        #expect(failure?.reason == "timed_out")
        #expect(failure?.isPermanent == false)
        #expect(failure?.message.contains("CPU time") == true, "\(failure?.message ?? "")")
        try await fake.expectGroupGone()
    }

    @Test("waiting is not charged to cpuLimit: a command that sleeps longer than the limit finishes")
    func cpuLimitDoesNotCountWaiting() async throws {
        let fake = try FakeScorecard(RunnerTests.printing(try Fixture.ossf.url, before: "sleep 2"))
        defer { fake.cleanUp() }
        let run = try await fake.runner(timeout: .seconds(120), cpuLimit: .seconds(1)).run(clone: fake.clone, repository: "github.com/x/y")
        #expect(run.exitCode == 0)
    }

    @Test("{max_files} becomes the cap; with no cap, an argument naming it is left out")
    func maxFilesIsPassedToTheCommand() async throws {
        let fake = try FakeScorecard(RunnerTests.printing(try Fixture.ossf.url, before: "printf '%s\\n' \"$@\" > @ARGS@"))
        defer { fake.cleanUp() }
        let arguments = ["--local={clone}", "--format=json", "--max-files={max_files}"]
        _ = try await fake.runner(arguments: arguments, maxFiles: 250_000).run(clone: fake.clone, repository: "github.com/x/y")
        #expect(try String(contentsOf: fake.argsFile, encoding: .utf8) == "--local=\(fake.clone.path)\n--format=json\n--max-files=250000\n")
        _ = try await fake.runner(arguments: arguments).run(clone: fake.clone, repository: "github.com/x/y")
        #expect(try String(contentsOf: fake.argsFile, encoding: .utf8) == "--local=\(fake.clone.path)\n--format=json\n")
    }

    @Test("the command's own refusal (exit 3, a too_large: line) is too_large, permanent")
    func theCommandsRefusalIsTooLarge() async throws {
        let fake = try FakeScorecard("echo 'Error: too_large: the tree has more than 5 files (--max-files=5); not scored' >&2; exit 3")
        defer { fake.cleanUp() }
        let refused = await failure { try await fake.runner().run(clone: fake.clone, repository: "github.com/x/y") }
        #expect(refused?.reason == "too_large")
        #expect(refused?.isPermanent == true)
        #expect(refused?.message == "the tree has more than 5 files (--max-files=5); not scored")
        // Exit 3 without that line is any other failure.
        let other = try FakeScorecard("echo 'Error: something else' >&2; exit 3")
        defer { other.cleanUp() }
        let otherFailure = await failure { try await other.runner().run(clone: other.clone, repository: "github.com/x/y") }
        #expect(otherFailure?.reason == "failed" && otherFailure?.isPermanent == false)
    }
}
