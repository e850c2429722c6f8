import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The clones of this host: one folder per repository under `root`, within a disk budget.
///
/// Each repository's clone is used under an exclusive `flock` on `<root>.locks/<id>.lock`, so the stages of one
/// repository (a re-check's fetch and a backfill's read, say) never touch its clone at the same time, in
/// this process or another on the same host. The locks live beside the cache, not in it: an operator (or a
/// disk clean-up) removing the whole cache folder under running jobs removes clones, never the locks that keep
/// two users of one clone apart. Beyond the budget, the least recently used clones that nobody holds are removed;
/// any stage that finds its clone missing makes it again (a clone is a cache: the store is the source of truth).
/// Hosts sharing a PostgreSQL each keep their own cache.
public struct CloneCache: Sendable {
    public let root: URL
    public let budgetBytes: Int64
    let logger: Logger

    public init(root: URL, budgetBytes: Int64, logger: Logger) {
        self.root = root
        self.budgetBytes = budgetBytes
        self.logger = logger
    }

    /// The folder of a repository's clone (it may not exist).
    public func directory(for id: UUID) -> URL {
        root.appendingPathComponent(id.uuidString.lowercased(), isDirectory: true)
    }

    /// Runs `body` with the repository's clone folder held exclusively, and marks it used.
    public func withClone<T: Sendable>(_ id: UUID, _ body: (URL) async throws -> T) async throws -> T {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let lock = try await FileLock.acquire(path: lockPath(id).path)
        defer { lock.release() }
        let directory = directory(for: id)
        let result = try await body(directory)
        markUsed(directory)
        return result
    }

    /// Removes a repository's clone (when nobody watches it any more), waiting for its current user.
    public func remove(_ id: UUID) async throws {
        let lock = try await FileLock.acquire(path: lockPath(id).path)
        defer { lock.release() }
        try? FileManager.default.removeItem(at: directory(for: id))
        // The lock file is unlinked while held: a waiter that opened it before sees the inode change and opens the
        // path again (FileLock.tryAcquire), so the removal never lets two holders in.
        try? FileManager.default.removeItem(at: lockPath(id))
    }

    /// Which folder `directory` is now (device and inode), nil when there is none: a stage compares it before and
    /// after reading a clone to know the clone was not removed — or removed and made again — while it read.
    public static func identity(of directory: URL) -> [UInt64]? {
        var info = stat()
        guard lstat(directory.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    /// Removes the least recently used clones nobody holds until the cache fits its budget.
    /// - Returns: the repositories whose clones were removed.
    @discardableResult
    public func evict(keeping keep: UUID? = nil) -> [UUID] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: root.path) else { return [] }
        var clones: [(id: UUID, url: URL, used: Date, bytes: Int64)] = []
        for name in names {
            guard let id = UUID(uuidString: name) else { continue }
            let url = root.appendingPathComponent(name, isDirectory: true)
            clones.append((id, url, lastUsed(url), Self.diskUsage(url)))
        }
        var total = clones.reduce(0) { $0 + $1.bytes }
        var removed: [UUID] = []
        for clone in clones.sorted(by: { $0.used < $1.used }) where total > budgetBytes {
            guard clone.id != keep, let lock = FileLock.tryAcquire(path: lockPath(clone.id).path) else { continue }
            defer { lock.release() }
            try? manager.removeItem(at: clone.url)
            total -= clone.bytes
            removed.append(clone.id)
            logger.info("evicted a clone from the cache", metadata: ["repository": "\(clone.id)", "bytes": "\(clone.bytes)"])
        }
        return removed
    }

    /// Bytes a folder takes on disk (allocated blocks), without following symbolic links.
    public static func diskUsage(_ url: URL) -> Int64 {
        var total: Int64 = 0
        var stack = [url.path]
        while let path = stack.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            total += Int64(info.st_blocks) * 512
            if (info.st_mode & S_IFMT) == S_IFDIR, let children = try? FileManager.default.contentsOfDirectory(atPath: path) {
                stack.append(contentsOf: children.map { path + "/" + $0 })
            }
        }
        return total
    }

    /// Where the locks live: `<root>.locks/`, beside the cache folder.
    var lockFolder: URL {
        root.deletingLastPathComponent().appendingPathComponent(root.lastPathComponent + ".locks", isDirectory: true)
    }

    private func lockPath(_ id: UUID) -> URL { lockFolder.appendingPathComponent(id.uuidString.lowercased() + ".lock") }

    private func markUsed(_ directory: URL) {
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: directory.path)
    }

    private func lastUsed(_ directory: URL) -> Date {
        (try? FileManager.default.attributesOfItem(atPath: directory.path)[.modificationDate] as? Date) ?? .distantPast
    }
}

/// An exclusive advisory lock on a file (`flock`), released on `release()` or when the process dies.
final class FileLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Takes the lock, waiting (without blocking a thread) while another holder has it; makes the lock's folder
    /// when it is missing (removed under us).
    static func acquire(path: String) async throws -> FileLock {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        while true {
            if let lock = tryAcquire(path: path) { return lock }
            if !FileManager.default.fileExists(atPath: folder.path) {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                continue
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Takes the lock if nobody holds it (nil otherwise, and when the lock's folder is missing).
    ///
    /// A lock counts only on the file the path names when it is taken: if the file was unlinked between our
    /// `open` and our `flock` (its holder removed it, or its folder was removed), another caller may already hold
    /// a lock on a new file at the same path, so this one is dropped and the caller tries again.
    static func tryAcquire(path: String) -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        var held = stat()
        var named = stat()
        guard fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_dev == named.st_dev, held.st_ino == named.st_ino else {
            close(fd)
            return nil
        }
        return FileLock(descriptor: fd)
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
