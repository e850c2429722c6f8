import Crypto
import Domain
import Foundation

/// Users and API keys. Only the SHA-256 of a key is stored: keys are 238 random bits, so a fast hash
/// is enough (a slow password hash protects low-entropy secrets; these are not), and lookups stay O(1).
extension SQLExecutor {
    /// The user named `name`, created if missing.
    public func user(named name: String, createIfMissing: Bool, now: Date = Date()) async throws -> User? {
        if createIfMissing {
            try await execute("""
                INSERT INTO users (id, name, created_at) VALUES (\(UUID.v7(at: now)), \(name), \(now))
                ON CONFLICT (name) DO NOTHING
                """)
        }
        guard let row = try await first("SELECT id, name, created_at FROM users WHERE name = \(name)") else { return nil }
        return User(id: try row.require("id", row.uuid), name: try row.require("name", row.string),
                    createdAt: try row.require("created_at", row.date))
    }

    /// Creates a key for `userName` (creating the user) and returns it; the plaintext is not kept anywhere.
    public func createAPIKey(userName: String, isAdmin: Bool, now: Date = Date()) async throws -> (record: APIKeyRecord, key: String) {
        guard let user = try await user(named: userName, createIfMissing: true, now: now) else {
            throw StoreError.corrupt("user \(userName) vanished")
        }
        let key = APIKeys.generate()
        let record = APIKeyRecord(
            id: .v7(at: now), userID: user.id, userName: user.name, prefix: APIKeys.prefix(of: key), isAdmin: isAdmin,
            createdAt: now, revokedAt: nil)
        try await execute("""
            INSERT INTO api_keys (id, user_id, key_hash, prefix, is_admin, created_at)
            VALUES (\(record.id), \(user.id), \(APIKeys.hash(key)), \(record.prefix), \(isAdmin), \(now))
            """)
        return (record, key)
    }

    /// Every key, newest first (revoked ones included, marked).
    public func listAPIKeys() async throws -> [APIKeyRecord] {
        try await query("""
            SELECT k.id, k.user_id, u.name AS user_name, k.prefix, k.is_admin, k.created_at, k.revoked_at
            FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.id DESC
            """).map { row in
            APIKeyRecord(
                id: try row.require("id", row.uuid), userID: try row.require("user_id", row.uuid),
                userName: try row.require("user_name", row.string), prefix: try row.require("prefix", row.string),
                isAdmin: try row.require("is_admin", row.bool), createdAt: try row.require("created_at", row.date),
                revokedAt: try row.date("revoked_at"))
        }
    }

    /// Revokes the key with this id or prefix. Returns the number of keys revoked (0 or 1; a prefix that
    /// matches several keys revokes none and throws, so a typo cannot revoke the wrong key).
    public func revokeAPIKey(_ idOrPrefix: String, now: Date = Date()) async throws -> Int {
        let matches: [any SQLRow]
        if let id = UUID(uuidString: idOrPrefix) {
            matches = try await query("SELECT id FROM api_keys WHERE id = \(id) AND revoked_at IS NULL")
        } else {
            matches = try await query("SELECT id FROM api_keys WHERE prefix = \(idOrPrefix) AND revoked_at IS NULL")
        }
        guard matches.count <= 1 else { throw APIKeys.AmbiguousPrefix(prefix: idOrPrefix, count: matches.count) }
        guard let id = try matches.first?.uuid("id") else { return 0 }
        try await execute("UPDATE api_keys SET revoked_at = \(now) WHERE id = \(id)")
        return 1
    }

    /// The caller a presented key belongs to, or nil when the key is unknown or revoked.
    public func caller(presenting key: String) async throws -> Caller? {
        guard APIKeys.looksValid(key) else { return nil }
        let lookup: SQL = """
            SELECT k.id, k.user_id, u.name AS user_name, k.is_admin
            FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.key_hash = \(APIKeys.hash(key)) AND k.revoked_at IS NULL
            """
        guard let row = try await first(lookup.prepared()) else { return nil }
        return Caller(
            userID: try row.require("user_id", row.uuid), userName: try row.require("user_name", row.string),
            keyID: try row.require("id", row.uuid), isAdmin: try row.require("is_admin", row.bool))
    }

    /// Number of keys that are not revoked.
    public func activeAPIKeyCount() async throws -> Int {
        Int(try await first("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL")?.int("n") ?? 0)
    }
}

/// The format of API keys: `rw_` and 40 base-62 characters.
public enum APIKeys {
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    static let bodyLength = 40

    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return "rw_" + String((0..<bodyLength).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
    }

    public static func hash(_ key: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in SHA256.hash(data: Data(key.utf8)) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func prefix(of key: String) -> String { String(key.prefix(10)) }

    static func looksValid(_ key: String) -> Bool {
        key.utf8.count == 3 + bodyLength && key.hasPrefix("rw_")
    }

    public struct AmbiguousPrefix: Error, CustomStringConvertible {
        public let prefix: String
        public let count: Int
        public var description: String { "\(count) active keys start with \(prefix); give the key's id instead" }
    }
}
