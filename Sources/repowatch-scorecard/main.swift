import ArgumentParser
import Foundation
import Scorecard
import ScorecardChecks

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `repowatch-scorecard`: OpenSSF Scorecard's local mode, offline: the 11 file-based checks on a clone, printed as
/// the official CLI prints them (JSON v2 on one line, or a table). stdout holds only the result; messages go to
/// stderr. Exit 0, or 1 when a check errored (score -1, reason `internal error:…`) or the flags are wrong, or 3 when
/// the tree has more files than `--max-files` (nothing scored).
struct RepowatchScorecard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repowatch-scorecard",
        abstract: "Scorecard-compatible checks of a local clone, offline (the official CLI's --local mode).",
        subcommands: [Score.self, Version.self],
        defaultSubcommand: Score.self
    )
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score", abstract: "Score a local folder (default).")

    @Option(name: .customLong("local"), help: "Folder of the clone to score.")
    var local: String?

    @Option(name: .customLong("repo"), help: "Not supported: needs network (use the official scorecard).")
    var repo: String?

    @Option(name: .customLong("format"), help: "json or default.")
    var format: String = "default"

    @Flag(name: .customLong("show-details"), help: "Show the details of each check.")
    var showDetails = false

    @Option(name: .customLong("checks"), help: "Comma-separated check names to run (default: all 11).")
    var checks: String?

    @Option(
        name: .customLong("max-files"),
        help: "Refuse a tree with more than N files (exit \(ScorecardRunner.tooLargeExitStatus)) instead of scoring it.")
    var maxFiles: Int?

    @Option(name: .customLong("osv-dir"), help: "Folder of OSV JSON records for Vulnerabilities (or \(ScorecardRun.osvEnvironmentVariable)).")
    var osvDir: String?

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        return ExitCode(1)
    }

    func run() throws {
        if repo != nil {
            throw fail("--repo needs network: use the official scorecard (repowatch-scorecard supports only --local=DIR)")
        }
        guard let local, !local.isEmpty else { throw fail("--local=DIR is required") }
        guard format == "json" || format == "default" else { throw fail("unknown --format \(format): json or default") }
        if let maxFiles, maxFiles < 0 { throw fail("--max-files must be 0 or more") }
        var selected = Checks.all
        if let checks {
            selected = []
            for name in checks.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let check = Checks.named(name) else {
                    throw fail("unknown check \(name) (the bundled command runs \(Checks.all.map(\.name).joined(separator: ", ")))")
                }
                if !selected.contains(where: { $0.name == check.name }) { selected.append(check) }
            }
            selected.sort { $0.name < $1.name }
        }
        let osvPath = osvDir ?? ProcessInfo.processInfo.environment[ScorecardRun.osvEnvironmentVariable]
        let context: CheckContext
        do {
            context = try CheckContext(
                root: URL(fileURLWithPath: local),
                maxFiles: maxFiles ?? CheckContext.defaultMaxFiles,
                osvDirectory: osvPath.flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            )
        } catch {
            throw fail("\(error)")
        }
        // The walk stopped one file past the cap: the whole tree is refused rather than part of it scored
        // (issue 10, finding 6). The `too_large:` prefix is what ScorecardRunner reads.
        if let maxFiles, context.truncated {
            FileHandle.standardError.write(Data(
                "Error: too_large: the tree has more than \(maxFiles) files (--max-files=\(maxFiles)); not scored\n".utf8))
            throw ExitCode(ScorecardRunner.tooLargeExitStatus)
        }
        if !context.skippedSymlinks.isEmpty {
            FileHandle.standardError.write(Data("not following \(context.skippedSymlinks.count) symbolic link(s)\n".utf8))
        }
        let report = ScorecardRun.report(localPath: local, context: context, checks: selected, showDetails: showDetails)
        let output = format == "json" ? report.json() + "\n" : ScorecardRun.table(report, showDetails: showDetails)
        FileHandle.standardOutput.write(Data(output.utf8))
        if ScorecardRun.hasRuntimeError(report) { throw ExitCode(1) }
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print("Version: repowatch-scorecard \(ScorecardRun.version)")
    }
}

// ArgumentParser exits 64 on bad flags; the official CLI exits 1 with no output.
do {
    var command = try RepowatchScorecard.parseAsRoot()
    try command.run()
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch {
    let code = RepowatchScorecard.exitCode(for: error)
    let message = RepowatchScorecard.fullMessage(for: error)
    if code == .success {
        print(message)
        Foundation.exit(0)
    }
    FileHandle.standardError.write(Data((message + "\n").utf8))
    Foundation.exit(1)
}
