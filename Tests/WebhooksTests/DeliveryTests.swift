import Domain
import Egress
import Foundation
import Logging
import Pipeline
import Queue
import ServiceLifecycle
import Store
import TestSupport
import Testing
import Webhooks

/// Deliveries on both engines, by the real workers and handler, to a receiver on loopback: an alert raised in a
/// transaction reaches the endpoint signed, is retried with one webhook-id until it is answered 2xx, is timed out when
/// the endpoint hangs, is refused when the endpoint's address is private, and a run of failures disables the endpoint.
@Suite("Webhook deliveries")
struct DeliveryTests {
    struct Harness: Sendable {
        let store: any Store
        let queue: JobQueue
        let lifecycle: Lifecycle
        let receiver: WebhookReceiver

        static let secrets = try! TokenCipher(base64Key: Data(repeating: 9, count: 32).base64EncodedString())

        static func with(
            _ engine: Engine, allowReceiver: Bool = true, timeout: Duration = .seconds(5), maxAttempts: Int = 6,
            disabling: WebhookDisablePolicy = .init(failures: 1000, duration: .seconds(3600)),
            _ body: @escaping @Sendable (Harness) async throws -> Void
        ) async throws {
            let receiver = try await WebhookReceiver.start()
            do {
                try await TestDatabase.withStore(engine) { store in
                    let bare = JobQueue(
                        store: store,
                        configuration: .init(
                            maxAttempts: 3, retry: RetryPolicy(base: .milliseconds(10), maximum: .milliseconds(50), jitter: 0),
                            retryByKind: [WebhookDeliveryJob.kind: RetryPolicy(base: .milliseconds(20), maximum: .milliseconds(100), jitter: 0)],
                            maxAttemptsByKind: [WebhookDeliveryJob.kind: maxAttempts]))
                    let lifecycle = Lifecycle(
                        queue: bare,
                        schedule: CheckSchedule(
                            interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(365 * 86_400), failureBackoff: .seconds(300)))
                    let queue = lifecycle.installed(on: bare)
                    let hosts = try HostPolicy(anyPublicHostAnd: allowReceiver ? ["127.0.0.1:\(receiver.port)"] : [])
                    var registry = JobRegistry()
                    registry.register(
                        WebhookDeliveryHandler(
                            sender: WebhookSender(egress: EgressPolicy(hosts: hosts), timeout: timeout, connectTimeout: .seconds(2), maxResponseBytes: 4096),
                            secrets: secrets, disabling: disabling),
                        timeout: timeout + .seconds(30))
                    var logger = Logger(label: "webhook-test")
                    logger.logLevel = .warning
                    let workers = JobWorkers(
                        queue: queue, registry: registry,
                        configuration: .init(concurrency: [WebhookDeliveryJob.queue: 2], pollInterval: .milliseconds(20), rescueInterval: .seconds(1)),
                        logger: logger)
                    let group = ServiceGroup(configuration: .init(services: [.init(service: workers)], gracefulShutdownSignals: [], logger: logger))
                    try await withThrowingTaskGroup(of: Void.self) { tasks in
                        tasks.addTask { try await group.run() }
                        do {
                            try await body(Harness(store: store, queue: queue, lifecycle: lifecycle, receiver: receiver))
                        } catch {
                            await group.triggerGracefulShutdown()
                            throw error
                        }
                        await group.triggerGracefulShutdown()
                        try await tasks.waitForAll()
                    }
                }
            } catch {
                await receiver.stop()
                throw error
            }
            await receiver.stop()
        }

        /// Registers a webhook for `user` (as the API does, without its address check), returning it and its secret.
        func webhook(user: String = "alice", url: String? = nil, format: WebhookRecord.Format = .standard) async throws -> (WebhookRecord, String) {
            let secret = WebhookSignature.newSecret()
            let now = Date()
            let id = UUID.v7(at: now)
            let target = url ?? receiver.url
            let webhook = try await store.transaction { tx in
                let owner = try #require(try await tx.user(named: user, createIfMissing: true))
                let webhook = WebhookRecord(
                    id: id, userID: owner.id, url: target, format: format, eventTypes: nil, entryIDs: nil, description: nil,
                    secretSealed: try Self.secrets.seal(secret, boundTo: id, purpose: WebhookDeliveryHandler.secretPurpose), createdAt: now, updatedAt: now)
                try await tx.insertWebhook(webhook)
                return webhook
            }
            return (webhook, secret)
        }

        /// `user` adds a repository that is already ready: the lifecycle raises the `processing` alert at once, and the
        /// delivery jobs of the user's webhooks are enqueued in the same transaction.
        /// - Returns: the alert's notification id.
        func raiseAlert(user: String = "alice", repository name: String = "lib") async throws -> UUID {
            let lifecycle = lifecycle
            return try await store.transaction { tx in
                let owner = try #require(try await tx.user(named: user, createIfMissing: true))
                let added = try await tx.addToWatchlist(
                    userID: owner.id, url: try RepositoryURL(parsing: "https://github.com/acme/\(name)"), alertsJSON: "{}", notes: nil, now: Date())
                let id = added.entry.repository.id
                try await tx.execute("UPDATE repositories SET status = 'ready', stage = 'done', progress = 100 WHERE id = \(id)")
                try await lifecycle.added(repository: id, entry: added.entry.entry.id, in: tx)
                let events = try await tx.alertEvents(visibleTo: nil, entry: added.entry.entry.id, after: nil, limit: 10)
                return try #require(events.first?.event.notificationID)
            }
        }

        /// The endpoint's log, oldest first, once `count` attempts are in it (at most 30 s).
        func deliveries(_ webhook: UUID, count: Int) async throws -> [WebhookDeliveryRecord] {
            let deadline = ContinuousClock.now + .seconds(30)
            while true {
                let rows = try await store.read { try await $0.webhookDeliveries(webhook: webhook, before: nil, limit: 100) }
                if rows.count >= count || ContinuousClock.now > deadline { return rows.sorted { $0.createdAt < $1.createdAt || ($0.createdAt == $1.createdAt && $0.attempt < $1.attempt) } }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        func job(_ webhook: UUID) async throws -> JobRecord? {
            try await queue.list(kind: WebhookDeliveryJob.kind, limit: 10).first {
                (try? JSONDecoder().decode(WebhookDeliveryJob.self, from: Data($0.argsJSON.utf8)))?.webhookID == webhook
            }
        }
    }

    @Test(arguments: Engine.allCases)
    func aFailingEndpointGetsTheSameMessageUntilItAnswers(engine: Engine) async throws {
        try await Harness.with(engine) { h in
            let (webhook, secret) = try await h.webhook()
            h.receiver.script([.status(500), .status(500), .status(500)])
            let notification = try await h.raiseAlert()
            let received = try await h.receiver.waitFor(4)
            #expect(received.count == 4, "three 500s, then a 200")
            let ids = Set(received.compactMap { $0.headers["webhook-id"] })
            #expect(ids == ["msg_" + notification.lowercased], "one webhook-id across the retries: \(ids)")
            for request in received {
                let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Int64($0) })
                let expected = try WebhookSignature.sign(messageID: "msg_" + notification.lowercased, timestamp: timestamp, body: request.body, secret: secret)
                #expect(request.headers["webhook-signature"] == expected)
                #expect(request.headers["content-type"] == "application/json")
            }
            let payload = try #require(try JSONSerialization.jsonObject(with: received[3].body) as? [String: Any])
            #expect(payload["type"] as? String == "alerts.raised")
            let alerts = (payload["data"] as? [String: Any])?["alerts"] as? [[String: Any]]
            #expect(alerts?.first?["rule"] as? String == "processing" && alerts?.first?["subject"] as? String == "ready")

            let log = try await h.deliveries(webhook.id, count: 4)
            #expect(log.map(\.outcome) == [.failed, .failed, .failed, .succeeded])
            #expect(log.map(\.attempt) == [1, 2, 3, 4])
            #expect(log.map(\.responseStatus) == [500, 500, 500, 200])
            #expect(log.allSatisfy { $0.notificationID == notification && $0.latencyMilliseconds != nil })
            #expect(log.first?.error == "http_error: HTTP 500")
            let stored = try await h.store.read { try await $0.webhook(id: webhook.id, visibleTo: nil) }
            #expect(stored?.consecutiveFailures == 0 && stored?.failingSince == nil, "a success ends the run of failures")
        }
    }

    @Test(arguments: Engine.allCases)
    func anEndpointThatHangsIsTimedOut(engine: Engine) async throws {
        try await Harness.with(engine, timeout: .seconds(1)) { h in
            let (webhook, _) = try await h.webhook()
            h.receiver.script([.hang])
            _ = try await h.raiseAlert()
            let log = try await h.deliveries(webhook.id, count: 2)
            #expect(log.map(\.outcome) == [.failed, .succeeded])
            #expect(log.first?.responseStatus == nil && log.first?.error?.hasPrefix("timed_out") == true, "\(log.first?.error ?? "")")
            #expect((log.first?.latencyMilliseconds ?? 0) >= 1000)
        }
    }

    @Test(arguments: Engine.allCases)
    func anEndpointOnAPrivateAddressIsRefusedAtDelivery(engine: Engine) async throws {
        try await Harness.with(engine, allowReceiver: false) { h in
            // Registered by a name that resolves to loopback (as a DNS name rebound after registration would).
            let (webhook, _) = try await h.webhook(url: "http://localhost:\(h.receiver.port)/hook")
            _ = try await h.raiseAlert()
            let log = try await h.deliveries(webhook.id, count: 1)
            #expect(log.count == 1 && log.first?.outcome == .failed)
            #expect(log.first?.error?.hasPrefix("private_address") == true, "\(log.first?.error ?? "")")
            // The delivery is logged, then its job given up in the handler's own transaction: wait for that, not for a time.
            #expect(try await waitUntil { try await h.job(webhook.id)?.state == .discarded }, "the delivery job is discarded")
            #expect(try await h.deliveries(webhook.id, count: 1).count == 1, "refused for good: not retried")
            #expect(h.receiver.received.isEmpty, "nothing reached the address")
        }
    }

    @Test(arguments: Engine.allCases)
    func aRunOfFailuresDisablesTheEndpoint(engine: Engine) async throws {
        try await Harness.with(engine, maxAttempts: 10, disabling: .init(failures: 3, duration: .zero)) { h in
            let (webhook, _) = try await h.webhook()
            h.receiver.script(Array(repeating: .status(503), count: 10))
            _ = try await h.raiseAlert()
            let log = try await h.deliveries(webhook.id, count: 3)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await h.deliveries(webhook.id, count: 3).count == 3, "no attempt after the endpoint was disabled")
            let stored = try #require(try await h.store.read { try await $0.webhook(id: webhook.id, visibleTo: nil) })
            #expect(!stored.enabled && stored.consecutiveFailures == 3 && stored.disabledReason?.contains("3 deliveries in a row failed") == true)
            #expect(log.allSatisfy { $0.outcome == .failed })
            #expect(try await h.job(webhook.id)?.state == .discarded)

            // A disabled endpoint gets no new deliveries.
            _ = try await h.raiseAlert(repository: "other")
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.receiver.received.count == 3)
        }
    }

    @Test(arguments: [Engine.sqlite])
    func aSlackEndpointGetsText(engine: Engine) async throws {
        try await Harness.with(engine) { h in
            _ = try await h.webhook(format: .slack)
            _ = try await h.raiseAlert()
            let received = try await h.receiver.waitFor(1)
            let first = try #require(received.first)
            let body = try #require(try JSONSerialization.jsonObject(with: first.body) as? [String: String])
            #expect(body.keys.sorted() == ["text"])
            #expect(body["text"] == "RepoWatch: https://github.com/acme/lib\n• processing finished: ready")
        }
    }
}
