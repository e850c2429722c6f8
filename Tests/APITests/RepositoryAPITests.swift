import API
import Domain
import Foundation
import HTTPTypes
import Pipeline
import NIOCore
import Queue
import Store
import TestSupport
import Testing

/// `/v1/repositories/{id}/…`, tokens on `POST /v1/watchlist`, and the clean-up job a last delete enqueues.
@Suite("Repository API")
struct RepositoryAPITests {
    static func commits(count: Int, now: Date) -> [Commit] {
        (0..<count).map { n in
            let date = now.addingTimeInterval(-Double(n) * 86_400 * 2)  // one every two days
            return Commit(
                sha: String(format: "%040lx", n + 1), parents: [String(format: "%040lx", n + 2)], authorName: "Dev \(n % 4)",
                authorEmail: "dev\(n % 4)@example.com", authoredAt: date, committedAt: date, summary: "change \(n)",
                stats: n == count - 1 ? nil : .init(filesChanged: 1, additions: n, deletions: 1))
        }
    }

    @Test(arguments: Engine.allCases)
    func activityAndCommitsForWatchersOnly(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let admin = try await api.key(for: "root", admin: true)
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let repositoryID = try #require(added.string("repository_id"))
            let id = try #require(UUID(uuidString: repositoryID))
            let now = Date()
            let commits = Self.commits(count: 230, now: now)  // 230 commits over 460 days: 183 inside the year
            try await api.store.transaction { tx in
                try await tx.insertCommits(commits, repository: id)
                try await tx.execute("UPDATE repositories SET head_commit = \(commits[0].sha), head_committed_at = \(now) WHERE id = \(id)")
            }

            let activity = try await api.request(.get, "/v1/repositories/\(repositoryID)/activity", key: alice)
            #expect(activity.status == .ok)
            #expect(activity["commits_total"] == .int(183))
            #expect(activity["commits_30d"] == .int(15))
            #expect(activity["days_since_last_commit"] == .int(0))
            #expect(activity["bus_factor"] == .int(2))
            #expect(activity.array("weekly_commits")?.count == 52)
            #expect(activity.array("top_authors")?.count == 4)
            #expect(activity["window_empty"] == .bool(false))
            #expect(activity["complete"] == .bool(false), "no backfill has completed")

            // Pages of commits, newest first, ending with the boundary commit whose stats are unknown.
            var shas: [String] = []
            var path = "/v1/repositories/\(repositoryID)/commits?limit=100"
            var last: APIHarness.Reply?
            while true {
                let page = try await api.request(.get, path, key: alice)
                #expect(page.status == .ok)
                for case .object(let item) in page.array("items") ?? [] {
                    if case .string(let sha)? = item["sha"] { shas.append(sha) }
                }
                last = page
                guard case .string(let next)? = page["next_cursor"] else { break }
                path = "/v1/repositories/\(repositoryID)/commits?limit=100&cursor=\(next)"
            }
            #expect(shas == commits.map(\.sha))
            if case .object(let oldest)? = last?.array("items")?.last {
                #expect(oldest["files_changed"] == .null && oldest["additions"] == .null)
            } else {
                Issue.record("no commits on the last page")
            }

            // Someone who does not watch it gets 404, as for an unknown id; an admin sees it.
            #expect(try await api.request(.get, "/v1/repositories/\(repositoryID)/activity", key: bob).status == .notFound)
            #expect(try await api.request(.get, "/v1/repositories/\(repositoryID)/commits", key: bob).status == .notFound)
            #expect(try await api.request(.get, "/v1/repositories/\(repositoryID)/commits", key: admin).status == .ok)
            #expect(try await api.request(.get, "/v1/repositories/not-a-uuid/activity", key: alice).status == .notFound)
            #expect(try await api.request(.get, "/v1/repositories/\(repositoryID)/commits?cursor=abc", key: alice).errorCode == "invalid_parameter")
            #expect(try await api.request(.get, "/v1/repositories/\(repositoryID)/activity").status == .unauthorized)
        }
    }

    @Test(arguments: Engine.allCases)
    func aTokenIsSealedNeverEchoedAndMakesTheRepositoryPrivate(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let token = "ghp_Secret0123456789abcdefghijklmnopqrstu"
            let mine = try await api.request(.post, "/v1/watchlist", key: alice,
                json: #"{"repo_url": "https://github.com/acme/private", "token": "\#(token)"}"#)
            #expect(mine.status == .accepted)
            #expect(mine["private"] == .bool(true))
            #expect(!String(buffer: mine.body).contains(token))
            let theirs = try await api.request(.post, "/v1/watchlist", key: bob, json: #"{"repo_url": "https://github.com/acme/private"}"#)
            #expect(theirs.status == .accepted)
            #expect(theirs["private"] == .bool(false))
            #expect(theirs.string("repository_id") != mine.string("repository_id"), "bob never reads what alice's token fetched")
            #expect(try await api.count("repositories") == 2)
            let stored = try await api.store.read { try await $0.query("SELECT canonical_url, token_sealed FROM repositories") }
            for row in stored {
                #expect(try row.string("token_sealed")?.contains(token) != true)
                #expect(try row.string("canonical_url")?.contains(token) != true)
            }

            for bad in [#""""#, #""has space""#, #""\u0001""#, "1"] {
                let reply = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/acme/x", "token": \#(bad)}"#)
                #expect(reply.status == .unprocessableContent || reply.status == .badRequest, "token \(bad)")
                #expect(!String(buffer: reply.body).contains("has space"), "a token is never echoed")
            }
            #expect(try await api.count("repositories") == 2, "refused input writes nothing")
        }
        try await APIHarness.with(engine, tokens: false) { api in
            let alice = try await api.key(for: "alice")
            let reply = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/acme/x", "token": "abc"}"#)
            #expect(reply.status == .unprocessableContent)
            #expect(reply.errorCode == "tokens_not_configured")
            #expect(try await api.count("repositories") == 0)
        }
    }

    @Test(arguments: Engine.allCases)
    func deletingTheLastEntryEnqueuesTheRepositoryCleanup(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let a = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let b = try await api.request(.post, "/v1/watchlist", key: bob, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let repositoryID = try #require(a.string("repository_id"))
            let cleanups = { try await api.queue.list(kind: PipelineJobs.RepositoryCleanup.kind, limit: 10).count }
            let aID = try #require(a.string("id"))
            let bID = try #require(b.string("id"))
            #expect(try await api.request(.delete, "/v1/watchlist/\(aID)", key: alice).status == .noContent)
            #expect(try await cleanups() == 0, "bob still watches it")
            #expect(try await api.request(.delete, "/v1/watchlist/\(bID)", key: bob).status == .noContent)
            let jobs = try await api.queue.list(kind: PipelineJobs.RepositoryCleanup.kind, limit: 10)
            #expect(jobs.count == 1)
            #expect(jobs.first?.argsJSON.contains(repositoryID) == true)
        }
    }
}

@Suite("Retry and re-check")
struct RestartAPITests {
    @Test(arguments: Engine.allCases)
    func retryAFailedRepositoryAndRecheckOnce(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/acme/tool"}"#)
            let id = try #require(added.string("id"))
            let repositoryText = try #require(added.string("repository_id"))
            let repositoryID = try #require(UUID(uuidString: repositoryText))

            #expect(try await api.request(.post, "/v1/watchlist/\(id)/retry", key: alice).errorCode == "not_failed")
            #expect(try await api.request(.post, "/v1/watchlist/\(id)/retry", key: bob).status == .notFound)

            // An administrator cancels the setup job: the run ends, and the repository says why.
            let admin = try await api.key(for: "root", admin: true)
            let setup = try #require(try await api.queue.list(state: .available, kind: PipelineJobs.RepositorySetup.kind, limit: 10).first)
            #expect(try await api.request(.post, "/v1/jobs/\(setup.id)/cancel", key: admin).status == .ok)
            let cancelled = try await api.request(.get, "/v1/watchlist/\(id)", key: alice)
            #expect(cancelled.string("status") == "failed" && cancelled.string("failure_reason") == "cancelled", "\(cancelled)")
            #expect(try await api.request(.post, "/v1/watchlist/\(id)/recheck", key: alice).errorCode == "failed")

            let retried = try await api.request(.post, "/v1/watchlist/\(id)/retry", key: alice)
            #expect(retried.status == .accepted)
            #expect(retried.string("status") == "processing" && retried.string("stage") == "queued")
            #expect(retried["failure_reason"] == .null && retried["attempts"] == .int(0))
            #expect(retried.string("last_error")?.contains("cancelled") == true, "the last error stays visible until the next run")
            let again = try await api.request(.post, "/v1/watchlist/\(id)/recheck", key: alice)
            #expect(again.status == .accepted)
            let waiting = try await api.queue.list(state: .available, kind: PipelineJobs.RepositorySetup.kind, limit: 10)
            #expect(waiting.count == 1, "retry and re-check share the one unfinished setup job")
            #expect(try await api.store.read { try await $0.repositoryWork(id: repositoryID) }?.generation == 2, "the re-check of a setup not yet done asks for no new run")

            // Deleted instead of cancelled: the same.
            #expect(try await api.request(.post, "/v1/jobs/\(waiting[0].id)/cancel", key: admin).status == .ok)
            #expect(try await api.request(.post, "/v1/watchlist/\(id)/retry", key: alice).status == .accepted)
            let next = try #require(try await api.queue.list(state: .available, kind: PipelineJobs.RepositorySetup.kind, limit: 10).first)
            #expect(try await api.request(.delete, "/v1/jobs/\(next.id)", key: admin).status == .noContent)
            let deleted = try await api.request(.get, "/v1/watchlist/\(id)", key: alice)
            #expect(deleted.string("status") == "failed" && deleted.string("failure_reason") == "cancelled", "\(deleted)")
            // The stall gauge stays at 0 throughout: every processing repository had its job.
            let queues = try await api.request(.get, "/v1/queues", key: admin)
            #expect(queues.object("pipeline")?["stalled"] == .int(0), "\(String(decoding: queues.body.readableBytesView, as: UTF8.self))")
        }
    }
}

@Suite("Re-check intervals")
struct IntervalAPITests {
    @Test(arguments: Engine.allCases)
    func anEntryAsksForItsOwnIntervalAndIsFlaggedStale(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let tooShort = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/a/b", "check_interval": "30m"}"#)
            #expect(tooShort.status == .unprocessableContent && tooShort.errorCode == "invalid_field")
            #expect(try await api.count("repositories") == 0)
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/a/b", "check_interval": "6h"}"#)
            #expect(added["check_interval_seconds"] == .int(21_600))
            #expect(added["stale"] == .bool(false))
            let id = try #require(added.string("id"))
            let repositoryText = try #require(added.string("repository_id"))
            let repositoryID = try #require(UUID(uuidString: repositoryText))

            // Checked 13 hours ago, next check a day after: the shorter interval pulls it in.
            let checked = Date().addingTimeInterval(-13 * 3600)
            _ = try await api.store.write("""
                UPDATE repositories SET last_checked_at = \(checked), next_check_at = \(checked.addingTimeInterval(86_400)) WHERE id = \(repositoryID)
                """)
            #expect(try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice)["stale"] == .bool(true), "13 h > 2 × 6 h")
            let patched = try await api.request(.patch, "/v1/watchlist/\(id)", key: alice, json: #"{"check_interval": "12h"}"#)
            #expect(patched["check_interval_seconds"] == .int(43_200))
            #expect(patched["stale"] == .bool(false))
            let next = try await api.store.read { try await $0.repository(id: repositoryID) }?.nextCheckAt
            #expect(next.map { abs($0.timeIntervalSince(checked.addingTimeInterval(43_200))) < 1 } == true, "due 12 h after the last check")
            let reset = try await api.request(.patch, "/v1/watchlist/\(id)", key: alice, json: #"{"check_interval": null}"#)
            #expect(reset["check_interval_seconds"] == .null)
        }
    }
}
