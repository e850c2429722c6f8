import Domain
import Foundation

/// A user's webhook endpoint, as stored (`webhooks`). The secrets are sealed: see ``TokenCipher``.
public struct WebhookRecord: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        /// Standard Webhooks: `{type, timestamp, data}`, signed.
        case standard
        /// Slack-compatible incoming webhooks: `{"text": …}` (signed too).
        case slack
    }

    public var id: UUID
    public var userID: UUID
    public var url: String
    public var format: Format
    /// The alert rules it receives (`score_drop`, …); nil: all.
    public var eventTypes: [String]?
    /// The entries it receives alerts of; nil: all of the user's.
    public var entryIDs: [UUID]?
    public var description: String?
    public var secretSealed: String
    /// The secret before the last rotation: it signs too until ``previousSecretExpiresAt``.
    public var previousSecretSealed: String?
    public var previousSecretExpiresAt: Date?
    public var enabled: Bool
    /// Why it was disabled (by its owner, or automatically after a run of failures).
    public var disabledReason: String?
    /// Failed delivery attempts in a row (0 after a success).
    public var consecutiveFailures: Int
    /// When the current run of failures began.
    public var failingSince: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: UUID, userID: UUID, url: String, format: Format, eventTypes: [String]?, entryIDs: [UUID]?, description: String?,
        secretSealed: String, previousSecretSealed: String? = nil, previousSecretExpiresAt: Date? = nil, enabled: Bool = true,
        disabledReason: String? = nil, consecutiveFailures: Int = 0, failingSince: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.url = url
        self.format = format
        self.eventTypes = eventTypes
        self.entryIDs = entryIDs
        self.description = description
        self.secretSealed = secretSealed
        self.previousSecretSealed = previousSecretSealed
        self.previousSecretExpiresAt = previousSecretExpiresAt
        self.enabled = enabled
        self.disabledReason = disabledReason
        self.consecutiveFailures = consecutiveFailures
        self.failingSince = failingSince
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// True when an alert of `rule` on `entry` is for this endpoint (enabled or not).
    public func receives(rule: String, entry: UUID) -> Bool {
        (eventTypes?.contains(rule) ?? true) && (entryIDs?.contains(entry) ?? true)
    }
}

/// One delivery attempt, for the endpoint's log.
public struct WebhookDeliveryRecord: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case succeeded, failed
        /// Not sent: the endpoint was disabled (or deleted) when its turn came.
        case skipped
    }

    public var id: UUID
    public var webhookID: UUID
    /// The message: the alerts of one notification (its `webhook-id`).
    public var notificationID: UUID
    public var attempt: Int
    public var outcome: Outcome
    public var responseStatus: Int?
    public var latencyMilliseconds: Int64?
    public var error: String?
    public var createdAt: Date

    public init(
        id: UUID, webhookID: UUID, notificationID: UUID, attempt: Int, outcome: Outcome, responseStatus: Int?, latencyMilliseconds: Int64?,
        error: String?, createdAt: Date
    ) {
        self.id = id
        self.webhookID = webhookID
        self.notificationID = notificationID
        self.attempt = attempt
        self.outcome = outcome
        self.responseStatus = responseStatus
        self.latencyMilliseconds = latencyMilliseconds
        self.error = error
        self.createdAt = createdAt
    }
}

extension SQLExecutor {
    public func insertWebhook(_ webhook: WebhookRecord) async throws {
        try await execute("""
            INSERT INTO webhooks (id, user_id, url, format, event_types, entry_ids, description, secret_sealed, previous_secret_sealed,
                previous_secret_expires_at, enabled, disabled_reason, consecutive_failures, failing_since, created_at, updated_at)
            VALUES (\(webhook.id), \(webhook.userID), \(webhook.url), \(webhook.format.rawValue), \(Self.jsonList(webhook.eventTypes)),
                \(Self.jsonList(webhook.entryIDs?.map { $0.uuidString.lowercased() })), \(webhook.description), \(webhook.secretSealed),
                \(webhook.previousSecretSealed), \(webhook.previousSecretExpiresAt), \(webhook.enabled), \(webhook.disabledReason),
                \(webhook.consecutiveFailures), \(webhook.failingSince), \(webhook.createdAt), \(webhook.updatedAt))
            """)
    }

    /// Writes every field of `webhook` but its owner and creation time.
    public func updateWebhook(_ webhook: WebhookRecord) async throws {
        try await execute("""
            UPDATE webhooks SET url = \(webhook.url), format = \(webhook.format.rawValue), event_types = \(Self.jsonList(webhook.eventTypes)),
                entry_ids = \(Self.jsonList(webhook.entryIDs?.map { $0.uuidString.lowercased() })), description = \(webhook.description),
                secret_sealed = \(webhook.secretSealed), previous_secret_sealed = \(webhook.previousSecretSealed),
                previous_secret_expires_at = \(webhook.previousSecretExpiresAt), enabled = \(webhook.enabled),
                disabled_reason = \(webhook.disabledReason), consecutive_failures = \(webhook.consecutiveFailures),
                failing_since = \(webhook.failingSince), updated_at = \(webhook.updatedAt)
            WHERE id = \(webhook.id)
            """)
    }

    /// The webhook `id` if `caller` may see it (nil: any owner). `forUpdate` locks the row on PostgreSQL.
    public func webhook(id: UUID, visibleTo caller: Caller?, forUpdate: Bool = false) async throws -> WebhookRecord? {
        var sql = Self.webhookSelect + " WHERE id = \(id)"
        if let caller, !caller.isAdmin { sql = sql + " AND user_id = \(caller.userID)" }
        if forUpdate { sql = sql + "\(sqlite: "", postgres: " FOR UPDATE")" }
        return try await first(sql).map(Self.decodeWebhook)
    }

    /// One page of webhooks visible to `caller`, oldest first, after the cursor `after`.
    public func webhooks(visibleTo caller: Caller, after: UUID?, limit: Int) async throws -> [WebhookRecord] {
        var sql = Self.webhookSelect + " WHERE 1 = 1"
        if !caller.isAdmin { sql = sql + " AND user_id = \(caller.userID)" }
        if let after { sql = sql + " AND id > \(after)" }
        sql = sql + " ORDER BY id LIMIT \(limit)"
        return try await query(sql).map(Self.decodeWebhook)
    }

    /// The user's enabled webhooks (alerts fan out to them).
    public func enabledWebhooks(ofUser userID: UUID) async throws -> [WebhookRecord] {
        try await query(Self.webhookSelect + " WHERE user_id = \(userID) AND enabled = \(true) ORDER BY id").map(Self.decodeWebhook)
    }

    /// How many webhooks the user has (a cap keeps one user from fanning an alert out without bound).
    public func webhookCount(ofUser userID: UUID) async throws -> Int {
        Int(try await first("SELECT COUNT(*) AS n FROM webhooks WHERE user_id = \(userID)")?.int("n") ?? 0)
    }

    /// - Returns: false when there is no such webhook for `caller`.
    public func deleteWebhook(id: UUID, visibleTo caller: Caller) async throws -> Bool {
        var sql: SQL = "DELETE FROM webhooks WHERE id = \(id)"
        if !caller.isAdmin { sql = sql + " AND user_id = \(caller.userID)" }
        return try await !query(sql + " RETURNING id").isEmpty
    }

    public func insertWebhookDelivery(_ delivery: WebhookDeliveryRecord) async throws {
        try await execute("""
            INSERT INTO webhook_deliveries (id, webhook_id, notification_id, attempt, outcome, response_status, latency_ms, error, created_at)
            VALUES (\(delivery.id), \(delivery.webhookID), \(delivery.notificationID), \(delivery.attempt), \(delivery.outcome.rawValue),
                \(delivery.responseStatus.map(Int64.init)), \(delivery.latencyMilliseconds), \(delivery.error), \(delivery.createdAt))
            """)
    }

    /// The endpoint's delivery log, newest first, before the cursor `before` (a delivery id).
    public func webhookDeliveries(webhook id: UUID, before: UUID?, limit: Int) async throws -> [WebhookDeliveryRecord] {
        var sql: SQL = """
            SELECT id, webhook_id, notification_id, attempt, outcome, response_status, latency_ms, error, created_at
            FROM webhook_deliveries WHERE webhook_id = \(id)
            """
        if let before { sql = sql + " AND id < \(before)" }
        sql = sql + " ORDER BY id DESC LIMIT \(limit)"
        return try await query(sql).map(Self.decodeDelivery)
    }

    public func webhookDelivery(id: UUID, webhook: UUID) async throws -> WebhookDeliveryRecord? {
        try await first("""
            SELECT id, webhook_id, notification_id, attempt, outcome, response_status, latency_ms, error, created_at
            FROM webhook_deliveries WHERE id = \(id) AND webhook_id = \(webhook)
            """).map(Self.decodeDelivery)
    }

    static var webhookSelect: SQL {
        """
        SELECT id, user_id, url, format, event_types, entry_ids, description, secret_sealed, previous_secret_sealed,
            previous_secret_expires_at, enabled, disabled_reason, consecutive_failures, failing_since, created_at, updated_at
        FROM webhooks
        """
    }

    static func jsonList(_ items: [String]?) -> SQLValue {
        guard let items, let data = try? JSONEncoder().encode(items) else { return .null }
        return .json(String(decoding: data, as: UTF8.self))
    }

    static func decodeWebhook(_ row: any SQLRow) throws -> WebhookRecord {
        func list(_ column: String) throws -> [String]? {
            try row.string(column).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        }
        guard let format = WebhookRecord.Format(rawValue: try row.require("format", row.string)) else {
            throw StoreError.corrupt("unknown webhook format")
        }
        return WebhookRecord(
            id: try row.require("id", row.uuid), userID: try row.require("user_id", row.uuid), url: try row.require("url", row.string),
            format: format, eventTypes: try list("event_types"), entryIDs: try list("entry_ids")?.compactMap(UUID.init(uuidString:)),
            description: try row.string("description"), secretSealed: try row.require("secret_sealed", row.string),
            previousSecretSealed: try row.string("previous_secret_sealed"), previousSecretExpiresAt: try row.date("previous_secret_expires_at"),
            enabled: try row.require("enabled", row.bool), disabledReason: try row.string("disabled_reason"),
            consecutiveFailures: Int(try row.require("consecutive_failures", row.int)), failingSince: try row.date("failing_since"),
            createdAt: try row.require("created_at", row.date), updatedAt: try row.require("updated_at", row.date))
    }

    static func decodeDelivery(_ row: any SQLRow) throws -> WebhookDeliveryRecord {
        guard let outcome = WebhookDeliveryRecord.Outcome(rawValue: try row.require("outcome", row.string)) else {
            throw StoreError.corrupt("unknown delivery outcome")
        }
        return WebhookDeliveryRecord(
            id: try row.require("id", row.uuid), webhookID: try row.require("webhook_id", row.uuid),
            notificationID: try row.require("notification_id", row.uuid),
            attempt: Int(try row.require("attempt", row.int)), outcome: outcome, responseStatus: try row.int("response_status").map(Int.init),
            latencyMilliseconds: try row.int("latency_ms"), error: try row.string("error"), createdAt: try row.require("created_at", row.date))
    }
}
