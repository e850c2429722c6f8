import Domain
import Egress
import Foundation
import GitHistory
import GitTransport
import Logging
import Pipeline
import Queue
import Store

/// What the ingestion stages share: where clones live, how git is run, the history window, the token key.
public struct Ingestion: Sendable {
    public var cache: CloneCache
    public var git: GitClient
    public var history: any HistoryReader
    /// How far back commits are kept, counted from the moment a stage runs.
    public var window: Duration
    /// At most this many commits of the window are stored.
    public var maxCommits: Int
    /// Opens the tokens of private repositories; nil when none is configured.
    public var tokens: TokenCipher?
    /// The egress policy every fetch passes first (nil: none, for tests of other things): the allowlist read now
    /// (a host removed from it is no longer fetched from, whatever entries it has), the resolved addresses, the pin.
    public var egress: EgressPolicy?
    /// Commits read and stored per transaction (and per progress report).
    public var batchSize: Int
    /// What a stage's end means for its repository: the owner of the lifecycle.
    public var lifecycle: Lifecycle
    public var clock: @Sendable () -> Date

    public init(
        cache: CloneCache, git: GitClient, history: any HistoryReader, window: Duration, maxCommits: Int, tokens: TokenCipher?,
        batchSize: Int = 500, lifecycle: Lifecycle, egress: EgressPolicy? = nil, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.egress = egress
        self.cache = cache
        self.git = git
        self.history = history
        self.window = window
        self.maxCommits = maxCommits
        self.tokens = tokens
        self.batchSize = batchSize
        self.lifecycle = lifecycle
        self.clock = clock
    }

    /// Makes sure the clone in `directory` holds `head` — and, with `checkout`, has its work tree on it:
    /// fetches (or clones afresh) when it does not. False when the remote no longer has `head` (a force
    /// push): the stage cannot do its work for that head, and the run's setup must look again.
    public func ensure(
        _ head: String, of work: RepositoryWork, in directory: URL, checkout: Bool = false, now: Date, logger: Logger
    ) async throws -> Bool {
        let remote = try await remote(for: work)
        let git = git
        func has() async throws -> Bool {
            checkout ? try await git.checkout(head, in: directory, remote: remote) : try await git.contains(head, in: directory, remote: remote)
        }
        do {
            if Self.isClone(directory), try await has() { return true }
            _ = try await refreshClone(remote, in: directory, now: now, logger: logger)
            return try await has()
        } catch let failure as GitFailure {
            throw Self.pipelineError(failure)
        }
    }

    /// Registers the handlers of `repository-setup`, `commit-backfill` and `repository-cleanup`.
    /// - Parameter timeout: bounds one attempt of a setup or backfill (each git operation has its own, shorter, limit).
    public func register(into registry: inout JobRegistry, timeout: Duration) {
        registry.register(RepositorySetupHandler(ingestion: self), timeout: timeout)
        registry.register(CommitBackfillHandler(ingestion: self), timeout: timeout)
        registry.register(RepositoryCleanupHandler(ingestion: self), timeout: .seconds(600))
    }

    func windowStart(at now: Date) -> Date { now.addingTimeInterval(-window.seconds) }

    /// The remote to fetch from, with the repository's token opened for this one use — if the egress policy allows
    /// the connection now (`host_not_allowed` or `private_address`, not retried; `unresolved`, retried like a
    /// network error). git is pinned to the addresses the policy checked (`http.curloptResolve`).
    public func remote(for work: RepositoryWork) async throws -> GitRemote {
        let url = work.repository.url
        var pinned: [String] = []
        if let egress {
            do {
                pinned = try await egress.authorize(url).curlResolveEntries
            } catch {
                throw PipelineFailure(reason: error.code.rawValue, message: error.message)
                    .thrown(permanent: error.code != .unresolved)
            }
        }
        var token: String?
        if let sealed = work.sealedToken {
            guard let tokens else {
                throw PipelineFailure(reason: "token_unavailable", message: "no token key is configured to open the repository's token")
                    .thrown(permanent: true)
            }
            do {
                token = try tokens.open(sealed, boundTo: work.repository.id)
            } catch {
                throw PipelineFailure(reason: "token_unavailable", message: "\(error)").thrown(permanent: true)
            }
        }
        return GitRemote(url: url.canonical, token: token, pinnedAddresses: pinned)
    }

    /// Makes sure `directory` holds a clone of the repository, current as of now: fetches into a
    /// cached clone, or clones afresh when there is none (or the cached one is broken).
    public func refreshClone(_ remote: GitRemote, in directory: URL, now: Date, logger: Logger) async throws -> CloneState {
        let since = windowStart(at: now)
        if Self.isClone(directory) {
            do {
                let fetched = try await git.fetch(remote, in: directory, since: since)
                return CloneState(head: fetched.head, branch: fetched.branch, windowEmpty: false, fetched: true)
            } catch let failure as GitFailure where !failure.isPermanent && failure.reason != "rate_limited" {
                // A clone that cannot be fetched into is rebuilt on the next attempt rather than retried as it is
                // (not when the host throttled us: a clone from scratch would cost it more than the fetch did).
                logger.warning("fetch into the cached clone failed; it will be cloned afresh", metadata: ["error": "\(failure)"])
                try? FileManager.default.removeItem(at: directory)
                throw Self.pipelineError(failure)
            } catch let failure as GitFailure {
                throw Self.pipelineError(failure)
            }
        }
        try? FileManager.default.removeItem(at: directory)
        do {
            let cloned = try await git.clone(remote, into: directory, since: since)
            return CloneState(head: cloned.head, branch: cloned.branch, windowEmpty: cloned.windowWasEmpty, fetched: false)
        } catch let failure as GitFailure {
            try? FileManager.default.removeItem(at: directory)
            throw Self.pipelineError(failure)
        }
    }

    /// What a clone or fetch left in the cache.
    public struct CloneState: Sendable {
        public var head: String
        public var branch: String
        public var windowEmpty: Bool
        public var fetched: Bool
    }

    /// True when `directory` holds a clone (its `.git/HEAD` exists).
    public static func isClone(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git/HEAD").path)
    }

    /// A git failure as the job sees it: permanent ones are not retried; a rate limit is retried no sooner than the
    /// host asked (capped by the queue's maximum retry delay).
    static func pipelineError(_ failure: GitFailure) -> any Error {
        let pipelineFailure = PipelineFailure(reason: failure.reason, message: failure.description)
        if case .rateLimited(let wait?) = failure {
            return JobFailure.retry(noSoonerThan: wait, reason: pipelineFailure.description)
        }
        return pipelineFailure.thrown(permanent: failure.isPermanent)
    }

    /// The repository's `.mailmap` at the head: a regular file of at most 64 KiB, else nil.
    static func readMailmap(in directory: URL) -> String? {
        let path = directory.appendingPathComponent(".mailmap").path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType == .typeRegular,
            let size = attributes[.size] as? Int, size <= 65_536,
            let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Commit {
    init(_ record: CommitRecord) {
        self.init(
            sha: record.sha, parents: record.parents, authorName: record.authorName, authorEmail: record.authorEmail,
            authoredAt: record.authorDate, committedAt: record.committerDate, summary: record.summary,
            stats: record.stats.map { Commit.Stats(filesChanged: $0.filesChanged, additions: $0.additions, deletions: $0.deletions) })
    }
}
