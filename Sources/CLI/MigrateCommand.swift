import ArgumentParser
import Settings
import Store

/// `repowatch migrate`: bring the database schema up to date and exit.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let settings = try options.settings()
        let logger = Bootstrap.logger(settings)
        let store = try await Bootstrap.openStore(settings, logger: logger)
        try await Bootstrap.withReachableStore(store) { try await $0.migrate(logger: logger) }
        print("schema at version \(Migrations.latestVersion) (\(store.dialect.rawValue))")
    }
}
