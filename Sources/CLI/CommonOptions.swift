import ArgumentParser
import Foundation
import Logging
import Queue
import Settings
import Store

/// Flags every command takes; they override the configuration file and the environment.
struct CommonOptions: ParsableArguments {
    @Option(help: "Configuration file (default: $REPOWATCH_CONFIG, else ./config/repowatch.yaml if present).")
    var config: String?

    @Option(help: "Address to listen on (http.host).")
    var host: String?

    @Option(help: "Port to listen on (http.port).")
    var port: Int?

    @Option(help: "Data folder for the SQLite file (data_dir).")
    var dataDir: String?

    @Option(help: "PostgreSQL URL (database.url); overrides DATABASE_URL.")
    var databaseURL: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (log.level).")
    var logLevel: String?

    /// Resolves the configuration, or stops with a message naming the bad key (exit 78, EX_CONFIG).
    func settings() throws -> Settings {
        do {
            return try Settings.load(
                configFile: config,
                overrides: .init(host: host, port: port, dataDir: dataDir, databaseURL: databaseURL, logLevel: logLevel))
        } catch {
            FileHandle.standardError.write(Data("repowatch: configuration error: \(error.message)\n".utf8))
            throw ExitCode(78)
        }
    }
}

enum Bootstrap {
    /// Logs go to stderr (stdout carries command output such as a new key); once per process.
    static func logger(_ settings: Settings) -> Logger {
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "repowatch")
    }

    /// Runs `body` with the store running and answering; an unreachable database is a clear error (exit 69).
    static func withReachableStore(_ store: any Store, _ body: (any Store) async throws -> Void) async throws {
        do {
            try await withRunningStore(store) { store in
                try await store.waitUntilReachable()
                try await body(store)
            }
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("repowatch: \(error)\n".utf8))
            throw ExitCode(69)
        }
    }

    /// The key for repository tokens: `secrets.token_key`, else on the embedded store `data_dir/token.key`
    /// (created on first start). On PostgreSQL without a key, every host would invent its own, so none is made.
    static func tokenCipher(_ settings: Settings, logger: Logger) throws -> TokenCipher? {
        do {
            if let key = settings.tokenKey { return try TokenCipher(base64Key: key) }
            guard settings.databaseURL == nil else {
                logger.notice("secrets.token_key is not set: entries with a token are refused")
                return nil
            }
            return try TokenCipher.loadOrCreate(keyFile: settings.tokenKeyFile)
        } catch {
            FileHandle.standardError.write(Data("repowatch: configuration error: secrets.token_key: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }

    static func roles(
        settings: Settings, store: any Store, queue: JobQueue, migrations: MigrationService, tokens: TokenCipher?, logger: Logger
    ) throws -> BackgroundRoles {
        do {
            return try BackgroundRoles.make(settings: settings, store: store, queue: queue, migrations: migrations, tokens: tokens, logger: logger)
        } catch ExitCodeError.configuration {
            throw ExitCode(78)
        }
    }

    static func openStore(_ settings: Settings, logger: Logger) async throws -> any Store {
        do {
            return try await StoreFactory.open(databaseURL: settings.databaseURL, sqlitePath: settings.sqlitePath, logger: logger)
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("repowatch: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }
}
