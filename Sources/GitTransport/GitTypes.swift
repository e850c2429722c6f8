import Domain

/// A remote repository to read from, with an optional access token.
///
/// The token reaches git only through its environment, as an HTTP header
/// (`http.extraHeader=Authorization: Basic base64("x-access-token:<token>")`, passed with
/// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0`): never on a command line, never in the URL,
/// never in a log line or an error. GitHub accepts installation and personal access tokens this way
/// (any user name, the token as password); GitLab accepts personal, project and group access tokens
/// the same way (any non-empty user name). Credentials written into the URL (`https://user:pass@host/…`)
/// are taken out of it and sent the same way when no token is given.
public struct GitRemote: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The clone URL (`https://host/owner/name.git`).
    public var url: String
    /// An access token; never logged, never in argv.
    public var token: String?
    /// Addresses git must connect to, as curl `HOST:PORT:ADDRESS[,ADDRESS…]` entries (`http.curloptResolve`):
    /// the addresses the egress policy checked, so that a name rebound between the check and the connection
    /// (DNS rebinding) cannot send git elsewhere. Empty: git resolves the name itself.
    public var pinnedAddresses: [String]

    /// Creates a remote.
    public init(url: String, token: String? = nil, pinnedAddresses: [String] = []) {
        self.url = url
        self.token = token
        self.pinnedAddresses = pinnedAddresses
    }

    /// The URL without credentials; the token is never shown.
    public var description: String {
        "GitRemote(url: \(SecretScrubber.scrubURLCredentials(url)), token: \(token == nil ? "none" : "<redacted>"))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// Keeps the token out of `dump(_:)` and debugger views.
    public var customMirror: Mirror {
        Mirror(self, children: ["url": SecretScrubber.scrubURLCredentials(url), "token": token == nil ? "none" : "<redacted>"])
    }
}

/// Limits applied to each operation (one `lsRemote`, `clone` or `fetch` call, every git process it runs).
public struct GitLimits: Sendable {
    /// Wall-clock time for the whole operation; past it git's whole process group is killed.
    public var timeout: Duration
    /// Largest size on disk (allocated blocks, like `du`) of the clone directory, temporary pack files
    /// included; past it git's process group is killed. Checked about every 100–250 ms.
    public var maxBytes: Int64

    /// Creates limits.
    public init(timeout: Duration, maxBytes: Int64) {
        self.timeout = timeout
        self.maxBytes = maxBytes
    }
}

/// The remote's default branch and its head commit (`git ls-remote --symref <url> HEAD`).
public struct RemoteHead: Sendable, Equatable {
    /// The commit HEAD points to (40 hex digits).
    public var sha: String
    /// The default branch's short name (`main`, `trunk`, …).
    public var branch: String

    /// Creates a value.
    public init(sha: String, branch: String) {
        self.sha = sha
        self.branch = branch
    }
}

/// What a clone produced.
public struct CloneResult: Sendable, Equatable {
    /// The checked-out commit.
    public var head: String
    /// The branch checked out (the remote's default branch).
    public var branch: String
    /// Whether the clone has a shallow boundary (`.git/shallow`).
    public var isShallow: Bool
    /// No commit was inside the window, so the clone fell back to `--depth 1`.
    public var windowWasEmpty: Bool
    /// What it took to bring in the window's commits that `--shallow-since` cut off behind merges.
    public var window: WindowCompletion

    /// Creates a value.
    public init(head: String, branch: String, isShallow: Bool, windowWasEmpty: Bool, window: WindowCompletion = .untouched) {
        self.head = head
        self.branch = branch
        self.isShallow = isShallow
        self.windowWasEmpty = windowWasEmpty
        self.window = window
    }
}

/// What a fetch into an existing clone produced.
public struct FetchResult: Sendable, Equatable {
    /// The commit checked out before the fetch.
    public var previousHead: String
    /// The commit checked out now.
    public var head: String
    /// The clone's branch.
    public var branch: String
    /// What it took to bring in the window's commits that `--shallow-since` cut off behind merges.
    public var window: WindowCompletion

    /// Creates a value.
    public init(previousHead: String, head: String, branch: String, window: WindowCompletion = .untouched) {
        self.previousHead = previousHead
        self.head = head
        self.branch = branch
        self.window = window
    }

    /// Whether anything new arrived.
    public var changed: Bool { previousHead != head }
}

/// Why a git operation failed. Texts are scrubbed of tokens and URL credentials.
public enum GitFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The repository does not exist (HTTP 404, "repository not found", …) or is not visible.
    case notFound
    /// The server wants credentials, or refused the ones given (HTTP 401/403).
    case authenticationRequired
    /// The clone grew past the size cap.
    case tooLarge(limitBytes: Int64)
    /// The operation ran past its time limit.
    case timedOut(Duration)
    /// The repository has no commit.
    case emptyRepository
    /// The URL's scheme (`ssh`, `file`, `git`, `ext`, …) is not among the allowed protocols.
    case protocolNotAllowed(String)
    /// The server answered with a redirect (HTTP 3xx), to the `host[:port]` of its `Location` when it gave one.
    /// Redirects are never followed: the repository's URL is the one that was allowed, and its credentials are
    /// for it alone.
    case redirected(status: Int, to: String?)
    /// The server asked us to slow down — HTTP 429, or a 403 whose headers say the rate limit is spent
    /// (`X-RateLimit-Remaining: 0`, `Retry-After`) — and, when its headers said, how long to wait: worth
    /// retrying after that, never a reason to give up.
    case rateLimited(retryAfter: Duration?)
    /// Anything else; the payload is the scrubbed tail of git's standard error (at most 4 KiB).
    case failed(String)

    /// Whether retrying cannot help (`notFound`, `authenticationRequired`, `tooLarge`, `emptyRepository`,
    /// `protocolNotAllowed`); `timedOut`, `rateLimited` and `failed` are worth retrying later.
    public var isPermanent: Bool {
        switch self {
        case .notFound, .authenticationRequired, .tooLarge, .emptyRepository, .protocolNotAllowed, .redirected: true
        case .timedOut, .rateLimited, .failed: false
        }
    }

    /// A short machine-readable code: `not_found`, `auth_required`, `too_large`, `timed_out`,
    /// `empty_repository`, `protocol_not_allowed`, `redirected`, `rate_limited`, `git_failed`.
    public var reason: String {
        switch self {
        case .notFound: "not_found"
        case .authenticationRequired: "auth_required"
        case .tooLarge: "too_large"
        case .timedOut: "timed_out"
        case .emptyRepository: "empty_repository"
        case .protocolNotAllowed: "protocol_not_allowed"
        case .redirected: "redirected"
        case .rateLimited: "rate_limited"
        case .failed: "git_failed"
        }
    }

    /// A human-readable sentence.
    public var description: String {
        switch self {
        case .notFound: "repository not found"
        case .authenticationRequired: "authentication required or refused"
        case .tooLarge(let limit): "repository larger than the limit of \(limit) bytes"
        case .timedOut(let duration): "git timed out after \(duration)"
        case .emptyRepository: "repository is empty"
        case .protocolNotAllowed(let scheme): "protocol not allowed: \(scheme)"
        case .redirected(let status, let host):
            "the server answered HTTP \(status), a redirect to \(host.map { "host \($0)" } ?? "another URL"); redirects are not followed (add the repository by its final URL)"
        case .rateLimited(let retryAfter):
            "the server's rate limit is spent\(retryAfter.map { " (it asked to wait \($0.components.seconds) s)" } ?? ""); tried again later"
        case .failed(let stderr): "git failed: \(stderr)"
        }
    }
}
