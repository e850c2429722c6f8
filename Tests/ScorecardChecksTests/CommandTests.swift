import Foundation
import Scorecard
import ScorecardChecks
import Testing

/// The built `repowatch-scorecard`, next to this test bundle (`swift test` builds every product first).
private func binary() -> URL? {
    var candidates: [URL] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
    }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
    for folder in candidates {
        var current = folder
        for _ in 0..<4 {
            let url = current.appendingPathComponent("repowatch-scorecard")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            current = current.deletingLastPathComponent()
        }
    }
    return nil
}

private struct Output {
    let status: Int32
    let stdout: Data
    let stderr: String
}

private func runCommand(_ arguments: [String]) throws -> Output {
    guard let url = binary() else {
        Issue.record("repowatch-scorecard is not built next to the tests (run swift test, which builds it)")
        return Output(status: -1, stdout: Data(), stderr: "")
    }
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: ScorecardRun.osvEnvironmentVariable)
    process.environment = environment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Output(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
}

private let sampleTree: [String: String] = [
    "LICENSE": "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n",
    "SECURITY.md": "Report vulnerabilities to security@example.org; we answer within 2 days.\n",
    ".github/dependabot.yml": "version: 2\n",
    ".github/workflows/ci.yml": """
        on: [push, pull_request]
        permissions: read-all
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: swift test
        """,
]

@Suite(.serialized) struct CommandTests {
    @Test func symlinkToEtcPasswdIsNeverFollowed() throws {
        let fixture = try Fixture(["README.md": "x"])
        try FileManager.default.createSymbolicLink(
            atPath: fixture.root.appendingPathComponent("SECURITY.md").path, withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: fixture.root.appendingPathComponent("LICENSE").path, withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: fixture.root.appendingPathComponent("etc").path, withDestinationPath: "/etc")
        let context = try fixture.context()
        #expect(context.files.map(\.path) == ["README.md"])
        #expect(Set(context.skippedSymlinks) == ["SECURITY.md", "LICENSE", "etc"])
        #expect(context.read("SECURITY.md") == nil)
        #expect(SecurityPolicyCheck().run(context).score == 0)
        #expect(LicenseCheck().run(context).score == 0)
        // A root that is itself a link is refused.
        let link = fixture.root.appendingPathComponent("self-link")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: fixture.root.path)
        #expect(throws: CheckContextError.self) { try CheckContext(root: link) }
    }

    /// A folder of entries of every name length up to the longest Linux allows (255 bytes), enough of them to fill
    /// several of `readdir`'s buffers: each name is read whole and only up to its NUL (the walk once copied the
    /// 256-byte `d_name` field, reading past the end of short entries).
    @Test func walkReadsEveryNameLengthExactly() throws {
        let fixture = try Fixture()
        var expected: Set<String> = []
        for index in 0..<600 {
            let length = 1 + index % 255
            let stem = "n\(index)-"
            let name = stem + String(repeating: "é", count: max(0, length - stem.utf8.count) / 2)
                + String(repeating: "x", count: max(0, length - stem.utf8.count) % 2)
            expected.insert("many/" + name)
            try fixture.write("many/" + name, Data("\(index)\n".utf8))
        }
        let context = try fixture.context()
        #expect(Set(context.files.map(\.path)) == expected)
        #expect(context.files.map(\.name).allSatisfy { $0.utf8.count <= 255 })
        #expect(context.files.contains { $0.name.utf8.count == 255 })
    }

    @Test func readsAreCapped() throws {
        let fixture = try Fixture()
        try fixture.write("big.txt", Data(repeating: 0x41, count: 3 << 20))
        let context = try CheckContext(root: fixture.root, maxFileBytes: 1 << 20)
        #expect(context.read("big.txt")?.count == 1 << 20)
        #expect(context.files.first?.size == 3 << 20)
    }

    @Test func binaryPrintsOfficialJSONWithThePrintedAggregate() throws {
        let fixture = try Fixture(sampleTree)
        let output = try runCommand(["--local=\(fixture.root.path)", "--format=json", "--show-details"])
        #expect(output.status == 0)
        let text = String(decoding: output.stdout, as: UTF8.self)
        #expect(text.hasSuffix("}\n"))
        #expect(text.dropLast().contains("\n") == false)  // one line
        let report = try JSONDecoder().decode(ScorecardReport.self, from: output.stdout)
        #expect(report.repo.name == "file://\(fixture.root.path)")
        #expect(report.repo.commit == "unknown")
        #expect(report.scorecard.commit == "unknown")
        #expect(report.scorecard.version == "v\(ScorecardRun.version)")
        #expect(report.checks.map(\.name) == Checks.all.map(\.name))
        #expect(report.score == ScorecardReport.printedAggregate(of: report.checks))
        let license = report.checks.first { $0.name == "License" }
        #expect(license?.score == 9)  // a plain LICENSE holding the MIT text, as the official `scorecard --local`
        #expect(license?.details == [
            "Info: project has a license file: LICENSE:0",
            "Warn: project license file does not contain an FSF or OSI license.",
        ])
        #expect(report.checks.first { $0.name == "Vulnerabilities" }?.score == -1)
        #expect(report.metadata == nil)
        #expect(text.contains("\"metadata\":null"))
        let date = ISO8601DateFormatter().date(from: report.date)
        #expect(date != nil)
    }

    @Test func withoutShowDetailsDetailsAreNull() throws {
        let fixture = try Fixture(sampleTree)
        let output = try runCommand(["--local=\(fixture.root.path)", "--format=json"])
        let report = try JSONDecoder().decode(ScorecardReport.self, from: output.stdout)
        #expect(report.checks.allSatisfy { $0.details == nil })
    }

    @Test func checksFlagFilters() throws {
        let fixture = try Fixture(sampleTree)
        let output = try runCommand(["--local=\(fixture.root.path)", "--format=json", "--checks=license,Security-Policy"])
        #expect(output.status == 0)
        let report = try JSONDecoder().decode(ScorecardReport.self, from: output.stdout)
        #expect(report.checks.map(\.name) == ["License", "Security-Policy"])
        #expect(report.score == ScorecardReport.printedAggregate(of: report.checks))

        let unknown = try runCommand(["--local=\(fixture.root.path)", "--checks=Branch-Protection"])
        #expect(unknown.status == 1)
        #expect(unknown.stdout.isEmpty)
        #expect(unknown.stderr.contains("unknown check Branch-Protection"))
    }

    @Test func checkErrorExitsOneWithJSON() throws {
        var tree = sampleTree
        tree[".github/workflows/broken.yml"] = "on: [push\njobs: {"
        let fixture = try Fixture(tree)
        let output = try runCommand(["--local=\(fixture.root.path)", "--format=json"])
        #expect(output.status == 1)
        let report = try JSONDecoder().decode(ScorecardReport.self, from: output.stdout)
        #expect(report.checks.contains { $0.score == -1 && $0.reason.hasPrefix("internal error:") })
        #expect(report.score == ScorecardReport.printedAggregate(of: report.checks))
    }

    @Test func repoFlagAndVersion() throws {
        let repo = try runCommand(["--repo=github.com/ossf/scorecard", "--format=json"])
        #expect(repo.status == 1)
        #expect(repo.stdout.isEmpty)
        #expect(repo.stderr.contains("needs network: use the official scorecard"))
        let version = try runCommand(["version"])
        #expect(String(decoding: version.stdout, as: UTF8.self) == "Version: repowatch-scorecard \(ScorecardRun.version)\n")
        let fixture = try Fixture(sampleTree)  // kept alive: its folder is removed when it is released
        let table = try runCommand(["--local=\(fixture.root.path)"])
        #expect(table.status == 0)
        #expect(String(decoding: table.stdout, as: UTF8.self).contains("Aggregate score:"))
    }

    /// Issue 10, finding 6: `--max-files=N` refuses a tree of more than N files as a whole (exit 3, a `too_large:`
    /// line, no result) instead of scoring part of it; the runner reads that as `too_large`, permanent.
    @Test func maxFilesRefusesALargerTree() async throws {
        let fixture = try Fixture(sampleTree)  // 4 files
        try fixture.write("src/one.txt", Data("1\n".utf8))
        let atCap = try runCommand(["--local=\(fixture.root.path)", "--format=json", "--max-files=5"])
        #expect(atCap.status == 0)
        #expect((try? JSONDecoder().decode(ScorecardReport.self, from: atCap.stdout)) != nil)
        try fixture.write("src/two.txt", Data("2\n".utf8))
        let over = try runCommand(["--local=\(fixture.root.path)", "--format=json", "--max-files=5"])
        #expect(over.status == ScorecardRunner.tooLargeExitStatus)
        #expect(over.stdout.isEmpty)
        #expect(over.stderr.contains("too_large: the tree has more than 5 files"), "\(over.stderr)")
        #expect(try runCommand(["--local=\(fixture.root.path)", "--max-files=-1"]).status == 1)

        guard let command = binary() else { return }
        let runner = ScorecardRunner(command: command.path, arguments: ["--local={clone}", "--format=json", "--max-files=5"])
        do {
            _ = try await runner.run(clone: fixture.root, repository: "github.com/x/y")
            Issue.record("a tree over --max-files was scored")
        } catch let failure as ScorecardFailure {
            #expect(failure.reason == "too_large" && failure.isPermanent, "\(failure)")
        }
    }

    @Test func everyBundledCheckHasItsOfficialRisk() {
        for check in Checks.all { #expect(check.risk != nil, "\(check.name)") }
        #expect(Checks.all.count == 11)
    }

    @Test func checksCSVAgreesWithScorecardRisk() throws {
        let csv = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scorecard/checks.csv")
        let text = try String(contentsOf: csv, encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)
        #expect(lines.removeFirst() == "check,risk,weight")
        var table: [String: ScorecardRisk] = [:]
        for line in lines {
            let fields = line.split(separator: ",").map(String.init)
            #expect(fields.count == 3, "\(line)")
            guard fields.count == 3, let risk = ScorecardRisk(rawValue: fields[1]) else {
                Issue.record("bad row \(line)")
                continue
            }
            #expect(Double(fields[2]) == risk.weight, "\(line)")
            table[fields[0]] = risk
        }
        #expect(table == ScorecardRisk.byCheck)
    }
}
