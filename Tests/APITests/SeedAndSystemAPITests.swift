import API
import Domain
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@Suite("Seed-compatible routes")
struct SeedAPITests {
    @Test(arguments: Engine.allCases)
    func addAndPollWithTheSeedsFields(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let admin = try await api.key(for: "root", admin: true)
            let body = #"{"repo_url": "https://github.com/facebook/react", "added_by": "alice", "alerts": {"enabled": true}, "notes": "Monitoring React"}"#
            let added = try await api.request(.post, "/activity/user-watchlist-added", key: alice, json: body)
            #expect(added.status == .accepted)
            #expect(added.string("status") == "processing")
            #expect(added.string("message")?.isEmpty == false)
            let id = try #require(added.string("watchlist_id"))
            #expect(try await api.request(.post, "/activity/user-watchlist-added", key: alice, json: body).status == .ok)

            // Someone else's name: refused for a user, allowed (on their behalf) for an admin.
            let forBob = #"{"repo_url": "https://github.com/facebook/react", "added_by": "bob", "alerts": {}, "notes": null}"#
            let refused = try await api.request(.post, "/activity/user-watchlist-added", key: alice, json: forBob)
            #expect(refused.status == .forbidden)
            #expect(refused.errorCode == "forbidden")
            let onBehalf = try await api.request(.post, "/activity/user-watchlist-added", key: admin, json: forBob)
            #expect(onBehalf.status == .accepted)
            let bobsID = try #require(onBehalf.string("watchlist_id"))
            #expect(try await api.request(.get, "/v1/watchlist/\(bobsID)", key: admin).string("user") == "bob")
            let badName = try await api.request(.post, "/activity/user-watchlist-added", key: admin,
                json: #"{"repo_url": "https://github.com/facebook/react", "added_by": "no spaces"}"#)
            #expect(badName.status == .unprocessableContent)

            let polled = try await api.request(.get, "/activity/watchlist/\(id)/status", key: alice)
            #expect(polled.status == .ok)
            #expect(polled.string("watchlist_id") == id)
            #expect(polled.string("status") == "processing")
            #expect(polled["processing_started_at"] == .null)
            #expect(polled["processing_completed_at"] == .null)
            guard let packageInfo = polled.object("package") else { Issue.record("no package"); return }
            #expect(packageInfo["repo_url"] == .string("https://github.com/facebook/react"))
            // alice sees only her own entry on the repository; the admin sees both.
            guard let mine = polled.array("user_watchlists") else { Issue.record("no user_watchlists"); return }
            #expect(mine.count == 1)
            let adminView = try await api.request(.get, "/activity/watchlist/\(id)/status", key: admin)
            guard let all = adminView.array("user_watchlists") else { Issue.record("no user_watchlists"); return }
            #expect(all.count == 2)
        }
    }
}

@Suite("Operational routes")
struct SystemAPITests {
    @Test(arguments: Engine.allCases)
    func healthMetricsAndTheOpenAPIDocumentNeedNoKey(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            #expect(try await api.request(.get, "/health/live").string("status") == "ok")
            let ready = try await api.request(.get, "/health/ready")
            #expect(ready.status == .ok)
            #expect(ready.string("status") == "ready")

            let key = try await api.key(for: "alice")
            let id = try #require(try await api.request(.post, "/v1/watchlist", key: key, json: #"{"repo_url": "https://github.com/a/b"}"#).string("id"))
            try await api.request(.get, "/v1/watchlist/\(id)/status", key: key)
            try await api.request(.get, "/v1/watchlist/\(id)/status")
            let metrics = try await api.request(.get, "/metrics")
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"http_requests_total{method="GET",route="/v1/watchlist/{id}/status",status="200"} 1"#), "\(text)")
            #expect(text.contains(#"http_requests_total{method="GET",route="/v1/watchlist/{id}/status",status="401"} 1"#))
            #expect(text.contains(#"http_requests_total{method="POST",route="/v1/watchlist",status="202"} 1"#))
            #expect(text.contains("http_request_duration_seconds_bucket"))

            let document = try await api.request(.get, "/openapi.json")
            #expect(document.string("openapi") == "3.1.0")
            guard let paths = document.object("paths") else { Issue.record("no paths"); return }
            for path in ["/v1/watchlist", "/v1/watchlist/{id}", "/v1/watchlist/{id}/status", "/activity/user-watchlist-added",
                         "/activity/watchlist/{id}/status", "/health/live", "/health/ready", "/metrics", "/openapi.json",
                         "/v1/queues", "/v1/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}/retry", "/v1/jobs/{id}/cancel"] {
                #expect(paths[path] != nil, "\(path) is not documented")
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10, finding 7: connections that send nothing, or leave a request half-sent, are closed after
/// `http.idle_timeout` instead of being held open for ever (800 such connections used to pin the server).
@Suite("Connection limits")
struct ConnectionLimitTests {
    @Test func aHalfSentRequestIsClosedAfterTheIdleTimeout() async throws {
        try await APIHarness.with(.sqlite, environment: ["REPOWATCH_HTTP_IDLE_TIMEOUT": "1s"]) { api in
            let port = try #require(api.client.port)
            let fd = try #require(LoopbackSocket.connect(port: port))
            defer { close(fd) }
            // The request line and one header, never the blank line that ends the headers.
            let partial = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            _ = partial.withCString { send(fd, $0, strlen($0), 0) }
            // Wait at most 20 s for the server to close it (recv returns 0); a timeout means it was held open.
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            var received = 0
            var result = 0
            repeat {
                result = recv(fd, &buffer, buffer.count, 0)
                if result > 0 { received += result }
            } while result > 0
            #expect(result == 0, "the server closed the idle connection (recv: \(result), errno \(errno))")
            #expect(received == 0, "nothing was answered to a request that never ended its headers")
        }
    }
}
