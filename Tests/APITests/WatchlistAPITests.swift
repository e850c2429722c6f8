import API
import Domain
import Foundation
import HTTPTypes
import NIOCore
import Store
import TestSupport
import Testing

@Suite("Watchlist API")
struct WatchlistAPITests {
    /// What a new user does: add a repository, add it again, see another user add it, poll, change, remove.
    @Test(arguments: Engine.allCases)
    func aUsersJourney(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")

            let added = try await api.request(.post, "/v1/watchlist", key: alice,
                json: #"{"repo_url": "https://github.com/Apple/Swift-NIO.git", "alerts": {"score_drop": 1}, "notes": "networking"}"#)
            #expect(added.status == .accepted)
            let id = try #require(added.string("id"))
            #expect(added.headers[.location] == "/v1/watchlist/\(id)")
            #expect(added.string("status") == "processing")
            #expect(added.string("stage") == "queued")
            #expect(added["progress"] == .int(0))
            #expect(added.string("repo_url") == "https://github.com/apple/swift-nio")
            #expect(added["alerts"] == .object(["score_drop": .int(1)]))
            #expect(added["processing_started_at"] == .null, "absent values are null, not missing")

            let again = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "git@github.com:apple/swift-nio"}"#)
            #expect(again.status == .ok)
            #expect(again.string("id") == id)

            let bobs = try await api.request(.post, "/v1/watchlist", key: bob, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            #expect(bobs.status == .accepted)
            #expect(bobs.string("id") != id)
            #expect(bobs.string("repository_id") == added.string("repository_id"))
            #expect(try await api.count("repositories") == 1)

            let status = try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice)
            #expect(status.status == .ok)
            #expect(status.string("status") == "processing")
            let etag = try #require(status.headers[.eTag])
            let unchanged = try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice, headers: [.ifNoneMatch: etag])
            #expect(unchanged.status == .notModified)
            #expect(unchanged.body.readableBytes == 0)
            let stale = try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice, headers: [.ifNoneMatch: "\"other\""])
            #expect(stale.status == .ok)

            let patched = try await api.request(
                .patch, "/v1/watchlist/\(id)", key: alice,
                json: #"{"notes": null, "alerts": {"check_regressed": ["Token-Permissions", "Dangerous-Workflow"], "metric": "scorecard", "score_below": 6.5}}"#)
            #expect(patched.status == .ok)
            #expect(patched["notes"] == .null)
            // Stored and shown normalised: check names sorted, the metric kept because it is not the default.
            #expect(patched["alerts"] == .object([
                "check_regressed": .array([.string("Dangerous-Workflow"), .string("Token-Permissions")]), "metric": .string("scorecard"),
                "score_below": .double(6.5),
            ]))

            // null (like {} or the seed's {"enabled": true}) means the defaults; a rule out of range is refused, naming
            // the field, and changes nothing.
            let reset = try await api.request(.patch, "/v1/watchlist/\(id)", key: alice, json: #"{"alerts": null}"#)
            #expect(reset["alerts"] == .object(["processing": .bool(true), "failed": .bool(true)]))
            let refused = try await api.request(.patch, "/v1/watchlist/\(id)", key: alice, json: #"{"alerts": {"metric": "scorecard", "score_below": 60}}"#)
            #expect(refused.status == .unprocessableContent && refused.errorCode == "invalid_alerts")
            #expect(refused.object("error")?["details"] == .object(["field": .string("alerts.score_below")]), "\(String(buffer: refused.body))")
            #expect(try await api.request(.get, "/v1/watchlist/\(id)", key: alice)["alerts"] == reset["alerts"])
            #expect(try await api.request(.put, "/v1/watchlist/\(id)", key: alice).status == .methodNotAllowed)
            let head = try await api.request(.head, "/v1/watchlist/\(id)/status", key: alice)
            #expect(head.status == .ok)

            let list = try await api.request(.get, "/v1/watchlist", key: alice)
            guard let items = list.array("items") else { Issue.record("no items"); return }
            #expect(items.count == 1)
            #expect(list["next_cursor"] == .null)

            #expect(try await api.request(.delete, "/v1/watchlist/\(id)", key: alice).status == .noContent)
            #expect(try await api.request(.get, "/v1/watchlist/\(id)", key: alice).status == .notFound)
            #expect(try await api.request(.delete, "/v1/watchlist/\(id)", key: alice).status == .notFound)
        }
    }

    @Test(arguments: Engine.allCases)
    func keysAndOwnership(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let admin = try await api.key(for: "root", admin: true)
            let id = try #require(try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/a/b"}"#).string("id"))

            for key in [nil, "rw_nonsense", "Basic abc", alice + "x"] as [String?] {
                let reply = try await api.request(.get, "/v1/watchlist", key: key)
                #expect(reply.status == .unauthorized)
                #expect(reply.errorCode == "unauthorized")
                #expect(reply.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            // Another user's entry does not exist for bob: 404, never 403, so ids do not leak.
            #expect(try await api.request(.get, "/v1/watchlist/\(id)", key: bob).status == .notFound)
            #expect(try await api.request(.get, "/v1/watchlist/\(id)/status", key: bob).status == .notFound)
            #expect(try await api.request(.patch, "/v1/watchlist/\(id)", key: bob, json: #"{"notes": "mine"}"#).status == .notFound)
            #expect(try await api.request(.delete, "/v1/watchlist/\(id)", key: bob).status == .notFound)
            #expect(try await api.request(.get, "/activity/watchlist/\(id)/status", key: bob).status == .notFound)
            let bobsList = try await api.request(.get, "/v1/watchlist", key: bob)
            #expect(bobsList["items"] == .array([]))
            // The admin sees it.
            #expect(try await api.request(.get, "/v1/watchlist/\(id)", key: admin).string("user") == "alice")
            #expect(try await api.request(.get, "/v1/watchlist/\(id)", key: alice).string("notes") == nil)

            // A revoked key stops working at once.
            let prefix = String(bob.prefix(10))
            _ = try await api.store.transaction { try await $0.revokeAPIKey(prefix) }
            #expect(try await api.request(.get, "/v1/watchlist", key: bob).status == .unauthorized)
        }
    }

    /// With `api.key_cache_seconds` set, a key's lookup is reused (and a revocation waits for it);
    /// a key that was not found is never remembered.
    @Test(arguments: Engine.allCases)
    func theKeyCacheReusesLookupsButNeverFailures(engine: Engine) async throws {
        try await APIHarness.with(engine, environment: ["REPOWATCH_API_KEY_CACHE_SECONDS": "300"]) { api in
            let key = try await api.key(for: "alice")
            #expect(try await api.request(.get, "/v1/watchlist", key: key).status == .ok)
            let prefix = String(key.prefix(10))
            _ = try await api.store.transaction { try await $0.revokeAPIKey(prefix) }
            #expect(try await api.request(.get, "/v1/watchlist", key: key).status == .ok, "served from the cache")

            let missing = APIKeysForTests.wellFormedUnknownKey
            #expect(try await api.request(.get, "/v1/watchlist", key: missing).status == .unauthorized)
            let fresh = try await api.key(for: "bob")
            #expect(try await api.request(.get, "/v1/watchlist", key: fresh).status == .ok)
        }
    }

    /// Bad input: the right status and code, a JSON error, and nothing written.
    @Test(arguments: Engine.allCases)
    func badInputIsRefusedCleanly(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let key = try await api.key(for: "alice")
            let cases: [(String?, String?, HTTPResponse.Status, String)] = [
                ("{", "application/json", .badRequest, "malformed_json"),
                ("", "application/json", .badRequest, "malformed_json"),
                ("[1,2]", "application/json", .badRequest, "invalid_body"),
                (#"{"repo_url": 5}"#, "application/json", .badRequest, "invalid_field"),
                (#"{"repo_url": null}"#, "application/json", .badRequest, "missing_field"),
                (#"{}"#, "application/json", .badRequest, "missing_field"),
                (#"{"repo_url": "https://github.com/a/b", "token2": "x"}"#, "application/json", .badRequest, "unknown_field"),
                (#"{"repo_url": "https://github.com/a/b", "alerts": "loud"}"#, "application/json", .badRequest, "invalid_field"),
                (#"{"repo_url": "https://github.com/a/b", "notes": 7}"#, "application/json", .badRequest, "invalid_field"),
                (#"{"repo_url": "https://github.com/a/b"}"#, "text/plain", .unsupportedMediaType, "unsupported_media_type"),
                (#"{"repo_url": "https://github.com/a/b"}"#, nil, .unsupportedMediaType, "unsupported_media_type"),
                (#"{"repo_url": "ftp://github.com/a/b"}"#, "application/json", .unprocessableContent, "unsupported_scheme"),
                (#"{"repo_url": "github.com/a/b"}"#, "application/json", .unprocessableContent, "unsupported_scheme"),
                (#"{"repo_url": "https://example.com/a/b"}"#, "application/json", .unprocessableContent, "host_not_allowed"),
                (#"{"repo_url": "http://127.0.0.1:8080/a/b"}"#, "application/json", .unprocessableContent, "private_address"),
                (#"{"repo_url": "http://[::1]/a/b"}"#, "application/json", .unprocessableContent, "private_address"),
                (#"{"repo_url": "https://me:secret@github.com/a/b"}"#, "application/json", .unprocessableContent, "credentials_in_url"),
                (#"{"repo_url": "https://github.com/a"}"#, "application/json", .unprocessableContent, "invalid"),
                (#"{"repo_url": "https://github.com/a/b", "notes": "\#(String(repeating: "x", count: 2001))"}"#, "application/json",
                 .unprocessableContent, "notes_too_long"),
                (#"{"repo_url": "https://github.com/a/b", "notes": "a\u0000b"}"#, "application/json", .unprocessableContent, "invalid_field"),
                (#"{"repo_url": "https://github.com/a/b", "notes": "\#(String(repeating: "x", count: 70_000))"}"#, "application/json",
                 .contentTooLarge, "payload_too_large"),
                // Alert rules are a documented object: anything else is refused, naming the field (issue 11).
                (#"{"repo_url": "https://github.com/a/b", "alerts": {"x": 1}}"#, "application/json", .unprocessableContent, "invalid_alerts"),
                (#"{"repo_url": "https://github.com/a/b", "alerts": {"score_drop": 0}}"#, "application/json", .unprocessableContent, "invalid_alerts"),
                (#"{"repo_url": "https://github.com/a/b", "alerts": {"check_regressed": "all"}}"#, "application/json", .unprocessableContent, "invalid_alerts"),
                (#"{"repo_url": "https://github.com/a/b", "alerts": {"a": [[[]]]}}"#, "application/json", .unprocessableContent, "invalid_alerts"),
                // Issue 10, finding 4: deep nesting is refused before any parsing (eight 2 KiB values of depth 500 cost
                // the parser half a minute of CPU); brackets inside strings do not count.
                (#"{"repo_url": "https://github.com/a/b", "alerts": {"a": \#(String(repeating: "[", count: 500) + String(repeating: "]", count: 500))}}"#,
                 "application/json", .badRequest, "too_deep"),
                (#"{"repo_url": "https://github.com/a/b", "alerts": {"a": \#(String(repeating: "[", count: 31) + String(repeating: "]", count: 31))}}"#,
                 "application/json", .badRequest, "too_deep"),
            ]
            for (body, contentType, status, code) in cases {
                let reply = try await api.request(.post, "/v1/watchlist", key: key, json: body, contentType: contentType)
                #expect(reply.status == status, "\(body?.prefix(80) ?? "") → \(reply.status)")
                #expect(reply.errorCode == code, "\(body?.prefix(80) ?? "") → \(String(buffer: reply.body).prefix(200))")
                #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
            }
            #expect(try await api.count("repositories") == 0)
            #expect(try await api.count("watchlist_entries") == 0)

            // Query parameters and path ids.
            for query in ["limit=0", "limit=201", "limit=abc", "cursor=nope", "status=done"] {
                let reply = try await api.request(.get, "/v1/watchlist?\(query)", key: key)
                #expect(reply.status == .badRequest, "\(query)")
                #expect(reply.errorCode == "invalid_parameter")
            }
            for path in ["/v1/watchlist/not-a-uuid", "/v1/watchlist/\(UUID().uuidString)", "/v1/watchlist/%00/status", "/v1/nothing"] {
                let reply = try await api.request(.get, path, key: key)
                #expect(reply.status == .notFound, "\(path)")
                #expect(reply.errorCode == "not_found")
            }
        }
    }

    @Test(arguments: Engine.allCases)
    func listingPagesWithACursor(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let key = try await api.key(for: "alice")
            var created: [String] = []
            for i in 0..<5 {
                created.append(try #require(
                    try await api.request(.post, "/v1/watchlist", key: key, json: #"{"repo_url": "https://github.com/o/r\#(i)"}"#).string("id")))
            }
            var seen: [String] = []
            var path = "/v1/watchlist?limit=2"
            while true {
                let page = try await api.request(.get, path, key: key)
                #expect(page.status == .ok)
                guard let items = page.array("items") else { Issue.record("no items"); return }
                for case .object(let item) in items { if case .string(let id)? = item["id"] { seen.append(id) } }
                guard let cursor = page.string("next_cursor") else { break }
                path = "/v1/watchlist?limit=2&cursor=\(cursor)"
            }
            #expect(seen == created)
            let processing = try await api.request(.get, "/v1/watchlist?status=processing", key: key)
            guard let all = processing.array("items") else { Issue.record("no items"); return }
            #expect(all.count == 5)
            let ready = try await api.request(.get, "/v1/watchlist?status=ready", key: key)
            #expect(ready["items"] == .array([]))
        }
    }
}

enum APIKeysForTests {
    static let wellFormedUnknownKey = "rw_" + String(repeating: "Z", count: 40)
}
