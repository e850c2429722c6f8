import Domain
import Foundation

/// RepoWatch's configuration, resolved from four layers (later wins):
/// built-in defaults < the YAML file (`config/repowatch.yaml`) < environment variables < command-line flags.
///
/// Every key is declared once in ``Settings/keys``, with its environment variable, its type and its
/// default; the file in `config/` and the README document the same list (a test keeps them in step).
/// An unknown key (in the file or as a `REPOWATCH_*` variable) or a bad value stops the start with a
/// message that names the key and where it came from — and never echoes a secret's value.
public struct Settings: Sendable, Equatable {
    public var httpHost: String
    public var httpPort: Int
    /// Connections idle this long are closed (`http.idle_timeout`).
    public var httpIdleTimeout: Duration
    /// Connections one process serves at once (`http.max_connections`); more wait in the listen backlog.
    public var httpMaxConnections: Int
    public var dataDir: String
    /// `postgres://…`; nil means the embedded SQLite file under `dataDir`.
    public var databaseURL: String?
    public var logLevel: String
    public var allowedHosts: HostPolicy
    public var caseInsensitiveHosts: Set<String>
    public var maxBodyBytes: Int
    public var notesMaxLength: Int
    public var pageSizeDefault: Int
    public var pageSizeMax: Int
    public var sqliteReaders: Int
    /// Seconds a key's lookup is reused; a revoked key may keep working that long in a running process.
    public var keyCacheSeconds: Int
    /// Longest a status answer is reused (changes drop it at once); 0 turns the status cache off.
    public var statusCacheMilliseconds: Int
    /// Queue name → jobs of it run at once by this process (workers role).
    public var workerConcurrency: [String: Int]
    /// Queue name → jobs claimed ahead of free slots.
    public var workerPrefetch: [String: Int]
    public var jobs: Jobs
    public var git: Git
    /// Base64 AES-256 key for repository tokens; nil when not configured (see ``tokenKeyFile``).
    public var tokenKey: String?
    public var scorecard: Scorecard
    public var recheck: Recheck
    /// How often the leader's reconcile pass runs (`pipeline.reconcile_interval`).
    public var reconcileInterval: Duration
    public var webhooks: Webhooks
    /// Live status streams (`live.*`).
    public var liveHeartbeat: Duration
    public var liveSlowClientTimeout: Duration
    /// The dashboard's sign-in (`dashboard.*`).
    public var dashboard: Dashboard

    /// The dashboard's sessions (`dashboard.*`).
    public struct Dashboard: Sendable, Equatable {
        /// How long a sign-in lasts.
        public var sessionTTL: Duration
        /// `auto` (Secure when the request came through TLS, as `X-Forwarded-Proto: https` says), `always`, `never`.
        public var secureCookie: String
    }

    /// Webhook deliveries (`webhooks.*`).
    public struct Webhooks: Sendable, Equatable {
        public var timeout: Duration
        public var connectTimeout: Duration
        public var maxResponseBytes: Int
        public var maxAttempts: Int
        public var retryBase: Duration
        public var retryMax: Duration
        public var disableAfterFailures: Int
        public var disableAfter: Duration
        /// Any public host, and these whatever their addresses.
        public var hosts: HostPolicy
        public var maxPerUser: Int
        public var secretOverlap: Duration
    }

    /// The health analysis's settings (`scorecard.*`).
    public struct Scorecard: Sendable, Equatable {
        public var command: String
        public var arguments: [String]
        public var githubToken: String?
        public var timeout: Duration
        /// Most files a clone may have to be analysed (`scorecard.max_files`).
        public var maxFiles: Int
        /// CPU time one run may use (`scorecard.cpu_limit`).
        public var cpuLimit: Duration
        public var cacheTTL: Duration
    }

    /// Scheduled re-checks (`recheck.*`).
    public struct Recheck: Sendable, Equatable {
        public var interval: Duration
        public var minimumInterval: Duration
        /// When the leader looks for due repositories (`@every 1m` or cron).
        public var schedule: String
        /// Base of the back-off after failed re-checks.
        public var failureBackoff: Duration
        /// Failed re-checks in a row (remote gone) before the repository becomes `failed`.
        public var maxFailures: Int
    }

    /// The git ingestion's settings (`git.*`).
    public struct Git: Sendable, Equatable {
        public var executable: String
        public var protocols: [String]
        public var historyWindow: Duration
        public var maxCommits: Int
        public var timeout: Duration
        public var maxCloneBytes: Int64
        public var cacheBudgetBytes: Int64
        /// This host's clone cache; nil: `data_dir/clones`.
        public var cloneDir: String?
    }

    /// The job queue's settings (`jobs.*`).
    public struct Jobs: Sendable, Equatable {
        public var maxAttempts: Int
        public var retryBase: Duration
        public var retryMax: Duration
        public var lease: Duration
        public var pollInterval: Duration
        public var rescueInterval: Duration
        public var shutdownGrace: Duration
        public var retentionAge: Duration
        public var retentionCount: Int
        public var discardedRetentionAge: Duration
        public var discardedRetentionCount: Int
        public var pruneSchedule: String
    }

    /// The SQLite file used when no database URL is set.
    public var sqlitePath: String { (dataDir as NSString).appendingPathComponent("repowatch.sqlite") }
    /// Where cached clones live: one folder per repository.
    public var clonesPath: String { git.cloneDir ?? (dataDir as NSString).appendingPathComponent("clones") }
    /// The token key created on first use when `secrets.token_key` is empty and the store is the SQLite file.
    public var tokenKeyFile: String { (dataDir as NSString).appendingPathComponent("token.key") }

    /// Canonicalises a user's URL with the configured hosts, then checks the allowlist.
    public func repositoryURL(_ input: String) throws(RepositoryURLError) -> RepositoryURL {
        let url = try RepositoryURL(parsing: input, caseInsensitiveHosts: caseInsensitiveHosts, httpsHosts: caseInsensitiveHosts)
        try allowedHosts.check(url)
        return url
    }
}

/// A configuration problem, reported at start.
public struct SettingsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
