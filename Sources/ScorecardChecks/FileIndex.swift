import Synchronization

/// The clone's files, indexed once after the walk, so that what a check looks up costs a dictionary access
/// and the files found, not a scan of the tree.
///
/// Issue 10, finding 6: with a read first searching the whole file list for its path, a commit of 200 000 files
/// kept the bundled Scorecard at a full core past its 10-minute limit (quadratic: 12 500 files took 13.2 s,
/// 25 000 45.1 s in a debug build; indexed, 1.1 s and 2.0 s). Every lookup a check makes goes through here, and the index counts
/// the file records it hands out (``work``), so a test can prove the checks' cost linear without timing them.
public final class FileIndex: Sendable {
    /// Every file, sorted by path: the order every lookup's answer keeps.
    public let files: [RepoFile]
    private let byPath: [String: Int]
    /// Lower-cased path → files, only for paths that are not lower-case already (those are found in `byPath`):
    /// most repositories' paths are, and a second key per file would cost a string each.
    private let byMixedCasePath: [String: [Int]]
    private let byName: Buckets
    private let byExtension: Buckets
    /// Files directly in a folder, by the folder's lower-cased path ("" for the root).
    private let byLowercasedFolder: Buckets
    private let counter = Atomic<Int>(0)

    /// Indexes `files`, which must be sorted by path (as the walk lists them).
    public init(_ files: [RepoFile]) {
        self.files = files
        var byPath: [String: Int] = [:]
        var byMixedCasePath: [String: [Int]] = [:]
        var byName = Buckets(count: files.count)
        var byExtension = Buckets(count: files.count)
        var byLowercasedFolder = Buckets(count: files.count)
        byPath.reserveCapacity(files.count)
        for (index, file) in files.enumerated() {
            byPath[file.path] = index
            let lower = file.path.lowercased()
            if lower != file.path { byMixedCasePath[lower, default: []].append(index) }
            byName.add(index, key: file.name)
            byExtension.add(index, key: file.fileExtension)
            byLowercasedFolder.add(index, key: lower.lastIndex(of: "/").map { String(lower[..<$0]) } ?? "")
        }
        byName.seal()
        byExtension.seal()
        byLowercasedFolder.seal()
        self.byPath = byPath
        self.byMixedCasePath = byMixedCasePath
        self.byName = byName
        self.byExtension = byExtension
        self.byLowercasedFolder = byLowercasedFolder
    }

    /// File records handed out and lookups made since the index was built: the checks' work in units that do
    /// not depend on the machine. A lookup counts 1 plus the files it returns; ``all`` counts every file.
    public var work: Int { counter.load(ordering: .relaxed) }

    /// Every file, for a check that must look at each one (Binary-Artifacts, say); counts as visiting them all.
    public var all: [RepoFile] {
        count(files.count)
        return files
    }

    /// The file at exactly `path`.
    public func file(_ path: String) -> RepoFile? {
        count(1)
        return byPath[path].map { files[$0] }
    }

    /// True when the walk listed a regular file at exactly `path`.
    public func contains(_ path: String) -> Bool {
        count(1)
        return byPath[path] != nil
    }

    /// Files whose path, lower-cased, is one of `paths` (given lower-cased), in path order.
    public func files(lowercasedPaths paths: some Sequence<String>) -> [RepoFile] {
        lookup(paths.map { path in (byPath[path].map { [$0] } ?? []) + (byMixedCasePath[path] ?? []) })
    }

    /// Files called exactly `name` (the last path component), anywhere, in path order.
    public func files(named name: String) -> [RepoFile] {
        lookup([byName.indices(name)])
    }

    /// Files whose extension (lower-cased, without the dot; "" for none) is one of `extensions`, in path order.
    public func files(withExtensions extensions: some Sequence<String>) -> [RepoFile] {
        lookup(extensions.map { byExtension.indices($0) })
    }

    /// Files directly in the folder whose path, lower-cased, is `folder` ("" for the root), in path order.
    public func files(inLowercasedFolder folder: String) -> [RepoFile] {
        lookup([byLowercasedFolder.indices(folder)])
    }

    /// The lower-cased names of the root's folders that hold files directly, sorted; counts 1 plus one per folder
    /// of the tree that holds files (each is looked at).
    public func lowercasedTopLevelFolders() -> [String] {
        let folders = byLowercasedFolder.keys
        count(1 + folders.count)
        return folders.filter { !$0.isEmpty && !$0.contains("/") }.sorted()
    }

    private func lookup(_ groups: [[Int]]) -> [RepoFile] {
        // One group is already in path order; several are merged back into it.
        let indices = groups.count == 1 ? groups[0] : groups.joined().sorted()
        count(1 + indices.count)
        return indices.map { files[$0] }
    }

    private func count(_ units: Int) {
        counter.add(units, ordering: .relaxed)
    }
}

/// Files grouped by a key, as chains through the file list: the first file of each key, and for each file the
/// next one with the same key. One dictionary entry per key and four bytes per file, where an array per key
/// cost a heap allocation per file name (a 200 000-file tree has about as many names).
private struct Buckets: Sendable {
    private var first: [String: Int32] = [:]
    private var last: [String: Int32] = [:]
    private var next: [Int32]

    init(count: Int) {
        next = [Int32](repeating: -1, count: count)
    }

    /// Adds file `index`; files must be added in increasing index order.
    mutating func add(_ index: Int, key: String) {
        let index = Int32(index)
        if let tail = last[key] {
            next[Int(tail)] = index
        } else {
            first[key] = index
        }
        last[key] = index
    }

    /// Adding is over: drops what only adding needed.
    mutating func seal() {
        last = [:]
    }

    /// Every key that has files.
    var keys: Dictionary<String, Int32>.Keys { first.keys }

    /// The files of `key`, in index order.
    func indices(_ key: String) -> [Int] {
        var result: [Int] = []
        var current = first[key] ?? -1
        while current >= 0 {
            result.append(Int(current))
            current = next[Int(current)]
        }
        return result
    }
}
