import CLibGit2
import Foundation
import Synchronization

/// Process-wide libgit2 set-up and small wrappers used by ``LibGit2HistoryReader``. Every handle here belongs to one
/// thread at a time: libgit2 objects are not shared across threads (one `git_repository` per thread).
enum LibGit2 {
    /// Initialises libgit2 once per process: no system, XDG or global configuration (like `GIT_CONFIG_NOSYSTEM`
    /// and `GIT_CONFIG_GLOBAL=/dev/null` for git), and no hash check of every object read (git does not do it
    /// either when reading; it costs a SHA-1 per object).
    static let initialized: Bool = {
        git_libgit2_init()
        _ = repowatch_git_clear_config_search_paths()
        _ = repowatch_git_set_strict_hash_verification(0)
        return true
    }()

    /// Throws the last libgit2 error when `code` is negative.
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
        if code < 0 { throw error(code, operation()) }
    }

    /// The error for `code`, with `git_error_last`'s message.
    static func error(_ code: Int32, _ operation: String) -> GitHistoryError {
        var message = "error \(code)"
        if let last = git_error_last(), let text = last.pointee.message { message = String(cString: text) }
        return GitHistoryError(.libgit2(code: code), operation: operation, message: message)
    }
}

/// A git object id as a hashable value (20 bytes).
struct ObjectID: Hashable {
    var raw: git_oid

    init(_ raw: git_oid) { self.raw = raw }

    init?(hex: String) {
        guard RepositoryLayout.isSHA(hex) else { return nil }
        var oid = git_oid()
        guard git_oid_fromstrn(&oid, hex, 40) == 0 else { return nil }
        raw = oid
    }

    /// The 40 lower-case hex digits.
    var hex: String {
        withUnsafeBytes(of: raw.id) { bytes in
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            return String(unsafeUninitializedCapacity: 40) { buffer in
                for (index, byte) in bytes.enumerated() {
                    buffer[2 * index] = digits[Int(byte >> 4)]
                    buffer[2 * index + 1] = digits[Int(byte & 0x0F)]
                }
                return 40
            }
        }
    }

    static func == (lhs: ObjectID, rhs: ObjectID) -> Bool {
        var left = lhs.raw
        var right = rhs.raw
        return git_oid_equal(&left, &right) != 0
    }

    func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: raw.id) { hasher.combine(bytes: $0) }
    }
}

/// An open repository, used by one thread.
final class Repository {
    let handle: OpaquePointer
    /// The shallow boundary (the commits listed in `<common git dir>/shallow`).
    let shallow: Set<ObjectID>

    init(path: String) throws {
        _ = LibGit2.initialized
        var handle: OpaquePointer?
        try LibGit2.check(
            git_repository_open_ext(&handle, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil),
            "git_repository_open_ext")
        guard let handle else { throw LibGit2.error(-1, "git_repository_open_ext") }
        self.handle = handle
        var shallow = Set<ObjectID>()
        if let commondir = git_repository_commondir(handle) {
            let directory = URL(fileURLWithPath: String(cString: commondir))
            for sha in RepositoryLayout.shallowCommits(inGitDirectory: directory) {
                if let id = ObjectID(hex: sha) { shallow.insert(id) }
            }
        }
        self.shallow = shallow
    }

    deinit { git_repository_free(handle) }

    /// Looks a commit up; the caller frees it with `git_commit_free`.
    func commit(_ id: ObjectID) throws -> OpaquePointer {
        var oid = id.raw
        var commit: OpaquePointer?
        try LibGit2.check(git_commit_lookup(&commit, handle, &oid), "git_commit_lookup \(id.hex)")
        guard let commit else { throw LibGit2.error(-1, "git_commit_lookup \(id.hex)") }
        return commit
    }

    /// The commit a revision (`HEAD`, a branch, a sha) names; nil when HEAD is unborn.
    func resolve(_ revision: String?) throws -> ObjectID? {
        if revision == nil, git_repository_head_unborn(handle) == 1 { return nil }
        var object: OpaquePointer?
        let code = git_revparse_single(&object, handle, revision ?? "HEAD")
        if code == GIT_ENOTFOUND.rawValue || code == GIT_EAMBIGUOUS.rawValue || code == GIT_EINVALIDSPEC.rawValue {
            throw GitHistoryError(
                .unknownRevision, operation: "walk", message: "no commit \((revision ?? "HEAD").debugDescription)")
        }
        try LibGit2.check(code, "git_revparse_single")
        guard let object else { return nil }
        defer { git_object_free(object) }
        var peeled: OpaquePointer?
        let peel = git_object_peel(&peeled, object, GIT_OBJECT_COMMIT)
        guard peel == 0, let peeled else {
            throw GitHistoryError(
                .unknownRevision, operation: "walk", message: "\((revision ?? "HEAD").debugDescription) is not a commit")
        }
        defer { git_object_free(peeled) }
        guard let id = git_object_id(peeled) else { return nil }
        return ObjectID(id.pointee)
    }

    /// True when the object exists and is a commit.
    func hasCommit(_ id: ObjectID) -> Bool {
        var oid = id.raw
        var commit: OpaquePointer?
        guard git_commit_lookup(&commit, handle, &oid) == 0, let commit else { return false }
        git_commit_free(commit)
        return true
    }
}

/// Set when the task that started blocking work is cancelled; the work checks it between commits.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isCancelled: Bool { value.load(ordering: .relaxed) }
    func cancel() { value.store(true, ordering: .relaxed) }
}

/// Runs blocking work on a new thread, off Swift's cooperative pool (which has only as many threads as cores).
func onDedicatedThread<T: Sendable>(
    _ body: @escaping @Sendable (CancellationFlag) throws -> T
) async throws -> T {
    try Task.checkCancellation()
    let flag = CancellationFlag()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try body(flag) })
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
    } onCancel: {
        flag.cancel()
    }
}
