import API
import Domain
import Foundation
import HTTPTypes
import Store
import TestSupport
import Testing

/// `GET /v1/events`: each caller sees their own alerts (admin: all), pages by a cursor that is always given back.
@Suite("Events API")
struct EventsAPITests {
    /// GET `path` until its page has `count` items (at most 10 s): on PostgreSQL an event is listed once every
    /// transaction that began before it has ended, which another test's open transaction can delay a little.
    static func page(_ api: APIHarness, _ path: String, key: String, count: Int) async throws -> APIHarness.Reply {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let reply = try await api.request(.get, path, key: key)
            if reply.array("items")?.count == count || ContinuousClock.now > deadline { return reply }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test(arguments: Engine.allCases)
    func callersSeeTheirOwnEventsAndPageThroughThem(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let admin = try await api.key(for: "root", admin: true)
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let aliceEntry = try #require(added.string("id").flatMap(UUID.init(uuidString:)))
            let repository = try #require(added.string("repository_id").flatMap(UUID.init(uuidString:)))
            // Alice's entry owes a processing alert when the run ends; nothing is raised yet.
            #expect(try await api.request(.get, "/v1/events", key: alice).array("items")?.count == 0)

            // Bob adds the repository once it is ready: processing has ended already, and he is told at once.
            try await api.store.transaction { tx in
                try await tx.execute("UPDATE repositories SET status = 'ready', stage = 'done', progress = 100 WHERE id = \(repository)")
            }
            let bobs = try await api.request(.post, "/v1/watchlist", key: bob, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let bobEntry = try #require(bobs.string("id"))
            let told = try await Self.page(api, "/v1/events", key: bob, count: 1)
            #expect(told.status == .ok)
            let items = try #require(told.array("items"))
            #expect(items.count == 1)
            guard case .object(let event)? = items.first else { Issue.record("no event"); return }
            #expect(event["rule"] == .string("processing") && event["subject"] == .string("ready") && event["entry_id"] == .string(bobEntry))
            #expect(event["summary"] == .string("processing finished: ready"))
            #expect(try await api.request(.get, "/v1/events", key: alice).array("items")?.count == 0, "bob's event is his")
            #expect(try await api.request(.get, "/v1/events", key: admin).array("items")?.count == 1)
            #expect(try await api.request(.get, "/v1/events?entry=\(bobEntry)", key: alice).status == .notFound)

            // Three alerts for Alice, two pages; the cursor of the last page is given back, to poll with.
            try await api.store.transaction { tx in
                let user = try #require(try await tx.user(named: "alice", createIfMissing: false))
                for n in 0..<3 {
                    let id = UUID.v7()
                    try await tx.insertAlertEvent(AlertEventRecord(
                        id: id, notificationID: id, entryID: aliceEntry, userID: user.id, repositoryID: repository, rule: "score_drop",
                        subject: nil, previousValue: 80, currentValue: Double(70 - n), previousReportID: nil, reportID: nil,
                        summary: "health score dropped", createdAt: Date()))
                }
            }
            let first = try await Self.page(api, "/v1/events?limit=2&entry=\(aliceEntry.lowercased)", key: alice, count: 2)
            #expect(first.array("items")?.count == 2 && first["has_more"] == .bool(true))
            let cursor = try #require(first.string("next_cursor"))
            let second = try await Self.page(api, "/v1/events?limit=2&cursor=\(cursor)", key: alice, count: 1)
            #expect(second.array("items")?.count == 1 && second["has_more"] == .bool(false))
            guard case .object(let last)? = second.array("items")?.first else { Issue.record("no event"); return }
            #expect(last["current"] == .double(68) || last["current"] == .int(68))
            let end = try #require(second.string("next_cursor"))
            let third = try await api.request(.get, "/v1/events?cursor=\(end)", key: alice)
            #expect(third.array("items")?.count == 0 && third.string("next_cursor") == end)

            #expect(try await api.request(.get, "/v1/events?cursor=abc", key: alice).status == .badRequest)
            #expect(try await api.request(.get, "/v1/events?entry=nope", key: alice).status == .badRequest)
            #expect(try await api.request(.get, "/v1/events").status == .unauthorized)
        }
    }
}

/// `GET /v1/watchlist/{id}/events` answers like the status route before it streams: 401 without a key, 404 for
/// another user's entry, 400 for a Last-Event-ID it never sent.
@Suite("Live status API")
struct LiveStatusAPITests {
    @Test(arguments: Engine.allCases)
    func theStreamIsGuardedLikeTheStatusRoute(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let id = try #require(added.string("id"))
            #expect(try await api.request(.get, "/v1/watchlist/\(id)/events").status == .unauthorized)
            #expect(try await api.request(.get, "/v1/watchlist/\(id)/events", key: bob).status == .notFound)
            let bad = try await api.request(.get, "/v1/watchlist/\(id)/events", key: alice, headers: [.init("Last-Event-ID")!: "yesterday"])
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_parameter")
            #expect(try await api.request(.get, "/v1/watchlist/not-an-id/events", key: alice).status == .notFound)
        }
    }
}
