import Foundation
import NIOSSL
import PostgresNIO

/// Parses `DATABASE_URL` (libpq's URI form) into a `PostgresClient.Configuration`.
///
/// `postgres[ql]://[user[:password]@][host][:port][/database][?sslmode=disable|prefer|require&host=/socket/dir]`.
/// A `host` query parameter starting with `/` selects a Unix socket in that folder, as libpq does.
/// Errors name the problem, never the password.
public enum PostgresURL {
    public static func parse(_ text: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw StoreError.configuration("DATABASE_URL must look like postgres://user:password@host:port/database")
        }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        var database = components.path
        if database.hasPrefix("/") { database.removeFirst() }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let port = components.port ?? Int(query["port"] ?? "") ?? 5432
        var configuration: PostgresClient.Configuration
        if let socketDir = query["host"], socketDir.hasPrefix("/") {
            configuration = .init(
                unixSocketPath: "\(socketDir)/.s.PGSQL.\(port)", username: user, password: password,
                database: database.isEmpty ? nil : database)
        } else {
            let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
            let tls: PostgresClient.Configuration.TLS
            switch query["sslmode"] ?? "prefer" {
            case "disable": tls = .disable
            case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
            case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
            case let other: throw StoreError.configuration("DATABASE_URL: unsupported sslmode '\(other)'")
            }
            configuration = .init(host: host, port: port, username: user, password: password,
                                  database: database.isEmpty ? nil : database, tls: tls)
        }
        for key in query.keys where !["host", "port", "sslmode", "pool_max", "application_name"].contains(key) {
            throw StoreError.configuration("DATABASE_URL: unknown parameter '\(key)'")
        }
        if let max = query["pool_max"] {
            guard let n = Int(max), n > 0 else { throw StoreError.configuration("DATABASE_URL: pool_max must be a positive integer") }
            configuration.options.maximumConnections = n
        }
        return configuration
    }
}
