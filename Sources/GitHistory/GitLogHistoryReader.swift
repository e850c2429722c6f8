import Foundation
import Logging

/// Reads history by running the `git` command-line tool (`git log`) and parsing its NUL-separated output.
///
/// Every call is hardened (see `GitCommand`): no system or global configuration, hooks pointed at `/dev/null`,
/// no pager, no signature checks, `--no-ext-diff --no-textconv` so that a hostile `.gitattributes` cannot run a
/// diff driver, and the counting options (`diff.renames`, `diff.renameLimit`, `diff.algorithm`) pinned to git 2.39's
/// defaults so that neither the user's nor the repository's configuration changes the numbers.
///
/// `walk` is two processes (`git cat-file` to resolve the tip and keep the stop commits that exist, then `git log`);
/// `records(for:)` is one `git log --no-walk=unsorted --stdin --numstat -z` per call (plus a `git cat-file` when the
/// batch holds a shallow-boundary commit, whose recorded parents git would hide), so batches of a few hundred
/// commits or more keep the process starts negligible.
public struct GitLogHistoryReader: HistoryReader {
    let git: GitCommand
    let logger: Logger

    /// Creates a reader running `gitExecutable` (default: the first `git` on `PATH`, else `/usr/bin/git`).
    public init(gitExecutable: String? = nil, logger: Logger = Logger(label: "repowatch.git-history")) {
        self.git = GitCommand(executable: gitExecutable ?? GitCommand.findExecutable() ?? "/usr/bin/git")
        self.logger = logger
    }

    /// Options shared by the `git log` calls: output to parse, nothing run from the repository.
    private static let logOptions = ["--no-color", "--no-ext-diff", "--no-textconv", "--no-mailmap", "--no-show-signature"]

    public func walk(
        repository: String, tip: String?, since: Date, limit: Int, stop: Set<String>
    ) async throws -> [WalkedCommit] {
        guard limit > 0 else { return [] }
        let revision = tip ?? "HEAD"
        guard !revision.hasPrefix("-"), !revision.contains("\n") else {
            throw GitHistoryError(.invalidArgument, operation: "walk", message: "revision \(revision.debugDescription)")
        }
        // Resolve the tip and keep only the stop shas that are commits of this repository (a rewritten history may
        // have dropped them), in one `cat-file` call.
        let stops = stop.map { $0.lowercased() }.filter(RepositoryLayout.isSHA).sorted()
        let query = ([revision + "^{commit}"] + stops).joined(separator: "\n") + "\n"
        let answer = try await git.run(
            ["cat-file", "--batch-check=%(objectname) %(objecttype)"], in: repository, input: Array(query.utf8))
        let lines = String(decoding: answer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= stops.count + 1 else {
            throw GitHistoryError(.unexpectedOutput, operation: "git cat-file", message: "\(lines.count) lines")
        }
        let tipFields = lines[0].split(separator: " ")
        guard tipFields.count == 2, tipFields[1] == "commit", RepositoryLayout.isSHA(String(tipFields[0])) else {
            if tip == nil { return [] }  // unborn HEAD: no commits yet
            throw GitHistoryError(.unknownRevision, operation: "walk", message: "no commit \(revision.debugDescription)")
        }
        var arguments = ["log"] + Self.logOptions + [
            "--format=%H %ct", "-z", "--max-count=\(min(limit, Int(Int32.max)))",
            "--max-age=\(max(0, Int64(since.timeIntervalSince1970.rounded(.up))))",
            String(tipFields[0]),
        ]
        for (index, sha) in stops.enumerated() {
            let fields = lines[index + 1].split(separator: " ")
            if fields.count == 2, fields[1] == "commit" {
                arguments.append("^" + sha)
            } else {
                logger.debug("stop commit not in repository, ignored", metadata: ["sha": "\(sha)"])
            }
        }
        arguments.append("--")
        let output = try await git.run(arguments, in: repository)
        let shallow = RepositoryLayout.shallowCommits(
            inGitDirectory: RepositoryLayout.commonGitDirectory(of: repository))
        var result: [WalkedCommit] = []
        for token in output.split(separator: 0, omittingEmptySubsequences: true) {
            let fields = token.split(separator: 0x20)
            guard fields.count == 2, let seconds = Int64(String(decoding: fields[1], as: UTF8.self)) else {
                throw GitHistoryError(
                    .unexpectedOutput, operation: "git log", message: String(decoding: token, as: UTF8.self))
            }
            let sha = String(decoding: fields[0], as: UTF8.self)
            result.append(WalkedCommit(
                sha: sha, committerDate: Date(timeIntervalSince1970: TimeInterval(seconds)),
                isShallowBoundary: shallow.contains(sha)))
        }
        return result
    }

    public func records(repository: String, for commits: [WalkedCommit]) async throws -> [CommitRecord] {
        guard !commits.isEmpty else { return [] }
        for commit in commits where !RepositoryLayout.isSHA(commit.sha) {
            throw GitHistoryError(.invalidArgument, operation: "records", message: "sha \(commit.sha.debugDescription)")
        }
        let shallow = RepositoryLayout.shallowCommits(
            inGitDirectory: RepositoryLayout.commonGitDirectory(of: repository))
        let input = Array(commits.map { $0.sha + "\n" }.joined().utf8)
        // One record per commit: RS sha NUL parents NUL author name NUL e-mail NUL author time NUL committer time NUL
        // raw message NUL, then -z's NUL, then the numstat lines ("added TAB deleted TAB path NUL", or for a rename
        // "added TAB deleted TAB NUL old NUL new NUL"), the first preceded by a newline.
        let output = try await git.run(
            ["log"] + Self.logOptions + [
                "--no-walk=unsorted", "--stdin", "--numstat", "-z", "--diff-merges=off",
                "--format=%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%ct%x00%B%x00",
            ],
            in: repository, input: input)
        var parsed = try Self.parseLog(output)
        // git shows a boundary commit grafted to no parents: read the parents recorded in the object instead.
        let boundaries = commits.map(\.sha).filter { shallow.contains($0) }
        if !boundaries.isEmpty {
            let recorded = try await recordedParents(of: boundaries, in: repository)
            for sha in boundaries {
                parsed[sha]?.parents = recorded[sha] ?? []
            }
        }
        return try commits.map { commit in
            guard var record = parsed[commit.sha] else {
                throw GitHistoryError(.unexpectedOutput, operation: "git log", message: "commit \(commit.sha) not listed")
            }
            if shallow.contains(commit.sha) || commit.isShallowBoundary { record.stats = nil }
            return record
        }
    }

    /// The `parent` lines of the given commit objects (`git cat-file --batch`), ignoring shallow grafts.
    private func recordedParents(of shas: [String], in repository: String) async throws -> [String: [String]] {
        let output = try await git.run(
            ["cat-file", "--batch"], in: repository, input: Array(shas.map { $0 + "\n" }.joined().utf8))
        var result: [String: [String]] = [:]
        var index = output.startIndex
        while index < output.endIndex {
            // "<sha> <type> <size>\n<content>\n"
            guard let newline = output[index...].firstIndex(of: 0x0A) else { break }
            let header = String(decoding: output[index..<newline], as: UTF8.self).split(separator: " ")
            guard header.count == 3, let size = Int(header[2]), newline + 1 + size <= output.endIndex else {
                throw GitHistoryError(.unexpectedOutput, operation: "git cat-file", message: header.joined(separator: " "))
            }
            let body = output[(newline + 1)..<(newline + 1 + size)]
            var parents: [String] = []
            for line in body.split(separator: 0x0A, omittingEmptySubsequences: false) {
                if line.isEmpty { break }  // end of the headers
                if line.starts(with: Array("parent ".utf8)) {
                    parents.append(String(decoding: line.dropFirst(7), as: UTF8.self))
                }
            }
            result[String(header[0])] = parents
            index = newline + 1 + size + 1
        }
        return result
    }

    /// Parses the output of the `records` call into records keyed by sha (stats zero when git printed no numstat).
    static func parseLog(_ output: [UInt8]) throws -> [String: CommitRecord] {
        var records: [String: CommitRecord] = [:]
        try output.withUnsafeBufferPointer { buffer in
            var tokens = NULTokens(buffer)
            var current: CommitRecord?
            func fail(_ message: String) -> GitHistoryError {
                GitHistoryError(.unexpectedOutput, operation: "git log", message: message)
            }
            while let token = tokens.next() {
                if let first = token.first, first == 0x1E {
                    if let record = current { records[record.sha] = record }
                    let sha = String(decoding: UnsafeBufferPointer(rebasing: token.dropFirst()), as: UTF8.self)
                    guard let parents = tokens.next(), let name = tokens.next(), let email = tokens.next(),
                        let authorTime = tokens.next(), let committerTime = tokens.next(),
                        let message = tokens.next(), RepositoryLayout.isSHA(sha),
                        let authorSeconds = Int64(String(decoding: authorTime, as: UTF8.self)),
                        let committerSeconds = Int64(String(decoding: committerTime, as: UTF8.self))
                    else { throw fail("truncated header of \(sha)") }
                    current = CommitRecord(
                        sha: sha,
                        parents: String(decoding: parents, as: UTF8.self).split(separator: " ").map(String.init),
                        authorName: String(decoding: name, as: UTF8.self),
                        authorEmail: String(decoding: email, as: UTF8.self),
                        authorDate: Date(timeIntervalSince1970: TimeInterval(authorSeconds)),
                        committerDate: Date(timeIntervalSince1970: TimeInterval(committerSeconds)),
                        summary: RepositoryLayout.summary(ofMessage: message),
                        stats: .zero)
                    continue
                }
                if token.isEmpty { continue }  // -z's end of the header
                guard current != nil else { throw fail("numstat before any commit") }
                // "added TAB deleted TAB path" (path empty for a rename: old and new follow as two tokens).
                var line = token[...]
                if line.first == 0x0A { line = line.dropFirst() }
                guard let tab1 = line.firstIndex(of: 0x09),
                    let tab2 = line[(tab1 + 1)...].firstIndex(of: 0x09)
                else { throw fail("numstat line without two tabs") }
                let added = line[line.startIndex..<tab1]
                let deleted = line[(tab1 + 1)..<tab2]
                if tab2 + 1 == line.endIndex {
                    guard tokens.next() != nil, tokens.next() != nil else { throw fail("truncated rename") }
                }
                current?.stats?.filesChanged += 1
                current?.stats?.additions += try count(added, fail)
                current?.stats?.deletions += try count(deleted, fail)
            }
            if let record = current { records[record.sha] = record }
        }
        return records
    }

    /// A numstat count: digits, or `-` for a binary file (counted as 0).
    private static func count(
        _ field: Slice<UnsafeBufferPointer<UInt8>>, _ fail: (String) -> GitHistoryError
    ) throws -> Int {
        if field.count == 1, field.first == 0x2D { return 0 }
        var value = 0
        for byte in field {
            guard byte >= 0x30, byte <= 0x39 else { throw fail("numstat count") }
            value = value &* 10 &+ Int(byte - 0x30)
        }
        guard !field.isEmpty else { throw fail("empty numstat count") }
        return value
    }
}

/// The NUL-terminated tokens of a buffer (the last one may lack its NUL).
struct NULTokens {
    let buffer: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

    mutating func next() -> UnsafeBufferPointer<UInt8>? {
        guard position < buffer.count else { return nil }
        var end = position
        while end < buffer.count, buffer[end] != 0 { end += 1 }
        let token = UnsafeBufferPointer(rebasing: buffer[position..<end])
        position = end + 1
        return token
    }
}
