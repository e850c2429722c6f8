import Foundation
import Logging
import Store

/// The engines every store and API test runs on.
public enum Engine: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// Where the throwaway PostgreSQL of `make test` is; tests on PostgreSQL fail (not skip) without it.
public enum TestDatabase {
    public static var postgresURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["TEST_POSTGRES_URL"], !url.isEmpty else {
                throw TestSetupError(
                    "TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts a throwaway PostgreSQL")
            }
            return url
        }
    }

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()

    /// A store on a database of its own: a new SQLite file, or a new PostgreSQL database created for
    /// this test (so tests run in parallel without seeing each other's rows). Not yet migrated.
    public static func makeStore(_ engine: Engine) async throws -> (store: any Store, url: String?, path: String?) {
        switch engine {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repowatch-test-\(UUID().uuidString)")
            let path = dir.appendingPathComponent("test.sqlite").path
            return (try await SQLiteStore.open(path: path, logger: logger), nil, path)
        case .postgres:
            let url = try await createDatabase()
            return (PostgresStore(configuration: try PostgresURL.parse(url), logger: logger), url, nil)
        }
    }

    /// Creates an empty database on the test server and returns its URL.
    public static func createDatabase() async throws -> String {
        let adminURL = try postgresURL
        let name = "rw_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let admin = PostgresStore(configuration: try PostgresURL.parse(adminURL), logger: logger)
        try await withRunningStore(admin) { store in
            try await store.read { try await $0.execute("CREATE DATABASE \(raw: name)") }
        }
        guard var components = URLComponents(string: adminURL) else { throw TestSetupError("bad TEST_POSTGRES_URL") }
        components.path = "/" + name
        return components.string!
    }

    /// Runs `body` with a migrated store on `engine`.
    public static func withStore<T: Sendable>(_ engine: Engine, _ body: (any Store) async throws -> T) async throws -> T {
        let (store, _, _) = try await makeStore(engine)
        return try await withRunningStore(store) { store in
            try await store.migrate(logger: logger)
            return try await body(store)
        }
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
