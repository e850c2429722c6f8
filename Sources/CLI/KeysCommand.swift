import ArgumentParser
import Domain
import Foundation
import Settings
import Store

/// `repowatch keys create|list|revoke`: API keys. Only a key's hash is stored; a new key is shown once.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; it is printed once, as the last line of stdout.")
        @OptionGroup var options: CommonOptions
        @Option(help: "User the key belongs to (created if new).") var user: String
        @Flag(help: "An admin key sees and changes every user's entries.") var admin = false

        func validate() throws {
            guard User.isValidName(user) else {
                throw ValidationError("--user must be 1–64 letters, digits, '.', '_', '-' or '@'")
            }
        }

        func run() async throws {
            try await withStore(options) { store in
                let (record, key) = try await store.transaction { [user, admin] tx in
                    try await tx.createAPIKey(userName: user, isAdmin: admin)
                }
                print("created \(record.isAdmin ? "admin " : "")key \(record.id.lowercased) (\(record.prefix)…) for user \(record.userName)")
                print(key)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never the keys themselves).")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await withStore(options) { store in
                let keys = try await store.read { try await $0.listAPIKeys() }
                print("id\tprefix\tuser\tadmin\tcreated\trevoked")
                for k in keys {
                    print([k.id.lowercased, k.prefix, k.userName, k.isAdmin ? "yes" : "no", k.createdAt.ISO8601Format(),
                           k.revokedAt?.ISO8601Format() ?? "-"].joined(separator: "\t"))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id or prefix.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The key's id, or its prefix as `keys list` shows it.") var key: String

        func run() async throws {
            try await withStore(options) { store in
                let revoked: Int
                do {
                    revoked = try await store.transaction { [key] in try await $0.revokeAPIKey(key) }
                } catch let error as APIKeys.AmbiguousPrefix {
                    FileHandle.standardError.write(Data("repowatch: \(error.description)\n".utf8))
                    throw ExitCode.failure
                }
                guard revoked == 1 else {
                    FileHandle.standardError.write(Data("repowatch: no active key \(key)\n".utf8))
                    throw ExitCode.failure
                }
                print("revoked \(key)")
            }
        }
    }
}

/// Opens the configured store, migrates it and runs `body` with it.
private func withStore(_ options: CommonOptions, _ body: (any Store) async throws -> Void) async throws {
    let settings = try options.settings()
    let logger = Bootstrap.logger(settings)
    let store = try await Bootstrap.openStore(settings, logger: logger)
    try await Bootstrap.withReachableStore(store) { store in
        try await store.migrate(logger: logger)
        try await body(store)
    }
}
