import API
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Prometheus
import Queue
import ServiceLifecycle
import Settings
import Store
import UnixSignals

/// `repowatch serve`: every role in one process — the default for one machine.
///
/// Services, in dependency order (graceful shutdown runs in reverse): the store, the migrations,
/// the job workers, the periodic scheduler, then the HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run every role (API and background work) in one process.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await Server.run(options: options, role: "serve")
    }
}

/// `repowatch api`: the HTTP API alone, for deployments that run `repowatch worker` elsewhere.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Run the HTTP API only.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await Server.run(options: options, role: "api")
    }
}

/// `repowatch worker`: the job workers and the periodic scheduler, without HTTP.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run the job workers and the periodic scheduler (no HTTP).")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let runtime = try await Runtime.start(options)
        let services = [runtime.store, runtime.migrations] + (try runtime.backgroundServices())
        runtime.logger.info("starting", metadata: ["role": "worker", "store": "\(runtime.store.location)"])
        try await ShutdownBound.group(services, settings: runtime.settings, logger: runtime.logger).run()
    }
}

/// What every long-running role of a process shares: configuration, logger, store, metrics, the
/// migrations gate and the job queue. Built once per process.
struct Runtime {
    let settings: Settings
    let logger: Logger
    let store: any Store
    let registry: PrometheusCollectorRegistry
    let migrations: MigrationService
    let queue: JobQueue
    /// Seals and opens repository tokens; nil when no key is configured (PostgreSQL without secrets.token_key).
    let tokens: TokenCipher?

    static func start(_ options: CommonOptions) async throws -> Runtime {
        let settings = try options.settings()
        let logger = Bootstrap.logger(settings)
        let tokens = try Bootstrap.tokenCipher(settings, logger: logger)
        let store = try await Bootstrap.openStore(settings, logger: logger)
        let registry = PrometheusCollectorRegistry()
        return Runtime(
            settings: settings, logger: logger, store: store, registry: registry,
            migrations: MigrationService(store: store, logger: logger),
            queue: BackgroundRoles.queue(settings: settings, store: store, registry: registry),
            tokens: tokens)
    }

    /// The job workers and the periodic scheduler.
    func backgroundServices() throws -> [any Service] {
        try Bootstrap.roles(settings: settings, store: store, queue: queue, migrations: migrations, tokens: tokens, logger: logger).services
    }
}

enum Server {
    static func run(options: CommonOptions, role: String) async throws {
        let runtime = try await Runtime.start(options)
        let (settings, logger, store) = (runtime.settings, runtime.logger, runtime.store)
        var app = buildApplication(
            settings: settings, store: store, queue: runtime.queue, registry: runtime.registry, migrations: runtime.migrations,
            services: role == "serve" ? try runtime.backgroundServices() : [], tokens: runtime.tokens, logger: logger)
        app.beforeServerStarts {
            try await printFirstAdminKey(store: store, logger: logger)
        }
        logger.info("starting", metadata: [
            "role": "\(role)", "address": "\(settings.httpHost):\(settings.httpPort)",
            "store": "\(store.location)",
        ])
        try await ShutdownBound.group([app], settings: settings, logger: logger).run()
    }

    /// On the first start there is no key, so nobody could use the API: make an admin key and show it once.
    static func printFirstAdminKey(store: any Store, logger: Logger) async throws {
        let created = try await store.transaction { tx -> String? in
            guard try await tx.activeAPIKeyCount() == 0 else { return nil }
            return try await tx.createAPIKey(userName: "admin", isAdmin: true).key
        }
        guard let key = created else { return }
        logger.notice("no API key existed; created an admin key for user 'admin' (printed once on stdout)")
        print("First start: an admin API key was created for user 'admin'. It is shown only now:")
        print(key)
        fflush(nil)
    }
}

/// The service group of a process, with its shutdown bounded whatever the database's state.
///
/// SIGTERM or SIGINT starts a graceful shutdown (the HTTP server stops accepting, workers stop claiming and let
/// running jobs finish within `jobs.shutdown_grace`). A service still running `jobs.shutdown_grace` + 10 s
/// later is cancelled; one that does not honour cancellation within 5 s more ends the process (a crash with
/// the service named in the log), never a process an orchestrator has to SIGKILL.
enum ShutdownBound {
    static let gracefulSlack: Duration = .seconds(10)
    static let cancellationLimit: Duration = .seconds(5)

    static func group(_ services: [any Service], settings: Settings, logger: Logger) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.jobs.shutdownGrace + gracefulSlack
        configuration.maximumCancellationDuration = cancellationLimit
        return ServiceGroup(configuration: configuration)
    }
}
