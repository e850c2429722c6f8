import Crypto
import Domain
import Foundation

/// Dashboard sessions: a browser signs in with an API key once and gets a random token in a cookie.
///
/// Only the token's SHA-256 is stored (tokens are 256 random bits: a fast hash is enough, as for API keys). A session
/// authenticates as its key: it ends when the key is revoked (the lookup joins `api_keys`), when it expires, or at
/// sign-out.
extension SQLExecutor {
    /// Opens a session for the caller's key; returns the token for the cookie (not kept anywhere in plain text).
    public func createSession(for caller: Caller, ttl: Duration, now: Date = Date()) async throws -> String {
        let token = DashboardSessions.generate()
        let expires = now.addingTimeInterval(Double(ttl.components.seconds))
        try await execute("""
            INSERT INTO dashboard_sessions (id, token_hash, key_id, created_at, expires_at)
            VALUES (\(UUID.v7(at: now)), \(DashboardSessions.hash(token)), \(caller.keyID), \(now), \(expires))
            """)
        return token
    }

    /// The caller a session token stands for, or nil when it is unknown, expired, or its key is revoked.
    public func caller(session token: String, now: Date = Date()) async throws -> Caller? {
        guard DashboardSessions.looksValid(token) else { return nil }
        let lookup: SQL = """
            SELECT k.id, k.user_id, u.name AS user_name, k.is_admin
            FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id JOIN users u ON u.id = k.user_id
            WHERE s.token_hash = \(DashboardSessions.hash(token)) AND s.expires_at > \(now) AND k.revoked_at IS NULL
            """
        guard let row = try await first(lookup.prepared()) else { return nil }
        return Caller(
            userID: try row.require("user_id", row.uuid), userName: try row.require("user_name", row.string),
            keyID: try row.require("id", row.uuid), isAdmin: try row.require("is_admin", row.bool))
    }

    /// Ends a session (sign-out). Returns whether there was one.
    @discardableResult
    public func deleteSession(token: String) async throws -> Bool {
        guard DashboardSessions.looksValid(token) else { return false }
        return try await first("DELETE FROM dashboard_sessions WHERE token_hash = \(DashboardSessions.hash(token)) RETURNING id") != nil
    }

    /// Deletes expired sessions and those of revoked keys (the maintenance pass); returns how many.
    public func deleteEndedSessions(now: Date = Date()) async throws -> Int {
        try await query("""
            DELETE FROM dashboard_sessions
            WHERE expires_at <= \(now) OR key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NOT NULL)
            RETURNING id
            """).count
    }
}

/// The format of session tokens: `rws_` and 43 base-64url characters (256 random bits).
public enum DashboardSessions {
    public static func generate() -> String {
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        return "rws_" + bytes.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ token: String) -> String { APIKeys.hash(token) }

    public static func looksValid(_ token: String) -> Bool {
        token.utf8.count == 47 && token.hasPrefix("rws_")
            && token.utf8.dropFirst(4).allSatisfy { $0 == 0x2d || $0 == 0x5f || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
    }
}
