import API
import Crypto
import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Queue
import Settings
import Store
import TestSupport
import Testing

/// A live RepoWatch server on a loopback port, over a fresh store, and a client speaking real HTTP to it.
struct APIHarness {
    let client: any TestClientProtocol
    let store: any Store
    let queue: JobQueue

    struct Reply {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: ByteBuffer
        var json: JSONValue? { JSONValue.parse(Data(body.readableBytesView)) }
        subscript(_ key: String) -> JSONValue? {
            guard case .object(let o)? = json else { return nil }
            return o[key]
        }
        var errorCode: String? {
            guard case .string(let code)? = object("error")?["code"] else { return nil }
            return code
        }
        func object(_ key: String) -> [String: JSONValue]? {
            guard case .object(let o)? = self[key] else { return nil }
            return o
        }
        func array(_ key: String) -> [JSONValue]? {
            guard case .array(let a)? = self[key] else { return nil }
            return a
        }
        func string(_ key: String) -> String? {
            guard case .string(let s)? = self[key] else { return nil }
            return s
        }
    }

    /// Makes a key for `user` directly in the store (what `repowatch keys create` does).
    func key(for user: String, admin: Bool = false) async throws -> String {
        try await store.transaction { try await $0.createAPIKey(userName: user, isAdmin: admin).key }
    }

    @discardableResult
    func request(
        _ method: HTTPRequest.Method, _ path: String, key: String? = nil, json: String? = nil,
        contentType: String? = "application/json", headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil, let contentType { headers[.contentType] = contentType }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, headers: response.headers, body: response.body)
        }
    }

    func count(_ table: String) async throws -> Int64 {
        try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM \(raw: table)")?.int("n") ?? -1 }
    }

    /// Runs `body` against a live server on `engine`, with `environment` as extra configuration.
    /// - Parameter tokens: whether the server has a key to seal repository tokens with.
    static func with(
        _ engine: Engine, environment: [String: String] = [:], tokens: Bool = true,
        _ body: @escaping @Sendable (APIHarness) async throws -> Void
    ) async throws {
        let (store, _, _) = try await TestDatabase.makeStore(engine)
        // No key cache unless a test asks for one: revocation is tested to take effect at once.
        // Nor a status cache: on PostgreSQL its invalidation arrives by notification, a moment after a test's own write.
        var env = [
            "REPOWATCH_HTTP_PORT": "0", "REPOWATCH_LOG_LEVEL": "warning", "REPOWATCH_API_KEY_CACHE_SECONDS": "0",
            "REPOWATCH_API_STATUS_CACHE_MS": "0",
        ]
        env.merge(environment) { $1 }
        let settings = try Settings.load(configFile: nil, environment: env)
        let registry = PrometheusCollectorRegistry()
        let queue = JobQueue(store: store, metrics: QueueMetrics(registry: registry))
        let app = buildApplication(
            settings: settings, store: store, queue: queue, registry: registry,
            migrations: MigrationService(store: store, logger: TestDatabase.logger),
            tokens: tokens ? TokenCipher(key: SymmetricKey(size: .bits256)) : nil, logger: TestDatabase.logger)
        try await app.test(.live) { client in
            try await body(APIHarness(client: client, store: store, queue: queue))
        }
    }
}
