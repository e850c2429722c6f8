import Foundation
import GitFixtures
import GitHistory
import Testing

@Suite("History readers against git log")
struct HistoryReaderTests {
    @Test("shallow clone of one year: same commits and numstat as git log", arguments: ReaderKind.allCases, [1000, 100_000])
    func shallowCloneMatchesGitLog(kind: ReaderKind, limit: Int) async throws {
        let fixture = try await TwoYears.shared.value
        #expect(!shallowBoundary(of: fixture.shallow).isEmpty)
        let records = try await expectMatchesOracle(
            reader: kind.reader, repository: fixture.shallow, since: fixture.windowStart, limit: limit,
            truth: fixture.source)
        if limit == 1000 {
            #expect(records.count == 1000)  // the window holds more: the limit applies
        } else {
            #expect(records.count < limit)
            #expect(records.contains { $0.stats == nil })  // the whole window: the boundary is in range
        }
        #expect(records.contains { $0.parents.count == 2 && $0.stats == .zero })  // merges: 0 files, not nil
    }

    @Test("complete clone: no boundary, the root commit included", arguments: ReaderKind.allCases)
    func completeCloneMatchesGitLog(kind: ReaderKind) async throws {
        let fixture = try await TwoYears.shared.value
        let since = fixture.windowStart.addingTimeInterval(-2 * 365 * 86_400)
        let records = try await expectMatchesOracle(
            reader: kind.reader, repository: fixture.full, since: since, limit: 100_000, truth: fixture.full)
        #expect(records.count == fixture.generated.commitCount)
        #expect(records.allSatisfy { $0.stats != nil })
        let root = try #require(records.last)
        #expect(root.parents.isEmpty)
        #expect((root.stats?.filesChanged ?? 0) > 0)
        // Generated odd cases are in range: binary-only changes, pure renames, empty commits.
        #expect(records.contains { $0.stats == .zero && $0.parents.count == 1 })
        // The window of the last year with a limit, on the complete clone too.
        _ = try await expectMatchesOracle(
            reader: kind.reader, repository: fixture.full, since: fixture.windowStart, limit: 300, truth: fixture.full)
    }

    @Test("both readers give identical records", arguments: [false, true])
    func readersAgree(shallow: Bool) async throws {
        let fixture = try await TwoYears.shared.value
        let repository = (shallow ? fixture.shallow : fixture.full).path
        let since = fixture.windowStart
        let a = LibGit2HistoryReader()
        let b = GitLogHistoryReader()
        let walkedA = try await a.walk(repository: repository, tip: nil, since: since, limit: 5000, stop: [])
        let walkedB = try await b.walk(repository: repository, tip: nil, since: since, limit: 5000, stop: [])
        #expect(walkedA == walkedB)
        let recordsA = try await a.records(repository: repository, for: walkedA)
        let recordsB = try await b.records(repository: repository, for: walkedB)
        #expect(recordsA == recordsB)
    }

    @Test("libgit2 records spread over threads equal the single-thread ones, in order")
    func libgit2Threads() async throws {
        let fixture = try await TwoYears.shared.value
        let repository = fixture.shallow.path
        let single = LibGit2HistoryReader()
        let walked = try await single.walk(
            repository: repository, tip: nil, since: fixture.windowStart, limit: 5000, stop: [])
        let expected = try await single.records(repository: repository, for: walked)
        for threads in [2, 3] {
            let reader = LibGit2HistoryReader(parallelism: threads, minimumBatchPerThread: 1)
            #expect(try await reader.records(repository: repository, for: walked) == expected)
            let few = Array(walked.prefix(2))
            #expect(try await reader.records(repository: repository, for: few) == Array(expected.prefix(2)))
        }
    }

    @Test("records(for:) on a subset returns exactly those, in order", arguments: ReaderKind.allCases)
    func recordsOfSubset(kind: ReaderKind) async throws {
        let fixture = try await TwoYears.shared.value
        let reader = kind.reader
        let walked = try await reader.walk(
            repository: fixture.shallow.path, tip: nil, since: fixture.windowStart, limit: 1000, stop: [])
        let all = try await reader.records(repository: fixture.shallow.path, for: walked)
        // Every 7th commit, oldest first, plus the boundary: an arbitrary order the caller chose.
        var subset = stride(from: walked.count - 1, through: 0, by: -7).map { walked[$0] }
        if let boundary = walked.first(where: \.isShallowBoundary), !subset.contains(boundary) { subset.append(boundary) }
        let records = try await reader.records(repository: fixture.shallow.path, for: subset)
        #expect(records.map(\.sha) == subset.map(\.sha))
        let bySha = Dictionary(uniqueKeysWithValues: all.map { ($0.sha, $0) })
        #expect(records == subset.map { bySha[$0.sha] })
        #expect(try await reader.records(repository: fixture.shallow.path, for: []).isEmpty)
    }

    @Test("no commit in the window: walk returns nothing", arguments: ReaderKind.allCases)
    func emptyWindow(kind: ReaderKind) async throws {
        let fixture = try await TwoYears.shared.value
        for repository in [fixture.full, fixture.shallow] {
            let walked = try await kind.reader.walk(
                repository: repository.path, tip: nil, since: fixture.end.addingTimeInterval(1), limit: 1000, stop: [])
            #expect(walked.isEmpty)
        }
        // The newest commit alone is in a window starting at its own date.
        let newest = try await kind.reader.walk(
            repository: fixture.full.path, tip: nil, since: fixture.end, limit: 1000, stop: [])
        #expect(newest.map(\.sha) == [fixture.generated.head])
    }

    @Test("an unknown tip is an error; a walk limited to 0 is empty", arguments: ReaderKind.allCases)
    func unknownTip(kind: ReaderKind) async throws {
        let fixture = try await TwoYears.shared.value
        await #expect(throws: GitHistoryError.self) {
            _ = try await kind.reader.walk(
                repository: fixture.full.path, tip: "refs/heads/no-such-branch", since: .distantPast, limit: 10, stop: [])
        }
        await #expect(throws: GitHistoryError.self) {
            _ = try await kind.reader.walk(
                repository: fixture.full.path, tip: "--output=/tmp/x", since: .distantPast, limit: 10, stop: [])
        }
        let none = try await kind.reader.walk(
            repository: fixture.full.path, tip: nil, since: .distantPast, limit: 0, stop: [])
        #expect(none.isEmpty)
    }
}

@Suite("Re-check after new commits")
struct RecheckTests {
    @Test("walk with stop = {old head} returns exactly the new commits", arguments: ReaderKind.allCases)
    func stopAtPreviousHead(kind: ReaderKind) async throws {
        let root = try temporaryFolder("recheck-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: root) }
        let end = Date().addingTimeInterval(-86_400).rounded()
        let source = try await RepositoryGenerator.make(
            at: root.appendingPathComponent("source"), commits: 300, span: end.addingTimeInterval(-90 * 86_400)...end,
            seed: 7)
        let clone = root.appendingPathComponent("clone")
        let windowStart = end.addingTimeInterval(-45 * 86_400)
        try await RepositoryGenerator.shallowClone(of: source.path, into: clone, since: windowStart)
        let oldHead = source.head

        let newHead = try await RepositoryGenerator.appendCommits(to: source.path, count: 25, seed: 99)
        _ = try await git(["fetch", "-q", "origin"], in: clone)
        let expected = try await git(["rev-list", "-n", "25", newHead], in: source.path)
            .split(separator: "\n").map(String.init)

        let reader = kind.reader
        let walked = try await reader.walk(
            repository: clone.path, tip: "refs/remotes/origin/main", since: windowStart, limit: 1000, stop: [oldHead])
        #expect(walked.map(\.sha) == expected)
        #expect(walked.allSatisfy { !$0.isShallowBoundary })
        let records = try await reader.records(repository: clone.path, for: walked)
        #expect(records.count == 25)
        #expect(records.allSatisfy { $0.stats != nil && ($0.stats?.filesChanged ?? 0) > 0 })

        // A stop commit unknown to the repository (history rewritten) is ignored.
        let missing = String(repeating: "ab", count: 20)
        let withMissing = try await reader.walk(
            repository: clone.path, tip: "refs/remotes/origin/main", since: windowStart, limit: 1000,
            stop: [oldHead, missing])
        #expect(withMissing == walked)
        // Stopping at the new head itself: nothing new.
        let nothing = try await reader.walk(
            repository: clone.path, tip: "refs/remotes/origin/main", since: windowStart, limit: 1000, stop: [newHead])
        #expect(nothing.isEmpty)
    }
}

@Suite("Untrusted repositories")
struct HostileRepositoryTests {
    @Test("a textconv or external diff driver named by .gitattributes is never run", arguments: ReaderKind.allCases)
    func diffDriversNotRun(kind: ReaderKind) async throws {
        let root = try temporaryFolder("hostile-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("source")
        let marker = root.appendingPathComponent("PWNED")
        let evil = "touch '\(marker.path)'; cat"
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        _ = try await git(["init", "-q", "-b", "main", "."], in: source)
        try "one\ntwo\n".write(to: source.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        _ = try await git(["add", "-A"], in: source)
        _ = try await git(["commit", "-q", "-m", "first"], in: source)
        try "* diff=evil\n".write(to: source.appendingPathComponent(".gitattributes"), atomically: true, encoding: .utf8)
        try "one\ntwo\nthree\n".write(to: source.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        _ = try await git(["add", "-A"], in: source)
        _ = try await git(["commit", "-q", "-m", "attributes"], in: source)
        let clone = root.appendingPathComponent("clone")
        try await RepositoryGenerator.clone(of: source, into: clone)
        for repository in [source, clone] {
            _ = try await git(["config", "diff.evil.textconv", evil], in: repository)
            _ = try await git(["config", "diff.evil.command", evil], in: repository)
            _ = try await git(["config", "diff.external", evil], in: repository)
        }

        let reader = kind.reader
        let walked = try await reader.walk(repository: clone.path, tip: nil, since: .distantPast, limit: 10, stop: [])
        let records = try await reader.records(repository: clone.path, for: walked)
        #expect(records.map(\.summary) == ["attributes", "first"])
        #expect(records.first?.stats == CommitStats(filesChanged: 2, additions: 2, deletions: 0))
        #expect(!FileManager.default.fileExists(atPath: marker.path))

        // The trap is real: plain `git log -p` in the same clone runs the driver.
        _ = try await git(["log", "-p", "-1"], in: clone)
        #expect(FileManager.default.fileExists(atPath: marker.path))
    }
}

@Suite("Commit messages of any size")
struct HugeMessageTests {
    @Test("summaries are read from a bounded prefix and cut at a character boundary, by both readers, on a shallow boundary too",
          arguments: ReaderKind.allCases)
    func hugeMessages(kind: ReaderKind) async throws {
        let root = try temporaryFolder("huge-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: root) }
        let source = root.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        _ = try await git(["init", "-q", "-b", "main", "."], in: source)
        let messageFile = root.appendingPathComponent("message")
        var counter = 0
        func commit(_ message: [UInt8]) async throws {
            counter += 1
            try "\(counter)\n".write(to: source.appendingPathComponent("f.txt"), atomically: true, encoding: .utf8)
            try Data(message).write(to: messageFile)
            _ = try await git(["add", "-A"], in: source)
            let date = "@\(1_700_000_000 + counter * 60) +0000"
            _ = try await git(
                ["commit", "-q", "--cleanup=verbatim", "-F", messageFile.path], in: source,
                environment: ["GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date])
        }
        // 8 MiB bodies: many pipe reads each, none of which is held.
        let body = Array(repeating: Array("lorem ipsum dolor sit amet\n".utf8), count: 8 << 20 / 27).flatMap { $0 }
        try await commit(Array("oldest\n\n".utf8) + body)
        try await commit(Array("boundary commit\n\n".utf8) + body)
        // A first line of 6 000 bytes of three-byte characters: 341 of them fit in 1 024 bytes.
        try await commit(Array(String(repeating: "\u{20AC}", count: 2000).utf8) + Array("\n".utf8))
        // The first line starts after the bounded prefix: no summary.
        try await commit(Array(repeating: 0x0A, count: 70_000) + Array("too late\n".utf8))
        try await commit(Array("newest\n\n".utf8) + body)

        let clone = root.appendingPathComponent("clone")
        _ = try await git(
            ["clone", "-q", "--no-local", "--depth", "4", RepositoryGenerator.fileURL(source), clone.path], in: root)
        let reader = kind.reader
        let walked = try await reader.walk(repository: clone.path, tip: nil, since: .distantPast, limit: 10, stop: [])
        #expect(walked.map(\.isShallowBoundary) == [false, false, false, true])
        let records = try await reader.records(repository: clone.path, for: walked)
        #expect(records.map(\.summary) == ["newest", "", String(repeating: "\u{20AC}", count: 341), "boundary commit"])
        // The boundary's parent is the one recorded in the object, read past its 8 MiB message.
        let oldest = try await git(["rev-parse", "HEAD~4"], in: source).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(records.last?.parents == [oldest])
        #expect(records.last?.stats == nil)
        #expect(records.first?.stats == CommitStats(filesChanged: 1, additions: 1, deletions: 1))
    }
}

extension Date {
    /// Whole seconds, as git stores them.
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

@Suite("Odd changes")
struct OddChangeTests {
    /// Writes `contents` (bytes) to `name` in `folder`.
    static func write(_ contents: [UInt8], _ name: String, in folder: URL) throws {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents).write(to: url)
    }

    @Test("mode changes, symlinks, type changes, gitlinks, CRLF, control characters, missing final newline",
          arguments: ReaderKind.allCases)
    func oddChangesMatchGitLog(kind: ReaderKind) async throws {
        let root = try temporaryFolder("odd-\(kind.rawValue)")
        defer { try? FileManager.default.removeItem(at: root) }
        let repo = root.appendingPathComponent("repo")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        _ = try await git(["init", "-q", "-b", "main", "."], in: repo)
        func commit(_ message: String, at seconds: Int) async throws {
            _ = try await git(["add", "-A"], in: repo)
            let date = "@\(1_700_000_000 + seconds) +0100"
            _ = try await git(
                ["commit", "-q", "--allow-empty", "-m", message], in: repo,
                environment: ["GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date])
        }
        let text = Array((1...30).map { "line \($0)\n" }.joined().utf8)
        try Self.write(text, "a.txt", in: repo)
        try Self.write(Array("#!/bin/sh\necho hi\n".utf8), "script.sh", in: repo)
        // Text with control characters (no NUL): git counts lines, libgit2's own heuristic would say binary.
        try Self.write(Array((1...20).map { "ctl \($0) \u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\n" }.joined().utf8), "ctrl.txt", in: repo)
        try Self.write(Array((1...10).map { "crlf \($0)\r\n" }.joined().utf8), "crlf.txt", in: repo)
        try Self.write(Array("no final newline".utf8), "nonl.txt", in: repo)
        try await commit("files", at: 0)

        _ = try await git(["update-index", "--chmod=+x", "script.sh"], in: repo)
        _ = try await git(["commit", "-q", "-m", "mode"], in: repo,
            environment: ["GIT_AUTHOR_DATE": "@1700000100 +0000", "GIT_COMMITTER_DATE": "@1700000100 +0000"])
        try FileManager.default.createSymbolicLink(atPath: repo.appendingPathComponent("link").path, withDestinationPath: "a.txt")
        let head = try await git(["rev-parse", "HEAD"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)
        // An empty folder is an unpopulated submodule for `git add -A`, which then keeps the gitlink as staged.
        try FileManager.default.createDirectory(
            at: repo.appendingPathComponent("vendor/sub"), withIntermediateDirectories: true)
        _ = try await git(["update-index", "--add", "--cacheinfo", "160000,\(head),vendor/sub"], in: repo)
        try await commit("symlink and gitlink", at: 200)

        try FileManager.default.removeItem(at: repo.appendingPathComponent("a.txt"))
        try FileManager.default.createSymbolicLink(atPath: repo.appendingPathComponent("a.txt").path, withDestinationPath: "crlf.txt")
        try Self.write(Array((1...22).map { "ctl \($0) \u{1}\u{2}\u{3}\u{4}\u{5}\u{6}\n" }.joined().utf8), "ctrl.txt", in: repo)
        try Self.write(Array((1...12).map { "crlf \($0)\r\n" }.joined().utf8), "crlf.txt", in: repo)
        try Self.write(Array("no final newline, edited".utf8), "nonl.txt", in: repo)
        _ = try await git(["update-index", "--cacheinfo", "160000,\(String(repeating: "1", count: 40)),vendor/sub"], in: repo)
        try await commit("type change, gitlink moved, edits", at: 300)

        // A directory renamed with its many files, one of them edited.
        for index in 0..<40 { try Self.write(Array("file \(index)\n\(String(repeating: "x\n", count: 5))".utf8), "dir/f\(index).txt", in: repo) }
        try await commit("dir", at: 400)
        try FileManager.default.moveItem(at: repo.appendingPathComponent("dir"), to: repo.appendingPathComponent("moved dir"))
        try Self.write(Array("file 0\n\(String(repeating: "x\n", count: 5))extra\n".utf8), "moved dir/f0.txt", in: repo)
        try await commit("move dir", at: 500)
        _ = try await git(["rm", "-q", "--cached", "vendor/sub"], in: repo)
        try await commit("drop gitlink", at: 600)

        let records = try await expectMatchesOracle(
            reader: kind.reader, repository: repo, since: Date(timeIntervalSince1970: 1_600_000_000), limit: 100, truth: repo)
        #expect(records.count == 7)
    }
}
