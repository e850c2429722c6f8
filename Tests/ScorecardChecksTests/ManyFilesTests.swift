import Foundation
import Scorecard
import ScorecardChecks
import Testing

/// Issue 10, finding 6: a commit of 200 000 files kept the bundled Scorecard at a full core past its 10-minute
/// limit, because a check's file lookups scanned the whole list (quadratic). The tree is now walked once and
/// indexed once; these tests prove the checks' cost linear by counting their work (``FileIndex/work``: file
/// records handed to checks and lookups made), never by timing them, and check that the filler files change no
/// result.
@Suite("Many files")
struct ManyFilesTests {
    /// The same six files as `scripts/many-files-repo.py` writes beside its generated ones: something for every
    /// check to find (a license, a policy, an update tool, a workflow, a Dockerfile).
    static let extras: [String: String] = [
        "LICENSE": "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n",
        "README.md": "# many-files\n\nA generated repository with very many files in one commit.\n",
        "SECURITY.md": "Report vulnerabilities to security@example.org; we answer within 2 days.\n"
            + "See https://example.org/security for the disclosure policy.\n",
        ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: github-actions\n    directory: /\n"
            + "    schedule:\n      interval: weekly\n",
        ".github/workflows/ci.yml": "on: [push]\npermissions: read-all\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
            + "    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n",
        "Dockerfile": "FROM alpine:3.20\nRUN apk add --no-cache git\n",
    ]

    /// The extras plus `count` small files `src/dNNNN/fNNNNNN.txt`, 1000 to a folder, as the script lays them out.
    static func tree(filler count: Int) throws -> Fixture {
        let fixture = try Fixture(extras)
        var folder = ""
        for index in 0..<count {
            if index % 1000 == 0 {
                folder = fixture.root.appendingPathComponent(String(format: "src/d%04d", index / 1000)).path
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            }
            let path = folder + String(format: "/f%06d.txt", index)
            guard FileManager.default.createFile(atPath: path, contents: Data("file \(index)\n".utf8)) else {
                throw CocoaError(.fileWriteUnknown)
            }
        }
        return fixture
    }

    /// Every check's result and the work the checks did on `fixture`'s tree.
    static func score(_ fixture: Fixture) throws -> (checks: [ScorecardReport.Check], work: Int, files: Int) {
        let context = try fixture.context()
        let files = context.index.files.count
        let before = context.index.work
        let checks = Checks.all.map { $0.run(context) }
        return (checks, context.index.work - before, files)
    }

    @Test("filler files change no check's result, and the checks' work grows linearly with the number of files")
    func checksWorkIsLinearInTheFileCount() throws {
        let small = try Self.score(try Self.tree(filler: 0))
        // Small trees suffice: the work is counted, not timed, so its growth shows at any size.
        let single = try Self.score(try Self.tree(filler: 1_500))
        let double = try Self.score(try Self.tree(filler: 3_000))
        #expect(single.files == 1_506 && double.files == 3_006)

        // The filler is neither binary, nor a license, nor a script: every result is the six files' alone.
        #expect(single.checks == small.checks)
        #expect(double.checks == small.checks)
        #expect(small.checks.first { $0.name == "License" }?.score == 9)  // a plain LICENSE, as the official local mode
        #expect(small.checks.first { $0.name == "Security-Policy" }?.score == 10)
        #expect(small.checks.first { $0.name == "Dependency-Update-Tool" }?.score == 10)

        // Linear: twice the files, at most twice the work (a quadratic cost would be four times). And a small
        // number of units per file: the checks that look at every file (Binary-Artifacts, Pinned-Dependencies)
        // visit each once and read it through a dictionary lookup; the others look up only the names they want.
        let perFile = Double(double.work) / Double(double.files)
        #expect(double.work <= 2 * single.work, "work \(single.work) for \(single.files) files, \(double.work) for \(double.files)")
        #expect(perFile < 5, "\(perFile) units of work per file")
    }

    @Test("a lookup by name, extension, folder or path costs the files it finds, not the size of the tree")
    func lookupsCostWhatTheyFind() throws {
        let fixture = try Self.tree(filler: 1_000)
        try fixture.write("src/d0001/LICENSE.md", Data("nested, not a top-level license\n".utf8))
        try fixture.write("licenses/Apache-2.0.txt", Data("Apache License\nVersion 2.0\n".utf8))
        let context = try fixture.context()
        let index = context.index
        /// What `body` returns and the work it cost.
        func measured<T>(_ body: () -> T) -> (T, Int) {
            let before = index.work
            let value = body()
            return (value, index.work - before)
        }
        let security = measured { index.file("SECURITY.md")?.size }
        #expect(security.0 == Int64(Self.extras["SECURITY.md"]!.utf8.count) && security.1 == 1)
        let read = measured { context.read("src/d0000/f000999.txt") }
        #expect(read.0 == Data("file 999\n".utf8) && read.1 == 1)
        let missing = measured { context.read("src/d0000/missing.txt") }
        #expect(missing.0 == nil && missing.1 == 1)
        let named = measured { index.files(named: "LICENSE.md").map(\.path) }
        #expect(named.0 == ["src/d0001/LICENSE.md"] && named.1 == 2)
        let byExtension = measured { index.files(withExtensions: ["yml", "md"]).map(\.path) }
        #expect(byExtension.0 == [".github/dependabot.yml", ".github/workflows/ci.yml", "README.md", "SECURITY.md", "src/d0001/LICENSE.md"])
        #expect(byExtension.1 == 6)
        let root = measured { index.files(inLowercasedFolder: "").map(\.path) }
        #expect(root.0 == ["Dockerfile", "LICENSE", "README.md", "SECURITY.md"] && root.1 == 5)
        let folder = measured { index.files(inLowercasedFolder: "licenses").map(\.path) }
        #expect(folder.0 == ["licenses/Apache-2.0.txt"] && folder.1 == 2)
        let policy = measured { index.files(lowercasedPaths: ["security.md", ".github/security.md"]).map(\.path) }
        #expect(policy.0 == ["SECURITY.md"] && policy.1 == 2)
        let all = measured { context.files.count }
        #expect(all.0 == 1_008 && all.1 == 1_008, "visiting every file costs one unit each")
    }
}
