import Domain
import Foundation
import Logging
import Pipeline
import Queue
import Store

/// When an endpoint that keeps failing is disabled: after `failures` failed attempts in a row spanning at least
/// `duration` (both: a burst of failures during a short outage does not disable it).
public struct WebhookDisablePolicy: Sendable, Equatable {
    public var failures: Int
    public var duration: Duration

    public init(failures: Int, duration: Duration) {
        self.failures = failures
        self.duration = duration
    }

    func disables(_ webhook: WebhookRecord, now: Date) -> Bool {
        guard webhook.consecutiveFailures >= failures, let since = webhook.failingSince else { return false }
        return now.timeIntervalSince(since) >= duration.seconds
    }
}

/// Runs `webhook-delivery` jobs: one notification's alerts to one endpoint, signed (Standard Webhooks), every attempt
/// logged (`webhook_deliveries`). A failed attempt is thrown, so the queue retries it with the `webhook-delivery`
/// kind's backoff; the same `webhook-id` goes with every attempt, so a receiver can drop a message it already has.
public struct WebhookDeliveryHandler: JobHandler {
    /// The purpose a webhook's secret is sealed for (``TokenCipher``).
    public static let secretPurpose = "repowatch-webhook"

    let sender: WebhookSender
    let secrets: TokenCipher?
    let disabling: WebhookDisablePolicy
    let clock: @Sendable () -> Date

    public init(sender: WebhookSender, secrets: TokenCipher?, disabling: WebhookDisablePolicy, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.sender = sender
        self.secrets = secrets
        self.disabling = disabling
        self.clock = clock
    }

    public func handle(_ job: WebhookDeliveryJob, context: JobContext) async throws {
        let store = context.store
        let (found, events) = try await store.read { tx in
            (try await tx.webhook(id: job.webhookID, visibleTo: nil), try await tx.alertEvents(notification: job.notificationID))
        }
        // Deleted endpoint (its log went with it) or deleted entry (its alerts went with it): nothing to send.
        guard let webhook = found, !events.isEmpty else { return }
        let wanted = events.filter { webhook.receives(rule: $0.event.rule, entry: $0.event.entryID) }
        guard webhook.enabled, !wanted.isEmpty else {
            try await record(job, attempt: context.job.attempt, outcome: nil, skipped: webhook.enabled ? "no alert of it is wanted any more" : "the webhook is disabled", context: context)
            return
        }
        guard let secrets else { throw JobFailure.permanent("secrets.token_key is not set: webhook secrets cannot be opened") }
        let now = clock()
        var keys = [try secrets.open(webhook.secretSealed, boundTo: webhook.id, purpose: Self.secretPurpose)]
        if let previous = webhook.previousSecretSealed, let until = webhook.previousSecretExpiresAt, until > now {
            keys.append(try secrets.open(previous, boundTo: webhook.id, purpose: Self.secretPurpose))
        }
        let body = try WebhookMessage.body(for: wanted, format: webhook.format, at: now)
        let messageID = "msg_" + job.notificationID.lowercased
        let timestamp = Int64(now.timeIntervalSince1970)
        let signature = try WebhookSignature.header(messageID: messageID, timestamp: timestamp, body: body, secrets: keys)
        let outcome = await sender.send(
            url: webhook.url, body: body,
            headers: [("webhook-id", messageID), ("webhook-timestamp", String(timestamp)), ("webhook-signature", signature)])
        let disabled = try await record(job, attempt: context.job.attempt, outcome: outcome, skipped: nil, context: context)
        if let error = outcome.error {
            context.logger.notice("webhook delivery failed", metadata: [
                "webhook": "\(webhook.id.lowercased)", "notification": "\(job.notificationID.lowercased)", "attempt": "\(context.job.attempt)",
                "error": "\(error)",
            ])
            if outcome.permanent || disabled { throw JobFailure.permanent(error) }
            throw WebhookDeliveryFailed(description: error)
        }
    }

    /// Logs the attempt and keeps the endpoint's run of failures; a success completes the job in the same transaction.
    /// - Returns: true when this failure disabled the endpoint.
    @discardableResult
    private func record(_ job: WebhookDeliveryJob, attempt: Int, outcome: WebhookSender.Outcome?, skipped: String?, context: JobContext) async throws -> Bool {
        let now = clock()
        let (disabling, logger) = (disabling, context.logger)
        return try await context.store.transaction { tx -> Bool in
            let delivery = WebhookDeliveryRecord(
                id: UUID.v7(at: now), webhookID: job.webhookID, notificationID: job.notificationID, attempt: attempt,
                outcome: skipped != nil ? .skipped : (outcome?.succeeded == true ? .succeeded : .failed), responseStatus: outcome?.status,
                latencyMilliseconds: outcome.map { Int64(($0.latency.seconds * 1000).rounded()) }, error: skipped ?? outcome?.error, createdAt: now)
            guard var webhook = try await tx.webhook(id: job.webhookID, visibleTo: nil, forUpdate: true) else { return false }
            try await tx.insertWebhookDelivery(delivery)
            var disabled = false
            if let outcome {
                if outcome.succeeded {
                    webhook.consecutiveFailures = 0
                    webhook.failingSince = nil
                } else {
                    webhook.consecutiveFailures += 1
                    webhook.failingSince = webhook.failingSince ?? now
                    if webhook.enabled, disabling.disables(webhook, now: now) {
                        webhook.enabled = false
                        webhook.disabledReason = "\(webhook.consecutiveFailures) deliveries in a row failed since \(ISO8601DateFormatter().string(from: webhook.failingSince ?? now))"
                        disabled = true
                        logger.warning("webhook disabled after a run of failures", metadata: ["webhook": "\(webhook.id.lowercased)"])
                    }
                }
                webhook.updatedAt = now
                try await tx.updateWebhook(webhook)
            }
            if outcome?.succeeded ?? true { try await context.complete(in: tx) }
            return disabled
        }
    }
}

/// A delivery attempt that failed and may succeed later (retried by the queue).
struct WebhookDeliveryFailed: Error, CustomStringConvertible {
    let description: String
}
