import Domain
import Foundation
import Yams

extension Settings {
    /// Values given on the command line; nil when not given.
    public struct Overrides: Sendable, Equatable {
        public var host: String?
        public var port: Int?
        public var dataDir: String?
        public var databaseURL: String?
        public var logLevel: String?
        public init(host: String? = nil, port: Int? = nil, dataDir: String? = nil, databaseURL: String? = nil, logLevel: String? = nil) {
            self.host = host
            self.port = port
            self.dataDir = dataDir
            self.databaseURL = databaseURL
            self.logLevel = logLevel
        }
    }

    /// The built-in defaults alone.
    public static var defaults: Settings {
        // The defaults are valid by construction; a failure here is a programming error caught by the tests.
        try! resolve(layers: [])
    }

    /// Resolves the configuration from its layers.
    /// - Parameters:
    ///   - configFile: YAML file to read; nil to use `REPOWATCH_CONFIG`, else `config/repowatch.yaml` when it exists.
    ///   - environment: the process environment.
    ///   - overrides: command-line flags.
    public static func load(
        configFile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment, overrides: Overrides = .init()
    ) throws(SettingsError) -> Settings {
        var layers: [Layer] = []
        let explicitFile = configFile ?? environment["REPOWATCH_CONFIG"]
        let file = explicitFile ?? "config/repowatch.yaml"
        if explicitFile != nil || FileManager.default.fileExists(atPath: file) {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw SettingsError("cannot read the configuration file \(file)")
            }
            layers.append(try fileLayer(yaml: text, source: file))
        }
        layers.append(try environmentLayer(environment))
        var flags = Layer()
        if let v = overrides.host { flags["http.host"] = (.scalar(v), "--host") }
        if let v = overrides.port { flags["http.port"] = (.scalar(String(v)), "--port") }
        if let v = overrides.dataDir { flags["data_dir"] = (.scalar(v), "--data-dir") }
        if let v = overrides.databaseURL { flags["database.url"] = (.scalar(v), "--database-url") }
        if let v = overrides.logLevel { flags["log.level"] = (.scalar(v), "--log-level") }
        layers.append(flags)
        return try resolve(layers: layers)
    }

    // MARK: Layers

    enum RawValue: Equatable {
        case scalar(String)
        case list([String])
    }
    /// key → (value, where it came from)
    typealias Layer = [String: (value: RawValue, source: String)]

    /// Reads the YAML file: nested mappings whose leaves are scalars or lists of scalars.
    static func fileLayer(yaml: String, source: String) throws(SettingsError) -> Layer {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            throw SettingsError("\(source): not valid YAML: \(error)")
        }
        guard let document else { return [:] }
        guard let root = document as? [String: Any] else { throw SettingsError("\(source): the top level must be a mapping of keys") }
        var layer = Layer()
        func walk(_ node: [String: Any], prefix: String) throws(SettingsError) {
            for (name, value) in node {
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                if let nested = value as? [String: Any] {
                    try walk(nested, prefix: key)
                    continue
                }
                guard Settings.key(key) != nil else { throw SettingsError("\(source): unknown key '\(key)'") }
                if let list = value as? [Any] {
                    var items: [String] = []
                    for item in list {
                        guard let text = scalarText(item) else { throw SettingsError("\(source): '\(key)' must be a list of plain values") }
                        items.append(text)
                    }
                    layer[key] = (.list(items), source)
                } else if value is NSNull {
                    layer[key] = (.scalar(""), source)
                } else if let text = scalarText(value) {
                    layer[key] = (.scalar(text), source)
                } else {
                    throw SettingsError("\(source): '\(key)' has a value of an unsupported type")
                }
            }
        }
        try walk(root, prefix: "")
        return layer
    }

    private static func scalarText(_ value: Any) -> String? {
        switch value {
        case let s as String: s
        case let i as Int: String(i)
        case let b as Bool: String(b)
        case let d as Double: String(d)
        default: nil
        }
    }

    /// Reads `REPOWATCH_*` variables (and `DATABASE_URL`); an unknown `REPOWATCH_*` variable is an error,
    /// so a typo does not silently leave a default in force.
    static func environmentLayer(_ environment: [String: String]) throws(SettingsError) -> Layer {
        var layer = Layer()
        let known = Dictionary(keys.flatMap { key in key.environment.map { ($0, key) } }, uniquingKeysWith: { a, _ in a })
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            if let key = known[name] {
                // The first-listed variable wins over its aliases.
                if let existing = layer[key.name], key.environment.firstIndex(of: existing.source)! < key.environment.firstIndex(of: name)! {
                    continue
                }
                layer[key.name] = (.scalar(value), name)
            } else if name.hasPrefix("REPOWATCH_") && name != "REPOWATCH_CONFIG" {
                throw SettingsError("unknown environment variable \(name); known: \(known.keys.filter { $0.hasPrefix("REPOWATCH_") }.sorted().joined(separator: ", "))")
            }
        }
        return layer
    }

    // MARK: Resolution

    static func resolve(layers: [Layer]) throws(SettingsError) -> Settings {
        var merged: [String: (value: RawValue, source: String)] = [:]
        for key in keys {
            let isList = key.kind == .list || key.kind == .concurrency
            merged[key.name] = (isList ? .list(split(key.defaultValue)) : .scalar(key.defaultValue), "default")
        }
        for layer in layers {
            for (name, entry) in layer { merged[name] = entry }
        }

        func describe(_ key: Key, _ source: String, _ text: String) -> String {
            let where_ = source == "default" ? "default" : source
            return key.isSecret ? "\(key.name) (from \(where_))" : "\(key.name) (from \(where_)): '\(text)'"
        }
        func string(_ name: String) throws(SettingsError) -> String {
            let key = Settings.key(name)!
            let (value, source) = merged[name]!
            guard case .scalar(let text) = value else { throw SettingsError("\(name) (from \(source)) must be a single value, not a list") }
            if case .choice(let options) = key.kind, !options.contains(text.lowercased()) {
                throw SettingsError("\(describe(key, source, text)) must be one of \(options.joined(separator: ", "))")
            }
            if case .choice = key.kind { return text.lowercased() }
            return text
        }
        func integer(_ name: String) throws(SettingsError) -> Int {
            let key = Settings.key(name)!
            let text = try string(name)
            guard case .integer(let range) = key.kind, let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
                let range: String
                if case .integer(let r) = key.kind { range = " between \(r.lowerBound) and \(r.upperBound)" } else { range = "" }
                throw SettingsError("\(describe(key, merged[name]!.source, text)) must be an integer\(range)")
            }
            return value
        }
        func duration(_ name: String) throws(SettingsError) -> Duration {
            let key = Settings.key(name)!
            let text = try string(name)
            guard case .duration(let range) = key.kind, let value = parseDuration(text), range.contains(value.seconds) else {
                throw SettingsError("\(describe(key, merged[name]!.source, text)) must be a duration such as 500ms, 30s, 5m or 24h, within the allowed range")
            }
            return value
        }
        func concurrency(_ name: String) throws(SettingsError) -> [String: Int] {
            var out: [String: Int] = [:]
            for pair in list(name) {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }),
                    let n = Int(parts[1]), (0...1000).contains(n)
                else {
                    throw SettingsError("\(name) (from \(merged[name]!.source)): '\(pair)' must be queue=N with N from 0 to 1000")
                }
                out[parts[0]] = n
            }
            return out
        }
        func list(_ name: String) -> [String] {
            switch merged[name]!.value {
            case .list(let items): items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            case .scalar(let text): split(text)
            }
        }

        let host = try string("http.host")
        guard !host.isEmpty else { throw SettingsError("http.host (from \(merged["http.host"]!.source)) must not be empty") }
        let dataDir = try string("data_dir")
        guard !dataDir.isEmpty else { throw SettingsError("data_dir (from \(merged["data_dir"]!.source)) must not be empty") }
        let databaseURL = try string("database.url")
        if !databaseURL.isEmpty && !(databaseURL.hasPrefix("postgres://") || databaseURL.hasPrefix("postgresql://")) {
            throw SettingsError("database.url (from \(merged["database.url"]!.source)) must start with postgres:// or postgresql://")
        }
        let hostPolicy: HostPolicy
        do {
            hostPolicy = try HostPolicy(allowedHosts: list("repos.allowed_hosts"), internalHosts: list("repos.internal_hosts"))
        } catch {
            throw SettingsError(
                "repos.allowed_hosts (from \(merged["repos.allowed_hosts"]!.source)) or repos.internal_hosts (from \(merged["repos.internal_hosts"]!.source)): \(error.message)")
        }
        let webhookHosts: HostPolicy
        do {
            webhookHosts = try HostPolicy(anyPublicHostAnd: list("webhooks.internal_hosts"))
        } catch {
            throw SettingsError("webhooks.internal_hosts (from \(merged["webhooks.internal_hosts"]!.source)): \(error.message)")
        }
        let pageSizeDefault = try integer("api.page_size_default")
        let pageSizeMax = try integer("api.page_size_max")
        guard pageSizeDefault <= pageSizeMax else {
            throw SettingsError("api.page_size_default (\(pageSizeDefault)) must not exceed api.page_size_max (\(pageSizeMax))")
        }
        let gitExecutable = try string("git.executable")
        guard !gitExecutable.isEmpty else { throw SettingsError("git.executable (from \(merged["git.executable"]!.source)) must not be empty") }
        let protocols = list("git.protocols").map { $0.lowercased() }
        for scheme in protocols where !["https", "http"].contains(scheme) {
            throw SettingsError("git.protocols (from \(merged["git.protocols"]!.source)): '\(scheme)' is not a transport RepoWatch uses (https, http)")
        }
        guard !protocols.isEmpty else { throw SettingsError("git.protocols (from \(merged["git.protocols"]!.source)) must name at least one transport") }
        let tokenKeyText = try string("secrets.token_key")
        let tokenKey: String? = tokenKeyText.isEmpty ? nil : tokenKeyText
        if let tokenKey, Data(base64Encoded: tokenKey)?.count != 32 {
            throw SettingsError("secrets.token_key (from \(merged["secrets.token_key"]!.source)) must be the base64 of exactly 32 bytes (openssl rand -base64 32)")
        }
        let scorecardCommand = try string("scorecard.command")
        guard !scorecardCommand.isEmpty else {
            throw SettingsError("scorecard.command (from \(merged["scorecard.command"]!.source)) must not be empty")
        }
        let githubToken = try string("scorecard.github_token")
        let recheckInterval = try duration("recheck.interval")
        let recheckMinimum = try duration("recheck.min_interval")
        guard recheckMinimum <= recheckInterval else {
            throw SettingsError("recheck.min_interval (\(recheckMinimum)) must not exceed recheck.interval (\(recheckInterval))")
        }
        return Settings(
            httpHost: host,
            httpPort: try integer("http.port"),
            httpIdleTimeout: try duration("http.idle_timeout"),
            httpMaxConnections: try integer("http.max_connections"),
            dataDir: dataDir,
            databaseURL: databaseURL.isEmpty ? nil : databaseURL,
            logLevel: try string("log.level"),
            allowedHosts: hostPolicy,
            caseInsensitiveHosts: Set(list("repos.case_insensitive_hosts").map { $0.lowercased() }),
            maxBodyBytes: try integer("api.max_body_bytes"),
            notesMaxLength: try integer("api.notes_max_length"),
            pageSizeDefault: pageSizeDefault,
            pageSizeMax: pageSizeMax,
            sqliteReaders: try integer("sqlite.readers"),
            keyCacheSeconds: try integer("api.key_cache_seconds"),
            statusCacheMilliseconds: try integer("api.status_cache_ms"),
            workerConcurrency: try concurrency("workers.concurrency"),
            workerPrefetch: try concurrency("workers.prefetch"),
            jobs: Jobs(
                maxAttempts: try integer("jobs.max_attempts"),
                retryBase: try duration("jobs.retry_base"),
                retryMax: try duration("jobs.retry_max"),
                lease: try duration("jobs.lease"),
                pollInterval: try duration("jobs.poll_interval"),
                rescueInterval: try duration("jobs.rescue_interval"),
                shutdownGrace: try duration("jobs.shutdown_grace"),
                retentionAge: try duration("jobs.retention_age"),
                retentionCount: try integer("jobs.retention_count"),
                discardedRetentionAge: try duration("jobs.discarded_retention_age"),
                discardedRetentionCount: try integer("jobs.discarded_retention_count"),
                pruneSchedule: try string("jobs.prune_schedule")),
            git: Git(
                executable: gitExecutable,
                protocols: protocols,
                historyWindow: try duration("git.history_window"),
                maxCommits: try integer("git.max_commits"),
                timeout: try duration("git.timeout"),
                maxCloneBytes: Int64(try integer("git.max_clone_mib")) * 1_048_576,
                cacheBudgetBytes: Int64(try integer("git.clone_cache_mib")) * 1_048_576,
                cloneDir: try string("git.clone_dir").isEmpty ? nil : try string("git.clone_dir")),
            tokenKey: tokenKey,
            scorecard: Scorecard(
                command: scorecardCommand, arguments: list("scorecard.args"), githubToken: githubToken.isEmpty ? nil : githubToken,
                timeout: try duration("scorecard.timeout"), maxFiles: try integer("scorecard.max_files"),
                cpuLimit: try duration("scorecard.cpu_limit"), cacheTTL: try duration("scorecard.cache_ttl")),
            recheck: Recheck(
                interval: recheckInterval, minimumInterval: recheckMinimum, schedule: try string("recheck.schedule"),
                failureBackoff: try duration("recheck.failure_backoff"), maxFailures: try integer("recheck.max_failures")),
            reconcileInterval: try duration("pipeline.reconcile_interval"),
            webhooks: Webhooks(
                timeout: try duration("webhooks.timeout"), connectTimeout: try duration("webhooks.connect_timeout"),
                maxResponseBytes: try integer("webhooks.max_response_bytes"), maxAttempts: try integer("webhooks.max_attempts"),
                retryBase: try duration("webhooks.retry_base"), retryMax: try duration("webhooks.retry_max"),
                disableAfterFailures: try integer("webhooks.disable_after_failures"), disableAfter: try duration("webhooks.disable_after"),
                hosts: webhookHosts, maxPerUser: try integer("webhooks.max_per_user"), secretOverlap: try duration("webhooks.secret_overlap")),
            liveHeartbeat: try duration("live.heartbeat"),
            liveSlowClientTimeout: try duration("live.slow_client_timeout"),
            dashboard: Dashboard(sessionTTL: try duration("dashboard.session_ttl"), secureCookie: try string("dashboard.secure_cookie")))
    }

    static func split(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
