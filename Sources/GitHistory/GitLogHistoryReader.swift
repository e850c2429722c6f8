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
        // Streamed: only the fields stored are kept of what git prints (see `GitLogStream`).
        var stream = GitLogStream()
        try await git.stream(
            ["log"] + Self.logOptions + [
                "--no-walk=unsorted", "--stdin", "--numstat", "-z", "--diff-merges=off",
                "--format=%x1e%H%x00%P%x00%an%x00%ae%x00%at%x00%ct%x00%B%x00",
            ],
            in: repository, input: input
        ) { try stream.consume($0) }
        var parsed = try stream.finish()
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

    /// The `parent` lines of the given commit objects (`git cat-file --batch`, streamed: the rest of each object is
    /// counted past, never held), ignoring shallow grafts.
    private func recordedParents(of shas: [String], in repository: String) async throws -> [String: [String]] {
        var stream = CatFileParentsStream()
        try await git.stream(
            ["cat-file", "--batch"], in: repository, input: Array(shas.map { $0 + "\n" }.joined().utf8)
        ) { try stream.consume($0) }
        return stream.finish()
    }
}
