import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file of the clone, found by the walk.
public struct RepoFile: Sendable, Equatable {
    /// Path relative to the clone's root, `/`-separated, no leading `./`.
    public let path: String
    /// Size in bytes.
    public let size: Int64
    /// True when any execute bit is set.
    public let isExecutable: Bool
    /// The last path component. Stored, not derived on each use: checks ask for it of every file.
    public let name: String
    /// The extension after the last dot of the name, lower-cased, without the dot ("" when none).
    public let fileExtension: String

    /// A file at `path` (relative, `/`-separated).
    public init(path: String, size: Int64, isExecutable: Bool) {
        self.path = path
        self.size = size
        self.isExecutable = isExecutable
        let name = path.split(separator: "/").last.map(String.init) ?? path
        self.name = name
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            fileExtension = String(name[name.index(after: dot)...]).lowercased()
        } else {
            fileExtension = ""
        }
    }

    /// True for test data: a path under a `testdata/` or `src/test/` folder, at the root or deeper (case-sensitive).
    /// The official checks that read file contents skip these files (`isTestdataFile` in
    /// checks/fileparser/listing.go, applied by `OnMatchingFileContentDo`/`OnMatchingFileReaderDo`): Binary-Artifacts,
    /// Pinned-Dependencies, Fuzzing's language harnesses, SAST's `pom.xml`. Checks that go by name alone (License,
    /// Dependency-Update-Tool, Security-Policy's file) do not.
    public var isTestData: Bool {
        path.hasPrefix("testdata/") || path.contains("/testdata/") || path.hasPrefix("src/test/")
            || path.contains("/src/test/")
    }
}

/// A local clone as the checks see it: its regular files, walked once and indexed once (``index``), and capped,
/// symlink-safe reads.
///
/// A clone is untrusted: the walk never follows a symbolic link (a link is neither listed nor read, whether it
/// points to a file such as `/etc/passwd` or to a folder), skips `.git`, and stops at `maxFiles` files and
/// `maxDepth` folders deep. A read opens with `O_NOFOLLOW`, checks it got a regular file, and reads at most
/// `maxFileBytes`.
public final class CheckContext: Sendable {
    /// The clone's root folder.
    public let root: URL
    /// Every regular file of the clone, sorted by path, indexed: checks find files through it, never by scanning
    /// (issue 10, finding 6).
    public let index: FileIndex
    /// Symbolic links met during the walk (listed, never followed).
    public let skippedSymlinks: [String]
    /// True when the walk stopped at `maxFiles`.
    public let truncated: Bool
    /// Largest number of bytes read from one file.
    public let maxFileBytes: Int
    /// A folder of OSV JSON records for the Vulnerabilities check; nil: no vulnerability database.
    public let osvDirectory: URL?
    /// The GitHub Actions workflows of `.github/workflows`, parsed once.
    public let workflows: [WorkflowFile]

    /// The walk's cap on files when none is given: past it the walk stops and ``truncated`` is set.
    public static let defaultMaxFiles = 200_000

    /// Walks `root` (which must be a folder, not a link to one).
    /// - Parameters:
    ///   - maxFileBytes: cap on bytes read per file (1 MiB by default).
    ///   - maxFiles: cap on files listed.
    ///   - maxDepth: cap on folder depth.
    ///   - osvDirectory: a local folder of OSV records, if any.
    public init(
        root: URL, maxFileBytes: Int = 1 << 20, maxFiles: Int = CheckContext.defaultMaxFiles, maxDepth: Int = 48,
        osvDirectory: URL? = nil
    ) throws {
        let rootPath = root.standardizedFileURL.path
        var info = stat()
        guard lstat(rootPath, &info) == 0 else { throw CheckContextError.notAFolder(rootPath) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw CheckContextError.notAFolder(rootPath) }
        self.root = URL(fileURLWithPath: rootPath, isDirectory: true)
        self.maxFileBytes = maxFileBytes
        self.osvDirectory = osvDirectory
        var walker = Walker(maxFiles: maxFiles, maxDepth: maxDepth)
        walker.walk(absolute: rootPath, relative: "", depth: 0)
        self.index = FileIndex(walker.files.sorted { $0.path < $1.path })
        self.skippedSymlinks = walker.symlinks.sorted()
        self.truncated = walker.truncated
        // Workflows need reads, which need the fields above: parse them through a static helper.
        self.workflows = CheckContext.parseWorkflows(root: rootPath, index: self.index, maxFileBytes: maxFileBytes)
    }

    /// Every regular file of the clone, sorted by path (a check that must look at each one; counted as visiting all).
    public var files: [RepoFile] { index.all }

    /// The file at `path` (relative), if the walk listed it.
    public func file(_ path: String) -> RepoFile? {
        index.file(path)
    }

    /// Files whose path matches `predicate` (visits every file).
    public func files(where predicate: (RepoFile) -> Bool) -> [RepoFile] {
        index.all.filter(predicate)
    }

    /// At most `limit` (default `maxFileBytes`) bytes of the listed file at `path`; nil when it is not a listed
    /// regular file or cannot be opened without following a link.
    public func read(_ path: String, limit: Int? = nil) -> Data? {
        guard index.contains(path) else { return nil }
        return CheckContext.readCapped(root: root.path, relative: path, limit: min(limit ?? maxFileBytes, maxFileBytes))
    }

    /// The file at `path` as UTF-8 text (invalid bytes replaced), capped like `read`.
    public func text(_ path: String) -> String? {
        guard let data = read(path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func readCapped(root: String, relative: String, limit: Int) -> Data? {
        let full = root.hasSuffix("/") ? root + relative : root + "/" + relative
        let fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while data.count < limit {
            let want = min(buffer.count, limit - data.count)
            let got = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, want) }
            if got <= 0 { break }
            data.append(contentsOf: buffer[0..<got])
        }
        return data
    }

    static func parseWorkflows(root: String, index: FileIndex, maxFileBytes: Int) -> [WorkflowFile] {
        index.files(inLowercasedFolder: ".github/workflows").filter(WorkflowFile.isWorkflowPath).map { file in
            let data = readCapped(root: root, relative: file.path, limit: maxFileBytes) ?? Data()
            return WorkflowFile(path: file.path, text: String(decoding: data, as: UTF8.self))
        }
    }
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif

/// Why a clone could not be walked.
public enum CheckContextError: Error, CustomStringConvertible {
    /// The path is not a folder (or is a link).
    case notAFolder(String)

    public var description: String {
        switch self {
        case .notAFolder(let path): "not a folder (or a symbolic link): \(path)"
        }
    }
}

/// The walk itself: `opendir`/`readdir` and `lstat`, never following links.
private struct Walker {
    let maxFiles: Int
    let maxDepth: Int
    var files: [RepoFile] = []
    var symlinks: [String] = []
    var truncated = false

    init(maxFiles: Int, maxDepth: Int) {
        self.maxFiles = maxFiles
        self.maxDepth = maxDepth
    }

    mutating func walk(absolute: String, relative: String, depth: Int) {
        guard depth <= maxDepth, !truncated else { return }
        guard let dir = opendir(absolute) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = direntName(entry)
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        closedir(dir)
        for name in names.sorted() {
            if truncated { return }
            if name == ".git" { continue }
            let abs = absolute + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(abs, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                symlinks.append(rel)
            case S_IFDIR:
                walk(absolute: abs, relative: rel, depth: depth + 1)
            case S_IFREG:
                if files.count >= maxFiles {
                    truncated = true
                    return
                }
                files.append(RepoFile(path: rel, size: Int64(info.st_size), isExecutable: info.st_mode & 0o111 != 0))
            default:
                continue  // sockets, fifos, devices: never read
            }
        }
    }
}

/// The name of a directory entry, read up to its NUL and no further.
///
/// `d_name` is imported as a 256-byte tuple, but an entry in the buffer `readdir` returns is only `d_reclen` bytes
/// long (8-byte aligned, just past the name's NUL). Copying the tuple, as `withUnsafeBytes(of: entry.pointee.d_name)`
/// does, reads up to 255 bytes past a short entry; for the last entries of the buffer that is past the end of
/// glibc's allocation, which is undefined behaviour and can fault. `strlen` stops at the NUL, inside the entry.
func direntName(_ entry: UnsafeMutablePointer<dirent>) -> String {
    let offset = MemoryLayout<dirent>.offset(of: \.d_name)!
    return String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
}
