import API
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import Settings
import Store

/// `repowatch serve`: every role in one process — the default for one machine.
///
/// Today the roles are the store and the HTTP API; the job workers and the scheduler join this
/// service group as they are built (see DESIGN.md), in dependency order before the HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run every role (API and background work) in one process.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await Server.run(options: options, role: "serve")
    }
}

/// `repowatch api`: the HTTP API alone, for deployments that run workers elsewhere.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Run the HTTP API only.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        try await Server.run(options: options, role: "api")
    }
}

enum Server {
    static func run(options: CommonOptions, role: String) async throws {
        let settings = try options.settings()
        let logger = Bootstrap.logger(settings)
        let store = try await Bootstrap.openStore(settings, logger: logger)
        let registry = PrometheusCollectorRegistry()
        var app = buildApplication(settings: settings, store: store, registry: registry, logger: logger)
        app.beforeServerStarts {
            try await printFirstAdminKey(store: store, logger: logger)
        }
        logger.info("starting", metadata: [
            "role": "\(role)", "address": "\(settings.httpHost):\(settings.httpPort)",
            "store": "\(store.dialect == .sqlite ? "sqlite \(settings.sqlitePath)" : "postgres")",
        ])
        try await app.runService()
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
