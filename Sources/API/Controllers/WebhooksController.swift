import Domain
import Egress
import Foundation
import HTTPTypes
import Hummingbird
import Pipeline
import Queue
import Settings
import Store
import Webhooks

/// `/v1/webhooks`: a user's endpoints for alerts. The signing secret is shown once, when made (and when rotated);
/// it is stored sealed (``TokenCipher``), never logged, never shown again.
struct WebhooksController {
    let store: any Store
    let queue: JobQueue
    let settings: Settings
    let secrets: TokenCipher?
    let egress: EgressPolicy

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("webhooks", use: create)
        group.get("webhooks", use: list)
        group.get("webhooks/{id}", use: show)
        group.patch("webhooks/{id}", use: update)
        group.delete("webhooks/{id}", use: delete)
        group.get("webhooks/{id}/deliveries", use: deliveries)
        group.post("webhooks/{id}/deliveries/{delivery}/redeliver", use: redeliver)
    }

    static let fields: Set<String> = ["url", "events", "entries", "format", "description"]

    struct WebhookResponse: Encodable {
        let id: String
        let url: String
        let format: String
        @NullEncodable var events: [String]?
        @NullEncodable var entries: [String]?
        @NullEncodable var description: String?
        let enabled: Bool
        @NullEncodable var disabled_reason: String?
        let consecutive_failures: Int
        @NullEncodable var failing_since: Date?
        @NullEncodable var previous_secret_expires_at: Date?
        /// Only in the answer that made or rotated it.
        var secret: String?
        let created_at: Date
        let updated_at: Date

        init(_ w: WebhookRecord, secret: String? = nil, now: Date = Date()) {
            id = w.id.lowercased
            url = w.url
            format = w.format.rawValue
            events = w.eventTypes
            entries = w.entryIDs?.map(\.lowercased)
            description = w.description
            enabled = w.enabled
            disabled_reason = w.disabledReason
            consecutive_failures = w.consecutiveFailures
            failing_since = w.failingSince
            previous_secret_expires_at = w.previousSecretExpiresAt.flatMap { $0 > now ? $0 : nil }
            self.secret = secret
            created_at = w.createdAt
            updated_at = w.updatedAt
        }
    }

    struct WebhookListResponse: Encodable {
        let items: [WebhookResponse]
        @NullEncodable var next_cursor: String?
    }

    struct DeliveryResponse: Encodable {
        let id: String
        let notification_id: String
        let webhook_id: String
        let attempt: Int
        let outcome: String
        @NullEncodable var response_status: Int?
        @NullEncodable var latency_ms: Int64?
        @NullEncodable var error: String?
        let created_at: Date

        init(_ d: WebhookDeliveryRecord) {
            id = d.id.lowercased
            notification_id = d.notificationID.lowercased
            webhook_id = d.webhookID.lowercased
            attempt = d.attempt
            outcome = d.outcome.rawValue
            response_status = d.responseStatus
            latency_ms = d.latencyMilliseconds
            error = d.error
            created_at = d.createdAt
        }
    }

    struct DeliveryListResponse: Encodable {
        let items: [DeliveryResponse]
        @NullEncodable var next_cursor: String?
    }

    struct RedeliveryResponse: Encodable {
        let notification_id: String
        let job_id: Int64
        /// False when a delivery of the same message was already waiting: that one will carry it.
        let enqueued: Bool
    }

    // MARK: Routes

    /// POST /v1/webhooks {url, events?, entries?, format?, description?} → 201 with the secret, once.
    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await JSONBody.read(request, maxBytes: settings.maxBodyBytes, allowed: Self.fields)
        let url = try await checkedURL(try body.requiredString("url"))
        let events = try Self.events(body)
        let format = try Self.format(body) ?? .standard
        let description = try Self.description(body)
        let entries = try await ownedEntries(body, caller: caller)
        let sealer = try requireSecrets()
        let now = Date()
        let id = UUID.v7(at: now)
        let secret = WebhookSignature.newSecret()
        let webhook = WebhookRecord(
            id: id, userID: caller.userID, url: url, format: format, eventTypes: events ?? nil, entryIDs: entries ?? nil,
            description: description ?? nil, secretSealed: try sealer.seal(secret, boundTo: id, purpose: WebhookDeliveryHandler.secretPurpose),
            createdAt: now, updatedAt: now)
        let maxPerUser = settings.webhooks.maxPerUser
        try await store.transaction { tx in
            // Counted under the user's row lock on PostgreSQL, so two concurrent creates cannot both pass the cap.
            if tx.dialect == .postgres { try await tx.execute("SELECT id FROM users WHERE id = \(caller.userID) FOR UPDATE") }
            guard try await tx.webhookCount(ofUser: caller.userID) < maxPerUser else {
                throw APIError(.conflict, code: "too_many_webhooks", "a user may register at most \(maxPerUser) webhooks (webhooks.max_per_user)")
            }
            try await tx.insertWebhook(webhook)
        }
        return try JSONResponse.make(.created, WebhookResponse(webhook, secret: secret), headers: [.location: "/v1/webhooks/\(id.lowercased)"])
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let limit = try Paging.limit(request, settings: settings)
        let cursor = try Paging.cursor(request) { UUID(uuidString: $0) }
        let rows = try await store.read { try await $0.webhooks(visibleTo: caller, after: cursor, limit: limit + 1) }
        let (items, next) = Paging.page(rows, limit: limit) { $0.id.lowercased }
        return try JSONResponse.make(.ok, WebhookListResponse(items: items.map { WebhookResponse($0) }, next_cursor: next))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let webhook = try await find(context.parameters.get("id"), caller: try context.requireCaller())
        return try JSONResponse.make(.ok, WebhookResponse(webhook))
    }

    /// PATCH /v1/webhooks/{id} {url?, events?, entries?, format?, description?, enabled?, rotate_secret?}. Enabling starts
    /// its run of failures again; `rotate_secret: true` answers with the new secret, once, and the old one keeps signing
    /// (beside it) for webhooks.secret_overlap.
    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let existing = try await find(context.parameters.get("id"), caller: caller)
        let body = try await JSONBody.read(
            request, maxBytes: settings.maxBodyBytes, allowed: Self.fields.union(["enabled", "rotate_secret"]))
        let url = body.has("url") ? try await checkedURL(try body.requiredString("url")) : nil
        let events = try Self.events(body)
        let entries = try await ownedEntries(body, caller: caller)
        let format = try Self.format(body)
        let description = try Self.description(body)
        let enabled = try Self.bool(body, "enabled")
        let now = Date()
        var secret: String?
        var sealed: String?
        if try Self.bool(body, "rotate_secret") == true {
            let new = WebhookSignature.newSecret()
            sealed = try requireSecrets().seal(new, boundTo: existing.id, purpose: WebhookDeliveryHandler.secretPurpose)
            secret = new
        }
        let (overlap, newSecret) = (settings.webhooks.secretOverlap, sealed)
        let updated = try await store.transaction { tx -> WebhookRecord in
            // Applied to the row as it is now (a delivery may have counted a failure meanwhile): only what was asked changes.
            guard var webhook = try await tx.webhook(id: existing.id, visibleTo: caller, forUpdate: true) else {
                throw APIError.notFound("no webhook with id \(existing.id.lowercased)")
            }
            if let url { webhook.url = url }
            if let events { webhook.eventTypes = events }
            if let entries { webhook.entryIDs = entries }
            if let format { webhook.format = format }
            if let description { webhook.description = description }
            if let enabled, enabled != webhook.enabled {
                webhook.enabled = enabled
                webhook.disabledReason = enabled ? nil : "disabled by its owner"
                if enabled {
                    webhook.consecutiveFailures = 0
                    webhook.failingSince = nil
                }
            }
            if let newSecret {
                webhook.previousSecretSealed = webhook.secretSealed
                webhook.previousSecretExpiresAt = now.addingTimeInterval(overlap.seconds)
                webhook.secretSealed = newSecret
            }
            webhook.updatedAt = now
            try await tx.updateWebhook(webhook)
            return webhook
        }
        return try JSONResponse.make(.ok, WebhookResponse(updated, secret: secret, now: now))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let webhook = try await find(context.parameters.get("id"), caller: caller)
        _ = try await store.transaction { try await $0.deleteWebhook(id: webhook.id, visibleTo: caller) }
        return Response(status: .noContent)
    }

    /// GET /v1/webhooks/{id}/deliveries?cursor=&limit= → the attempts, newest first.
    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> Response {
        let webhook = try await find(context.parameters.get("id"), caller: try context.requireCaller())
        let limit = try Paging.limit(request, settings: settings)
        let cursor = try Paging.cursor(request) { UUID(uuidString: $0) }
        let rows = try await store.read { try await $0.webhookDeliveries(webhook: webhook.id, before: cursor, limit: limit + 1) }
        let (items, next) = Paging.page(rows, limit: limit) { $0.id.lowercased }
        return try JSONResponse.make(.ok, DeliveryListResponse(items: items.map(DeliveryResponse.init), next_cursor: next))
    }

    /// POST /v1/webhooks/{id}/deliveries/{delivery}/redeliver → 202: the message of that attempt is sent again (same
    /// webhook-id), as a new delivery with fresh attempts. 409 while the endpoint is disabled; 410 when its alerts are gone.
    @Sendable func redeliver(_ request: Request, context: AppRequestContext) async throws -> Response {
        let webhook = try await find(context.parameters.get("id"), caller: try context.requireCaller())
        guard let deliveryID = context.parameters.get("delivery").flatMap(UUID.init(uuidString:)),
            let delivery = try await store.read({ try await $0.webhookDelivery(id: deliveryID, webhook: webhook.id) })
        else { throw APIError.notFound("no delivery with that id for this webhook") }
        guard webhook.enabled else {
            throw APIError(.conflict, code: "webhook_disabled", "the webhook is disabled: enable it (PATCH {\"enabled\": true}) first")
        }
        let (queue, notification) = (queue, delivery.notificationID)
        let result = try await store.transaction { tx -> EnqueueResult? in
            guard !(try await tx.alertEvents(notification: notification)).isEmpty else { return nil }
            let job = WebhookDeliveryJob(webhookID: webhook.id, notificationID: notification)
            return try await queue.enqueue(job, options: job.options, in: tx)
        }
        guard let result else {
            throw APIError(.gone, code: "alerts_gone", "the alerts of that message are gone (their watchlist entry was deleted)")
        }
        return try JSONResponse.make(
            .accepted, RedeliveryResponse(notification_id: notification.lowercased, job_id: result.jobID, enqueued: result.inserted))
    }

    // MARK: Validation

    func find(_ text: String?, caller: Caller) async throws -> WebhookRecord {
        guard let text, let id = UUID(uuidString: text),
            let webhook = try await store.read({ try await $0.webhook(id: id, visibleTo: caller) })
        else { throw APIError.notFound("no webhook with id \(text ?? "")") }
        return webhook
    }

    func requireSecrets() throws -> TokenCipher {
        guard let secrets else {
            throw APIError(.unprocessableContent, code: "secrets_not_configured",
                           "webhook secrets are stored sealed and no key is configured: set secrets.token_key (the same on every host)")
        }
        return secrets
    }

    /// The URL as text, then where it may connect to now (its resolved addresses must be public unless listed in
    /// webhooks.internal_hosts). Delivery checks again, every time.
    func checkedURL(_ text: String) async throws -> String {
        let url: WebhookURL
        do {
            url = try WebhookURL(parsing: text)
        } catch {
            throw APIError(.unprocessableContent, code: "invalid_url", "field 'url' \(error.message)", details: ["field": "url"])
        }
        do {
            _ = try await egress.authorize(url.endpoint)
        } catch {
            throw APIError(.unprocessableContent, code: error.code.rawValue, error.message, details: ["field": "url"])
        }
        return url.text
    }

    /// `events`: absent → unchanged; null → every rule; a list of rule names (at least one).
    static func events(_ body: JSONBody) throws -> [String]?? {
        guard let value = body.fields["events"] else { return nil }
        if value == .null { return .some(nil) }
        let known = Alert.Rule.allCases.map(\.rawValue)
        guard case .array(let items) = value, !items.isEmpty, items.count <= known.count else {
            throw APIError(.unprocessableContent, code: "invalid_field",
                           "field 'events' must be null (every alert) or a list of: \(known.joined(separator: ", "))", details: ["field": "events"])
        }
        var names: [String] = []
        for item in items {
            guard case .string(let name) = item, known.contains(name) else {
                throw APIError(.unprocessableContent, code: "invalid_field",
                               "field 'events' lists an unknown alert; known: \(known.joined(separator: ", "))", details: ["field": "events"])
            }
            if !names.contains(name) { names.append(name) }
        }
        return .some(names.sorted())
    }

    /// `entries`: absent → unchanged; null → all of the caller's; a list of the caller's entry ids.
    func ownedEntries(_ body: JSONBody, caller: Caller) async throws -> [UUID]?? {
        guard let value = body.fields["entries"] else { return nil }
        if value == .null { return .some(nil) }
        guard case .array(let items) = value, !items.isEmpty, items.count <= 1000 else {
            throw APIError(.unprocessableContent, code: "invalid_field", "field 'entries' must be null (every entry) or a list of 1 to 1000 entry ids",
                           details: ["field": "entries"])
        }
        var ids: [UUID] = []
        for item in items {
            guard case .string(let text) = item, let id = UUID(uuidString: text) else {
                throw APIError(.unprocessableContent, code: "invalid_field", "field 'entries' must list watchlist entry ids", details: ["field": "entries"])
            }
            if !ids.contains(id) { ids.append(id) }
        }
        let wanted = ids
        let found = try await store.read { tx in
            var found = 0
            for id in wanted where try await tx.entry(id: id, visibleTo: caller) != nil { found += 1 }
            return found
        }
        guard found == wanted.count else {
            throw APIError(.unprocessableContent, code: "unknown_entry", "field 'entries' lists an entry that is not on your watchlist",
                           details: ["field": "entries"])
        }
        return .some(wanted)
    }

    static func format(_ body: JSONBody) throws -> WebhookRecord.Format? {
        guard let value = body.fields["format"] else { return nil }
        guard case .string(let text) = value, let format = WebhookRecord.Format(rawValue: text) else {
            throw APIError(.unprocessableContent, code: "invalid_field", "field 'format' must be \"standard\" or \"slack\"", details: ["field": "format"])
        }
        return format
    }

    static func description(_ body: JSONBody) throws -> String?? {
        let description = try body.optionalString("description")
        if let text = description ?? nil, text.count > 500 {
            throw APIError(.unprocessableContent, code: "invalid_field", "field 'description' is longer than 500 characters", details: ["field": "description"])
        }
        return description
    }

    static func bool(_ body: JSONBody, _ name: String) throws -> Bool? {
        guard let value = body.fields[name] else { return nil }
        guard case .bool(let flag) = value else { throw JSONBody.wrongType(name, expected: "a boolean", got: value) }
        return flag
    }
}
