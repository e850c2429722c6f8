import API
import AsyncHTTPClient
import Domain
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Queue
import Store
import TestSupport
import Testing

@Suite("Queue through the API")
struct QueueAPITests {
    /// Adding a repository enqueues its setup job in the same transaction; adding it again, or by
    /// another user, does not.
    @Test(arguments: Engine.allCases)
    func aNewRepositoryGetsOneSetupJob(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/a/b"}"#)
            try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/A/B.git"}"#)
            try await api.request(.post, "/v1/watchlist", key: bob, json: #"{"repo_url": "https://github.com/a/b"}"#)
            try await api.request(.post, "/activity/user-watchlist-added", key: bob, json: #"{"repo_url": "https://github.com/a/b", "added_by": "bob"}"#)
            let jobs = try await api.queue.list()
            #expect(jobs.count == 1)
            let job = try #require(jobs.first)
            #expect(job.kind == "repository-setup" && job.queue == "repository-setup" && job.state == .available)
            let repositoryID = try #require(added.string("repository_id"))
            #expect(job.uniqueKey == "repository-setup:\(repositoryID)")
            #expect(job.argsJSON.contains(repositoryID))
        }
    }

    /// 1 000 concurrent POSTs of one repository by 10 users: 1 repository, 10 entries, 1 setup job.
    @Test(arguments: Engine.allCases)
    func aThousandConcurrentAddsMakeOneRepositoryTenEntriesOneJob(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            var keys: [String] = []
            for i in 0..<10 { keys.append(try await api.key(for: "user\(i)")) }
            let port = try #require(api.client.port)
            // All 1 000 requests are issued at once over up to 128 connections; waiting for a free
            // connection is part of the load, not a failure, so that wait may be long on 2 busy cores.
            var configuration = HTTPClient.Configuration(
                timeout: .init(connect: .seconds(300), read: .seconds(300)),
                connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 128))
            configuration.httpVersion = .http1Only
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            // Every request's outcome is collected (an error as its description), and the client is
            // always shut down, whatever happened.
            let outcomes: [Result<UInt, TransportFailure>] = await withTaskGroup(of: Result<UInt, TransportFailure>.self) { group in
                for i in 0..<1000 {
                    let key = keys[i % keys.count]
                    group.addTask {
                        do {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/watchlist")
                            request.method = .POST
                            request.headers.add(name: "Authorization", value: "Bearer \(key)")
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: #"{"repo_url": "https://github.com/swiftlang/swift"}"#))
                            let response = try await http.execute(request, timeout: .seconds(120))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            return .success(response.status.code)
                        } catch {
                            return .failure(TransportFailure(description: String(reflecting: error)))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            try await http.shutdown()
            let failures = outcomes.compactMap { if case .failure(let f) = $0 { f.description } else { nil } }
            #expect(failures.isEmpty, "\(failures.count) requests failed, e.g. \(failures.first ?? "")")
            let statuses = outcomes.compactMap { try? $0.get() }
            #expect(statuses.filter { $0 == 202 }.count == 10, "one new entry per user")
            #expect(statuses.filter { $0 == 200 }.count == 990)
            #expect(try await api.count("repositories") == 1)
            #expect(try await api.count("watchlist_entries") == 10)
            #expect(try await api.count("jobs") == 1)
        }
    }

    @Test(arguments: Engine.allCases)
    func adminsManageJobsOthersAreRefused(engine: Engine) async throws {
        try await APIHarness.with(engine) { api in
            let admin = try await api.key(for: "root", admin: true)
            let user = try await api.key(for: "alice")
            try await api.request(.post, "/v1/watchlist", key: user, json: #"{"repo_url": "https://github.com/a/b"}"#)
            for path in ["/v1/queues", "/v1/jobs", "/v1/jobs/1"] {
                let refused = try await api.request(.get, path, key: user)
                #expect(refused.status == .forbidden, "\(path)")
                #expect(refused.errorCode == "forbidden")
            }
            #expect(try await api.request(.post, "/v1/jobs/1/cancel", key: user).status == .forbidden)

            let queues = try await api.request(.get, "/v1/queues", key: admin)
            #expect(queues.status == .ok)
            guard let rows = queues.array("queues") else { Issue.record("no queues"); return }
            #expect(queues.object("scheduler")?["status"] == .string("idle"), "nothing to re-check yet")
            // Every queue the service runs, webhook delivery included, even while it is empty.
            let names = rows.compactMap { row -> String? in if case .object(let o) = row, case .string(let name)? = o["queue"] { name } else { nil } }
            #expect(Set(names) == ["repository-setup", "commit-backfill", "health-analysis", "maintenance", "webhook-delivery"] && names.count == 5, "\(names)")
            let setup = rows.compactMap { row -> [String: JSONValue]? in
                guard case .object(let o) = row, o["queue"] == .string("repository-setup") else { return nil }
                return o
            }.first
            guard case .object(let counts)? = setup?["counts"] else { Issue.record("no counts"); return }
            #expect(counts["available"] == .int(1) && counts["running"] == .int(0))

            let list = try await api.request(.get, "/v1/jobs?state=available&queue=repository-setup", key: admin)
            guard let items = list.array("items"), case .object(let first)? = items.first, case .int(let id)? = first["id"] else {
                Issue.record("no job listed: \(String(buffer: list.body))"); return
            }
            #expect(try await api.request(.get, "/v1/jobs/\(id)", key: admin).string("kind") == "repository-setup")
            #expect(try await api.request(.post, "/v1/jobs/\(id)/retry", key: admin).status == .conflict, "not finished yet")
            #expect(try await api.request(.post, "/v1/jobs/\(id)/cancel", key: admin).string("state") == "cancelled")
            #expect(try await api.request(.post, "/v1/jobs/\(id)/cancel", key: admin).status == .conflict)
            #expect(try await api.request(.post, "/v1/jobs/\(id)/retry", key: admin).string("state") == "available")
            #expect(try await api.request(.post, "/v1/jobs/\(id)/cancel", key: admin).status == .ok)
            #expect(try await api.request(.delete, "/v1/jobs/\(id)", key: admin).status == .noContent)
            #expect(try await api.request(.get, "/v1/jobs/\(id)", key: admin).status == .notFound)
            for bad in ["/v1/jobs/0", "/v1/jobs/abc", "/v1/jobs/99999999"] {
                #expect(try await api.request(.get, bad, key: admin).status == .notFound, "\(bad)")
            }
            #expect(try await api.request(.get, "/v1/jobs?state=nope", key: admin).status == .badRequest)
            #expect(try await api.request(.get, "/v1/jobs?cursor=-3", key: admin).status == .badRequest)

            let metrics = String(buffer: try await api.request(.get, "/metrics").body)
            #expect(metrics.contains(#"jobs_enqueued_total{queue="repository-setup",kind="repository-setup"} 1"#), "\(metrics)")
            #expect(metrics.contains("jobs_count{queue=\"repository-setup\",state=\"cancelled\"}"))
            #expect(metrics.contains("queue_oldest_available_age_seconds"))
            #expect(metrics.contains(#"jobs_count{queue="webhook-delivery",state="available"}"#), "webhook delivery is reported too")
            #expect(metrics.contains("pipeline_stalled_repositories_count"), "the stall gauge is exported")
        }
    }
}

struct TransportFailure: Error, CustomStringConvertible {
    let description: String
}
