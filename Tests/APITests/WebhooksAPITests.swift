import API
import Domain
import Foundation
import HTTPTypes
import Store
import TestSupport
import Testing

/// `/v1/webhooks`: registration checks the URL and where it resolves to, the secret is shown once and stored sealed,
/// rotation keeps the old secret for an overlap, a user sees only their own endpoints.
@Suite("Webhooks API")
struct WebhooksAPITests {
    static let internalHost = "127.0.0.1:45999"

    @Test(arguments: Engine.allCases)
    func registerRotateDisableAndDelete(engine: Engine) async throws {
        try await APIHarness.with(engine, environment: ["REPOWATCH_WEBHOOKS_INTERNAL_HOSTS": Self.internalHost]) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let url = "http://\(Self.internalHost)/hook"
            let created = try await api.request(.post, "/v1/webhooks", key: alice, json: #"{"url": "\#(url)", "events": ["score_drop", "check_regressed"], "description": "ops"}"#)
            #expect(created.status == .created)
            let id = try #require(created.string("id"))
            let secret = try #require(created.string("secret"))
            #expect(secret.hasPrefix("whsec_") && Data(base64Encoded: String(secret.dropFirst(6)))?.count == 32)
            #expect(created.headers[.location] == "/v1/webhooks/\(id)")
            #expect(created["events"] == .array([.string("check_regressed"), .string("score_drop")]))
            #expect(created["entries"] == .null && created["format"] == .string("standard") && created["enabled"] == .bool(true))

            // Shown once: never again, and not stored in the clear.
            let shown = try await api.request(.get, "/v1/webhooks/\(id)", key: alice)
            #expect(shown.status == .ok && shown["secret"] == nil)
            let row = try await api.store.read { try await $0.first("SELECT secret_sealed FROM webhooks WHERE id = \(UUID(uuidString: id)!)") }
            let sealed = try #require(try row?.string("secret_sealed"))
            #expect(sealed.hasPrefix("v1:") && !sealed.contains(String(secret.dropFirst(6))))
            #expect(try await api.request(.get, "/v1/webhooks/\(id)", key: bob).status == .notFound, "another user's webhook is missing")
            #expect(try await api.request(.get, "/v1/webhooks", key: bob).array("items")?.count == 0)
            #expect(try await api.request(.get, "/v1/webhooks", key: alice).array("items")?.count == 1)

            // Rotation: a new secret, once; the old one signs beside it until the overlap ends.
            let rotated = try await api.request(.patch, "/v1/webhooks/\(id)", key: alice, json: #"{"rotate_secret": true}"#)
            #expect(rotated.status == .ok)
            let newSecret = try #require(rotated.string("secret"))
            #expect(newSecret != secret && rotated.string("previous_secret_expires_at") != nil)

            // Disable and enable again; change the filters back to every alert.
            let disabled = try await api.request(.patch, "/v1/webhooks/\(id)", key: alice, json: #"{"enabled": false, "events": null}"#)
            #expect(disabled["enabled"] == .bool(false) && disabled["disabled_reason"] == .string("disabled by its owner"))
            #expect(disabled["events"] == .null && disabled["secret"] == nil)
            let enabled = try await api.request(.patch, "/v1/webhooks/\(id)", key: alice, json: #"{"enabled": true}"#)
            #expect(enabled["enabled"] == .bool(true) && enabled["disabled_reason"] == .null)

            let deliveries = try await api.request(.get, "/v1/webhooks/\(id)/deliveries", key: alice)
            #expect(deliveries.status == .ok && deliveries.array("items")?.count == 0)
            let missing = try await api.request(.post, "/v1/webhooks/\(id)/deliveries/\(UUID().uuidString)/redeliver", key: alice)
            #expect(missing.status == .notFound)

            #expect(try await api.request(.delete, "/v1/webhooks/\(id)", key: bob).status == .notFound)
            #expect(try await api.request(.delete, "/v1/webhooks/\(id)", key: alice).status == .noContent)
            #expect(try await api.request(.get, "/v1/webhooks/\(id)", key: alice).status == .notFound)
        }
    }

    @Test(arguments: Engine.allCases)
    func badEndpointsAreRefusedAtRegistration(engine: Engine) async throws {
        try await APIHarness.with(engine, environment: ["REPOWATCH_WEBHOOKS_MAX_PER_USER": "1"]) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            func refusal(_ json: String, key: String? = nil) async throws -> (HTTPResponse.Status, String?, String?) {
                let reply = try await api.request(.post, "/v1/webhooks", key: key ?? alice, json: json)
                return (reply.status, reply.errorCode, reply.object("error")?["details"].flatMap { if case .object(let o) = $0, case .string(let f)? = o["field"] { f } else { nil } })
            }
            // Loopback, private and link-local addresses, literally or by a name that resolves there.
            for url in ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://[::1]:8080/", "http://localhost:9/hook"] {
                let (status, code, field) = try await refusal(#"{"url": "\#(url)"}"#)
                #expect(status == .unprocessableContent && code == "private_address" && field == "url", "\(url): \(status) \(code ?? "")")
            }
            for url in ["ftp://example.com/hook", "https://user:pw@example.com/hook", "not a url", "https:///path"] {
                let (status, code, _) = try await refusal(#"{"url": "\#(url)"}"#)
                #expect(status == .unprocessableContent && code == "invalid_url", "\(url): \(status) \(code ?? "")")
            }
            let (status, code, field) = try await refusal(#"{"url": "http://203.0.113.7/hook", "events": ["score_up"]}"#)
            #expect(status == .unprocessableContent && code == "invalid_field" && field == "events")
            #expect(try await refusal(#"{"url": "http://203.0.113.7/hook", "format": "teams"}"#).2 == "format")
            #expect(try await refusal(#"{"url": "http://203.0.113.7/hook", "entries": ["\#(UUID().uuidString)"]}"#).1 == "unknown_entry")
            #expect(try await refusal(#"{"url": "http://203.0.113.7/hook", "secret": "mine"}"#).1 == "unknown_field")
            #expect(try await refusal(#"{"events": null}"#).1 == "missing_field")

            // A public address literal is accepted (nothing is sent at registration); one per user here.
            #expect(try await refusal(#"{"url": "http://203.0.113.7/hook"}"#).0 == .created)
            #expect(try await refusal(#"{"url": "http://203.0.113.8/hook"}"#).1 == "too_many_webhooks")
            #expect(try await refusal(#"{"url": "http://203.0.113.8/hook"}"#, key: bob).0 == .created)
            #expect(try await api.count("webhooks") == 2)
        }
    }

    @Test func withoutASecretsKeyWebhooksAreRefused() async throws {
        try await APIHarness.with(.sqlite, tokens: false) { api in
            let alice = try await api.key(for: "alice")
            let reply = try await api.request(.post, "/v1/webhooks", key: alice, json: #"{"url": "http://203.0.113.7/hook"}"#)
            #expect(reply.status == .unprocessableContent && reply.errorCode == "secrets_not_configured")
        }
    }
}
