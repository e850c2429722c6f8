import Domain
import Foundation

extension Settings {
    /// What kind of value a key holds.
    public enum Kind: Sendable, Equatable {
        case string
        case integer(ClosedRange<Int>)
        case list
        case choice([String])
        /// `500ms`, `30s`, `5m`, `24h`, `7d`, within the range.
        case duration(ClosedRange<Double>)
        /// `queue=N` pairs, comma-separated.
        case concurrency
    }

    /// One configuration key.
    public struct Key: Sendable {
        /// Dotted name, as in the YAML file: `http.port`.
        public let name: String
        /// Environment variables that set it, preferred first.
        public let environment: [String]
        public let kind: Kind
        /// The built-in default, as text (a list is comma-separated).
        public let defaultValue: String
        /// Secret values (a database URL may hold a password) are never echoed in errors.
        public let isSecret: Bool
        public let summary: String

        init(_ name: String, env extra: [String] = [], _ kind: Kind, _ defaultValue: String, secret: Bool = false, _ summary: String) {
            self.name = name
            self.environment = ["REPOWATCH_" + name.uppercased().replacingOccurrences(of: ".", with: "_")] + extra
            self.kind = kind
            self.defaultValue = defaultValue
            self.isSecret = secret
            self.summary = summary
        }
    }

    /// Every key RepoWatch reads. Add a key here, in `config/repowatch.yaml` and in the README.
    public static let keys: [Key] = [
        Key("http.host", .string, "127.0.0.1", "Address the HTTP API listens on."),
        Key("http.port", .integer(0...65535), "8080", "Port of the HTTP API (0 picks a free port)."),
        Key("http.max_connections", .integer(8...1_000_000), "1024",
            "Connections one process serves at once; further ones wait, unanswered, until one closes."),
        Key("http.idle_timeout", .duration(1...3600), "30s", "A connection that sends nothing for this long (no request, or a request left half-sent) is closed."),
        Key("data_dir", .string, "./data", "Folder for the SQLite database (and, later, clones)."),
        Key("database.url", env: ["DATABASE_URL"], .string, "", secret: true,
            "postgres://user:password@host:port/db?sslmode=disable; empty means the SQLite file in data_dir."),
        Key("sqlite.readers", .integer(1...64), "4", "Reader connections to the SQLite file (writes use one connection)."),
        Key("log.level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), "info", "Least severe level logged."),
        Key("repos.allowed_hosts", env: ["REPOWATCH_ALLOWED_HOSTS"], .list, HostPolicy.defaultHosts.joined(separator: ","),
            "Hosts repositories may come from: host or host:port, comma-separated in the environment."),
        Key("repos.internal_hosts", env: ["REPOWATCH_INTERNAL_HOSTS"], .list, "",
            "Host names (host or host:port) allowed to resolve to loopback or private addresses: a git server inside your network. Allowed as if in repos.allowed_hosts."),
        Key("repos.case_insensitive_hosts", .list, RepositoryURL.defaultCaseInsensitiveHosts.sorted().joined(separator: ","),
            "Hosts whose repository paths ignore case (lower-cased when canonicalising); http:// is upgraded to https:// on them."),
        Key("api.max_body_bytes", .integer(1024...10_485_760), "65536", "Largest request body accepted (413 beyond)."),
        Key("api.notes_max_length", .integer(0...100_000), "2000", "Longest `notes` accepted, in characters."),
        Key("api.page_size_default", .integer(1...1000), "50", "Entries per page when `limit` is not given."),
        Key("api.page_size_max", .integer(1...1000), "200", "Largest `limit` accepted."),
        Key("api.key_cache_seconds", .integer(0...300), "5",
            "Seconds a key lookup is reused (a revoked key may keep working that long in a running process; 0: no cache)."),
        Key("api.status_cache_ms", .integer(0...60_000), "2000",
            "Longest a status answer is reused; changes drop it at once (PostgreSQL notifications, this process's SQLite writes). 0: no cache."),
        Key("workers.concurrency", .concurrency, "repository-setup=2,commit-backfill=2,health-analysis=2,maintenance=2,webhook-delivery=4",
            "Queues this process works (serve, worker) and how many of each queue's jobs run at once; queue=0 leaves a queue to other processes."),
        Key("workers.prefetch", .concurrency, "maintenance=16",
            "Per queue, jobs claimed ahead of free slots (fewer round trips for short jobs; a prefetched job that waits a third of its lease is given back)."),
        Key("jobs.max_attempts", .integer(1...100), "3", "Attempts before a job is discarded (kept for inspection and retry)."),
        Key("jobs.retry_base", .duration(0.001...86_400), "2s", "Retry delay after attempt n: retry_base · 2^n, ±20 % jitter."),
        Key("jobs.retry_max", .duration(0.001...604_800), "1h", "Longest retry delay."),
        Key("jobs.lease", .duration(1...86_400), "60s", "How long a claimed job is leased; running handlers heartbeat every third of it."),
        Key("jobs.poll_interval", .duration(0.01...3600), "1s", "Idle workers look for due jobs this often (PostgreSQL also wakes them on enqueue)."),
        Key("jobs.rescue_interval", .duration(0.1...3600), "5s", "Every worker returns expired leases to the queue this often."),
        Key("jobs.shutdown_grace", .duration(0...3600), "30s", "On shutdown, running jobs get this long to finish before they are released."),
        Key("jobs.retention_age", .duration(0...31_536_000), "24h", "Completed and cancelled jobs are deleted after this long (discarded jobs are kept)."),
        Key("jobs.retention_count", .integer(0...100_000_000), "10000", "At most this many completed and cancelled jobs are kept."),
        Key("jobs.discarded_retention_age", .duration(0...31_536_000), "7d",
            "Discarded jobs (kept with their errors for inspection and retry) are deleted after this long."),
        Key("jobs.discarded_retention_count", .integer(0...100_000_000), "10000", "At most this many discarded jobs are kept."),
        Key("jobs.prune_schedule", .string, "@every 5m", "When retention runs: @every DURATION or a five-field cron expression (UTC)."),
        Key("git.executable", .string, "git", "The git command used to clone and fetch (a name on PATH or a path)."),
        Key("git.protocols", .list, "https", "Transports git may use for repositories: https, and http only for trusted hosts (tests)."),
        Key("git.history_window", .duration(86_400...3_650 * 86_400), "365d", "How far back commits are backfilled (the shallow clone's --shallow-since)."),
        Key("git.max_commits", .integer(1...1_000_000), "1000", "At most this many commits of the window are stored per repository, newest first."),
        Key("git.timeout", .duration(1...86_400), "10m", "Longest one git operation (clone, fetch, ls-remote) may take; its whole process group is killed past it."),
        Key("git.max_clone_mib", .integer(1...1_048_576), "1024", "A clone larger than this on disk is stopped and the repository fails as too_large (not retried)."),
        Key("git.clone_cache_mib", .integer(0...16_777_216), "20480", "Disk budget of the clone cache; least recently used clones are evicted beyond it."),
        Key("git.clone_dir", .string, "", "Folder of this host's clone cache; empty: data_dir/clones."),
        Key("scorecard.command", .string, "repowatch-scorecard",
            "The Scorecard command: the bundled repowatch-scorecard (offline, file-based checks) or the official scorecard binary. A name is looked up beside the repowatch binary, then on PATH."),
        Key("scorecard.args", .list, "--local={clone},--format=json,--show-details,--max-files={max_files}",
            "Its arguments; {clone} is the clone's folder, {repo} is host/owner/name (the official CLI's --repo=), {max_files} is scorecard.max_files."),
        Key("scorecard.github_token", .string, "", secret: true,
            "Given to the command as GITHUB_AUTH_TOKEN (the official CLI needs it for --repo=); never in argv or logs."),
        Key("scorecard.timeout", .duration(1...86_400), "10m", "Longest one Scorecard run may take; its whole process group is killed past it."),
        Key("scorecard.max_files", .integer(1...100_000_000), "250000",
            "A clone with more files than this is not analysed: the repository fails as too_large (not retried). The bundled command is also given it (--max-files)."),
        Key("scorecard.cpu_limit", .duration(1...86_400), "5m",
            "CPU time one Scorecard run may use; past it its process group is killed (timed_out). Two timeouts in a row fail the repository."),
        Key("scorecard.cache_ttl", .duration(0...604_800), "24h", "A result for the same head, command and version is reused this long (seed: 24–48 h)."),
        Key("recheck.interval", .duration(60...31_536_000), "24h", "How often a repository is re-checked (±10 % jitter); an entry may ask for less, down to recheck.min_interval."),
        Key("recheck.schedule", .string, "@every 1m", "How often the leader looks for repositories due for a re-check: @every DURATION or five-field cron (UTC)."),
        Key("recheck.min_interval", .duration(60...31_536_000), "1h", "The shortest re-check interval an entry may ask for."),
        Key("recheck.failure_backoff", .duration(1...31_536_000), "5m",
            "After the n-th failed re-check in a row the next comes failure_backoff · 2^(n-1) later, at most recheck.interval later."),
        Key("recheck.max_failures", .integer(1...1000), "3",
            "Re-checks in a row that find the remote gone (not_found, auth_required) before a ready repository becomes failed."),
        Key("pipeline.reconcile_interval", .duration(1...86_400), "1m",
            "How often the leader repairs repositories being worked on that have no unfinished stage job (the stall gauge)."),
        Key("webhooks.timeout", .duration(0.1...300), "10s",
            "Longest a webhook delivery may take, connection to last byte read; past it the attempt fails (timed out) and is retried."),
        Key("webhooks.connect_timeout", .duration(0.1...120), "5s", "Longest a webhook delivery may wait for its connection."),
        Key("webhooks.max_response_bytes", .integer(0...1_048_576), "16384",
            "Most bytes of a webhook endpoint's response read (the rest is not read); the log keeps the first 512."),
        Key("webhooks.max_attempts", .integer(1...100), "15", "Attempts of one delivery before it is given up (discarded; redeliver by hand)."),
        Key("webhooks.retry_base", .duration(0.001...86_400), "30s",
            "A failed delivery is tried again after retry_base · 2^n (±20 %), at most webhooks.retry_max: with the defaults over about two days."),
        Key("webhooks.retry_max", .duration(0.001...604_800), "6h", "Longest wait between two attempts of a delivery."),
        Key("webhooks.disable_after_failures", .integer(1...10_000), "20",
            "An endpoint whose last this many attempts all failed, for at least webhooks.disable_after, is disabled (enable it again with PATCH)."),
        Key("webhooks.disable_after", .duration(0...2_592_000), "72h", "How long an endpoint must have failed without a success before it is disabled."),
        Key("webhooks.internal_hosts", .list, "",
            "Webhook hosts (host, host:port or an address literal) allowed to be or resolve to loopback or private addresses; every other endpoint must be public."),
        Key("webhooks.max_per_user", .integer(1...1000), "20", "Webhooks one user may register."),
        Key("webhooks.secret_overlap", .duration(0...2_592_000), "24h",
            "After a secret is rotated, deliveries are signed with the old secret too for this long, so receivers can switch without losing one."),
        Key("live.heartbeat", .duration(1...300), "15s",
            "A live status stream (Server-Sent Events, WebSocket) with nothing to send sends a heartbeat this often."),
        Key("live.slow_client_timeout", .duration(1...300), "10s",
            "A live status client that has not taken a message for this long is disconnected; nothing is buffered for it meanwhile."),
        Key("dashboard.session_ttl", .duration(300...2_592_000), "12h",
            "A dashboard sign-in lasts this long (the session also ends when its API key is revoked, or at sign-out)."),
        Key("dashboard.secure_cookie", .choice(["auto", "always", "never"]), "auto",
            "Mark the dashboard's cookies Secure: always, never, or auto (when a TLS-terminating proxy sends X-Forwarded-Proto: https)."),
        Key("secrets.token_key", .string, "", secret: true,
            "Base64 of 32 random bytes: the AES-256-GCM key for repository tokens. Empty: data_dir/token.key is created on SQLite; on PostgreSQL tokens are refused until a key is set."),
    ]

    static func key(_ name: String) -> Key? { keys.first { $0.name == name } }
}
