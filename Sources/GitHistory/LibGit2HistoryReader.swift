import CLibGit2
import Foundation
import Logging

/// Reads history in process with libgit2 (Debian 12's 1.5.1).
///
/// libgit2 1.5 does not apply a clone's `shallow` file (its `git_revwalk` fails at the boundary), so the walk is
/// done here, the way `git log` does it: a queue ordered by committer date (ties first-in first-out), not going past
/// commits older than `since`, stopping at the shallow boundary, with `stop` commits and their ancestors marked
/// uninteresting. Diff stats come from `git_diff_tree_to_tree` against the first parent (the empty tree for a root),
/// `git_diff_find_similar` with renames only (git's default: 50 % similarity, limit 1000), and each delta's patch line
/// stats (a type change counted like git: old side's lines deleted, new side's added). libgit2 runs no diff drivers (no textconv, no external diff), whatever the attributes say.
///
/// `records(for:)` can spread large batches over `parallelism` threads, each with its own `git_repository`. It is 1
/// by default: measured on a shared 2-core machine (Benchmarks/results/history-2026-11-23.md), 2 threads were no faster
/// than one. A likely cause: libgit2 1.5 shares one `git_pack_file` (with its delta-base cache) between all
/// repositories of a process that open the same pack and maps pack windows under a global mutex.
public struct LibGit2HistoryReader: HistoryReader {
    /// Threads used by `records(for:)` for batches of at least `minimumBatchPerThread` commits per thread.
    public var parallelism: Int
    /// The smallest share of a batch worth a thread of its own.
    public var minimumBatchPerThread: Int
    let logger: Logger

    /// Creates a reader; see the type's documentation about `parallelism`.
    public init(
        parallelism: Int = 1,
        minimumBatchPerThread: Int = 64,
        logger: Logger = Logger(label: "repowatch.git-history")
    ) {
        self.parallelism = max(1, parallelism)
        self.minimumBatchPerThread = max(1, minimumBatchPerThread)
        self.logger = logger
    }

    public func walk(
        repository: String, tip: String?, since: Date, limit: Int, stop: Set<String>
    ) async throws -> [WalkedCommit] {
        guard limit > 0 else { return [] }
        let logger = self.logger
        return try await onDedicatedThread { cancellation in
            let repo = try Repository(path: repository)
            guard let start = try repo.resolve(tip) else { return [] }
            var stops: [ObjectID] = []
            for sha in stop.sorted() {
                if let id = ObjectID(hex: sha.lowercased()), repo.hasCommit(id) {
                    stops.append(id)
                } else {
                    logger.debug("stop commit not in repository, ignored", metadata: ["sha": "\(sha)"])
                }
            }
            var walker = Walker(repository: repo, since: Int64(since.timeIntervalSince1970.rounded(.up)))
            return try walker.run(from: start, stops: stops, limit: limit, cancellation: cancellation)
        }
    }

    public func records(repository: String, for commits: [WalkedCommit]) async throws -> [CommitRecord] {
        guard !commits.isEmpty else { return [] }
        var ids: [ObjectID] = []
        ids.reserveCapacity(commits.count)
        for commit in commits {
            guard let id = ObjectID(hex: commit.sha) else {
                throw GitHistoryError(.invalidArgument, operation: "records", message: "sha \(commit.sha.debugDescription)")
            }
            ids.append(id)
        }
        let threads = min(parallelism, max(1, commits.count / minimumBatchPerThread))
        // Interleaved shares (commit i to thread i % threads): neighbouring commits cost about the same.
        let shares = (0..<threads).map { share in stride(from: share, to: commits.count, by: threads).map { $0 } }
        let flagged = Set(commits.filter(\.isShallowBoundary).map(\.sha))
        let results = try await withThrowingTaskGroup(of: (Int, [CommitRecord]).self) { group in
            for (share, indices) in shares.enumerated() {
                let shareIDs = indices.map { ids[$0] }
                group.addTask {
                    let records = try await onDedicatedThread { cancellation in
                        let repo = try Repository(path: repository)
                        var differ = try StatsDiffer(repository: repo)
                        return try shareIDs.map { id in
                            if cancellation.isCancelled { throw CancellationError() }
                            return try differ.record(id, boundary: flagged.contains(id.hex))
                        }
                    }
                    return (share, records)
                }
            }
            var byShare = [[CommitRecord]](repeating: [], count: threads)
            for try await (share, records) in group { byShare[share] = records }
            return byShare
        }
        var merged: [CommitRecord] = []
        merged.reserveCapacity(commits.count)
        for index in 0..<commits.count {
            merged.append(results[index % threads][index / threads])
        }
        return merged
    }
}

/// `git log`'s walk (revision.c, git 2.39) over libgit2 commits, for one thread.
struct Walker {
    private struct Node {
        var time: Int64
        var parents: [ObjectID]
        var flags: UInt8
    }
    private static let seen: UInt8 = 1
    private static let uninteresting: UInt8 = 2
    private static let queued: UInt8 = 4
    private static let popped: UInt8 = 8

    private let repository: Repository
    private let since: Int64
    private var nodes: [ObjectID: Node] = [:]
    private var queue = DateQueue()
    private var interestingQueued = 0

    init(repository: Repository, since: Int64) {
        self.repository = repository
        self.since = since
    }

    /// Loads a commit's date and parents (none past the shallow boundary), marks it seen and queues it.
    private mutating func push(_ id: ObjectID, uninteresting: Bool) throws {
        let commit = try repository.commit(id)
        defer { git_commit_free(commit) }
        var parents: [ObjectID] = []
        if !repository.shallow.contains(id) {
            let count = git_commit_parentcount(commit)
            parents.reserveCapacity(Int(count))
            for index in 0..<count {
                guard let parent = git_commit_parent_id(commit, index) else { continue }
                parents.append(ObjectID(parent.pointee))
            }
        }
        let time = Int64(git_commit_time(commit))
        var flags = Self.seen | Self.queued
        if uninteresting { flags |= Self.uninteresting } else { interestingQueued += 1 }
        nodes[id] = Node(time: time, parents: parents, flags: flags)
        queue.insert(id, time: time)
    }

    /// Marks `id` uninteresting, and the ancestors already loaded (like git's `mark_parents_uninteresting`).
    private mutating func markUninteresting(_ id: ObjectID) {
        var pending = [id]
        while let next = pending.popLast() {
            guard var node = nodes[next], node.flags & Self.uninteresting == 0 else { continue }
            node.flags |= Self.uninteresting
            if node.flags & Self.queued != 0 { interestingQueued -= 1 }
            nodes[next] = node
            pending.append(contentsOf: node.parents)
        }
    }

    mutating func run(
        from tip: ObjectID, stops: [ObjectID], limit: Int, cancellation: CancellationFlag
    ) throws -> [WalkedCommit] {
        try push(tip, uninteresting: false)
        for stop in stops {
            if nodes[stop] != nil { markUninteresting(stop) } else { try push(stop, uninteresting: true) }
        }
        var output: [ObjectID] = []
        while let id = queue.popFirst() {
            if cancellation.isCancelled { throw CancellationError() }
            guard var node = nodes[id] else { continue }
            node.flags &= ~Self.queued
            node.flags |= Self.popped
            nodes[id] = node
            if node.flags & Self.uninteresting != 0 {
                for parent in node.parents {
                    if let existing = nodes[parent] {
                        if existing.flags & Self.uninteresting == 0 { markUninteresting(parent) }
                    } else {
                        try push(parent, uninteresting: true)
                    }
                }
            } else {
                interestingQueued -= 1
                // git log --since: an older commit is neither shown nor walked through.
                if node.time < since { continue }
                output.append(id)
                if stops.isEmpty, output.count >= limit { break }
                for parent in node.parents where nodes[parent] == nil {
                    try push(parent, uninteresting: false)
                }
            }
            // With stops: done once nothing interesting is left to pop.
            if !stops.isEmpty, interestingQueued == 0 { break }
        }
        var result: [WalkedCommit] = []
        for id in output {
            guard let node = nodes[id], node.flags & Self.uninteresting == 0 else { continue }
            result.append(WalkedCommit(
                sha: id.hex, committerDate: Date(timeIntervalSince1970: TimeInterval(node.time)),
                isShallowBoundary: repository.shallow.contains(id)))
            if result.count >= limit { break }
        }
        return result
    }
}

/// Commits by committer date, newest first; equal dates first-in first-out (git's `commit_list_insert_by_date`).
struct DateQueue {
    private var heap: [(time: Int64, sequence: Int, id: ObjectID)] = []
    private var nextSequence = 0

    private static func before(_ a: (time: Int64, sequence: Int, id: ObjectID), _ b: (time: Int64, sequence: Int, id: ObjectID)) -> Bool {
        a.time != b.time ? a.time > b.time : a.sequence < b.sequence
    }

    mutating func insert(_ id: ObjectID, time: Int64) {
        heap.append((time, nextSequence, id))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> ObjectID? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var best = parent
                if left < heap.count, Self.before(heap[left], heap[best]) { best = left }
                if right < heap.count, Self.before(heap[right], heap[best]) { best = right }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return first.id
    }
}

/// Reads commit records with diff stats, reusing one set of diff options, for one thread.
struct StatsDiffer {
    private let repository: Repository
    private var diffOptions = git_diff_options()
    private var findOptions = git_diff_find_options()

    init(repository: Repository) throws {
        self.repository = repository
        try LibGit2.check(git_diff_options_init(&diffOptions, UInt32(GIT_DIFF_OPTIONS_VERSION)), "git_diff_options_init")
        // Like git: submodules compared by the recorded commit only, no content of untracked or ignored files.
        diffOptions.ignore_submodules = GIT_SUBMODULE_IGNORE_NONE
        // git --numstat prints a file replaced by a symlink (or the reverse) as one changed file; libgit2 would split
        // it into a deletion and an addition without this flag.
        diffOptions.flags = GIT_DIFF_INCLUDE_TYPECHANGE.rawValue
        diffOptions.context_lines = 0
        diffOptions.interhunk_lines = 0
        try LibGit2.check(
            git_diff_find_options_init(&findOptions, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION)), "git_diff_find_options_init")
        // git 2.39's defaults: renames (not copies), 50 % similarity, rename limit 1000, whitespace significant.
        findOptions.flags = GIT_DIFF_FIND_RENAMES.rawValue | GIT_DIFF_FIND_DONT_IGNORE_WHITESPACE.rawValue
        findOptions.rename_threshold = 50
        findOptions.rename_limit = 1000
    }

    /// The record of one commit; stats nil for a shallow-boundary commit, zero for a merge.
    mutating func record(_ id: ObjectID, boundary: Bool) throws -> CommitRecord {
        let commit = try repository.commit(id)
        defer { git_commit_free(commit) }
        let parentCount = git_commit_parentcount(commit)
        var parents: [String] = []
        for index in 0..<parentCount {
            if let parent = git_commit_parent_id(commit, index) { parents.append(ObjectID(parent.pointee).hex) }
        }
        // libgit2's parsed signature trims "crud" (a trailing '.', quotes…) off names; git log prints the name as
        // recorded, so the author line is read from the raw header.
        var author = Identity()
        if let header = git_commit_raw_header(commit) {
            author = header.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
                Identity(authorOfHeader: UnsafeBufferPointer(start: bytes, count: strlen(header)))
            }
        }
        var summary = ""
        // The raw message, as `git log --format=%B` prints it (`git_commit_message` drops leading newlines, which
        // would move the bounded prefix the summary is read from).
        if let message = git_commit_message_raw(commit) {
            summary = message.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
                RepositoryLayout.summary(
                    ofMessage: UnsafeBufferPointer(
                        start: bytes, count: strnlen(message, RepositoryLayout.messagePrefixLimit)))
            }
        }
        let stats: CommitStats?
        if boundary || repository.shallow.contains(id) {
            stats = nil
        } else if parentCount > 1 {
            stats = .zero  // git log prints no numstat for a merge
        } else {
            stats = try diffStats(commit, hasParent: parentCount == 1)
        }
        return CommitRecord(
            sha: id.hex, parents: parents, authorName: author.name, authorEmail: author.email,
            authorDate: Date(timeIntervalSince1970: TimeInterval(author.time)),
            committerDate: Date(timeIntervalSince1970: TimeInterval(git_commit_time(commit))),
            summary: summary, stats: stats)
    }

    private mutating func diffStats(_ commit: OpaquePointer, hasParent: Bool) throws -> CommitStats {
        var newTree: OpaquePointer?
        try LibGit2.check(git_commit_tree(&newTree, commit), "git_commit_tree")
        defer { git_tree_free(newTree) }
        var oldTree: OpaquePointer?
        if hasParent {
            var parent: OpaquePointer?
            try LibGit2.check(git_commit_parent(&parent, commit, 0), "git_commit_parent")
            defer { git_commit_free(parent) }
            try LibGit2.check(git_commit_tree(&oldTree, parent), "git_commit_tree")
        }
        defer { git_tree_free(oldTree) }
        var diff: OpaquePointer?
        try LibGit2.check(
            git_diff_tree_to_tree(&diff, repository.handle, oldTree, newTree, &diffOptions), "git_diff_tree_to_tree")
        defer { git_diff_free(diff) }
        try LibGit2.check(git_diff_find_similar(diff, &findOptions), "git_diff_find_similar")
        // What git_diff_get_stats does, except for type changes (see `typeChangeLines`).
        let count = git_diff_num_deltas(diff)
        var additions = 0
        var deletions = 0
        for index in 0..<count {
            guard let delta = git_diff_get_delta(diff, index) else { continue }
            if delta.pointee.status == GIT_DELTA_TYPECHANGE {
                deletions += try typeChangeLines(delta.pointee.old_file)
                additions += try typeChangeLines(delta.pointee.new_file)
                continue
            }
            var patch: OpaquePointer?
            try LibGit2.check(git_patch_from_diff(&patch, diff, index), "git_patch_from_diff")
            defer { git_patch_free(patch) }
            var added = 0
            var removed = 0
            try LibGit2.check(git_patch_line_stats(nil, &added, &removed, patch), "git_patch_line_stats")
            additions += added
            deletions += removed
        }
        return CommitStats(filesChanged: count, additions: additions, deletions: deletions)
    }

    /// The lines of one side of a type change (a file replaced by a symlink or a submodule, or the reverse): git
    /// counts the old side's lines as deleted and the new side's as added (libgit2 makes no hunks for it). A binary
    /// blob counts 0, a submodule 1 (git's "Subproject commit <sha>" line).
    private mutating func typeChangeLines(_ file: git_diff_file) throws -> Int {
        if file.mode == UInt16(GIT_FILEMODE_COMMIT.rawValue) { return 1 }
        guard file.mode == UInt16(GIT_FILEMODE_BLOB.rawValue) || file.mode == UInt16(GIT_FILEMODE_BLOB_EXECUTABLE.rawValue)
            || file.mode == UInt16(GIT_FILEMODE_LINK.rawValue)
        else { return 0 }
        var id = file.id
        var blob: OpaquePointer?
        try LibGit2.check(git_blob_lookup(&blob, repository.handle, &id), "git_blob_lookup")
        defer { git_blob_free(blob) }
        var patch: OpaquePointer?
        try LibGit2.check(git_patch_from_blobs(&patch, blob, file.path, nil, nil, &diffOptions), "git_patch_from_blobs")
        defer { git_patch_free(patch) }
        var added = 0
        var removed = 0
        try LibGit2.check(git_patch_line_stats(nil, &added, &removed, patch), "git_patch_line_stats")
        return removed
    }
}

/// A person line of a commit header (`author Name <email> 1700000000 +0100`), split the way git's
/// `split_ident_line` does: the name is what precedes the first `<` (trailing spaces dropped), the e-mail runs to the
/// next `>`, then the time in seconds (the timezone is not kept).
struct Identity {
    var name = ""
    var email = ""
    var time: Int64 = 0

    init() {}

    init(authorOfHeader header: UnsafeBufferPointer<UInt8>) {
        let prefix = Array("author ".utf8)
        var lineStart = 0
        while lineStart < header.count {
            var lineEnd = lineStart
            while lineEnd < header.count, header[lineEnd] != 0x0A { lineEnd += 1 }
            if lineEnd - lineStart >= prefix.count,
                header[lineStart..<(lineStart + prefix.count)].elementsEqual(prefix)
            {
                self.init(line: UnsafeBufferPointer(rebasing: header[(lineStart + prefix.count)..<lineEnd]))
                return
            }
            lineStart = lineEnd + 1
        }
        self.init()
    }

    init(line: UnsafeBufferPointer<UInt8>) {
        guard let open = line.firstIndex(of: 0x3C) else {
            name = String(decoding: line, as: UTF8.self)
            return
        }
        var nameEnd = open
        while nameEnd > 0, line[nameEnd - 1] == 0x20 { nameEnd -= 1 }
        name = String(decoding: UnsafeBufferPointer(rebasing: line[0..<nameEnd]), as: UTF8.self)
        let close = line[(open + 1)...].firstIndex(of: 0x3E) ?? line.count
        email = String(decoding: UnsafeBufferPointer(rebasing: line[(open + 1)..<close]), as: UTF8.self)
        var index = close + 1
        while index < line.count, line[index] == 0x20 { index += 1 }
        var seconds: Int64 = 0
        while index < line.count, line[index] >= 0x30, line[index] <= 0x39 {
            seconds = seconds &* 10 &+ Int64(line[index] - 0x30)
            index += 1
        }
        time = seconds
    }
}
