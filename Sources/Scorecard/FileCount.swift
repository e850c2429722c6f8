import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts the regular files of a clone's tree the way the bundled Scorecard's walk lists them (`.git` skipped at
/// any depth, symbolic links neither counted nor followed), and stops as soon as the count passes a limit: the
/// runner's check before it spends a process on a tree too large to score (issue 10, finding 6).
enum FileCount {
    /// The number of regular files under `root`, or `limit + 1` as soon as there are more than `limit`.
    /// Unreadable folders count as empty. Uses the entry type `readdir` reports, so a tree of 200 000 files costs
    /// one `getdents` per few hundred entries and no `stat` (file systems that report no type fall back to `lstat`).
    static func regularFiles(under root: String, limit: Int) -> Int {
        var count = 0
        var folders = [root]
        while let folder = folders.popLast() {
            guard let dir = opendir(folder) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = Self.name(of: entry)
                if name == "." || name == ".." || name == ".git" { continue }
                let path = folder + "/" + name
                var type = entry.pointee.d_type
                if type == UInt8(DT_UNKNOWN) {
                    var info = stat()
                    guard lstat(path, &info) == 0 else { continue }
                    switch info.st_mode & S_IFMT {
                    case S_IFREG: type = UInt8(DT_REG)
                    case S_IFDIR: type = UInt8(DT_DIR)
                    default: continue
                    }
                }
                if type == UInt8(DT_DIR) {
                    folders.append(path)
                } else if type == UInt8(DT_REG) {
                    count += 1
                    if count > limit { return count }
                }
            }
        }
        return count
    }

    /// The entry's name, read up to its NUL: an entry is only `d_reclen` bytes long, so the 256-byte `d_name`
    /// tuple must not be copied whole (see `direntName` in ScorecardChecks).
    private static func name(of entry: UnsafeMutablePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \.d_name)!
        return String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
    }
}
