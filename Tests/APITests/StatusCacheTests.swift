import API
import Domain
import Foundation
import Pipeline
import HTTPTypes
import Store
import TestSupport
import Testing

/// Status answers are cached, and a change shows at once however it was made — not after the cache's
/// maximum age, which these tests set to a minute so that only invalidation can make them pass.
@Suite("Status cache")
struct StatusCacheTests {
    /// The change must arrive by invalidation, well before the cache's minute.
    func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        try await waitUntil(.seconds(5), condition)
    }

    @Test(arguments: Engine.allCases)
    func changesShowAtOnceAndOwnersStillApply(engine: Engine) async throws {
        try await APIHarness.with(engine, environment: ["REPOWATCH_API_STATUS_CACHE_MS": "60000"]) { api in
            let alice = try await api.key(for: "alice")
            let bob = try await api.key(for: "bob")
            let added = try await api.request(.post, "/v1/watchlist", key: alice, json: #"{"repo_url": "https://github.com/apple/swift-nio"}"#)
            let id = try #require(added.string("id"))
            let repositoryText = try #require(added.string("repository_id"))
            let repositoryID = try #require(UUID(uuidString: repositoryText))
            // On PostgreSQL the cache answers only once its listener is up; wait for a cached answer to be possible.
            let first = try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice)
            #expect(first.string("stage") == "queued")
            #expect(try await api.request(.get, "/v1/watchlist/\(id)/status", key: bob).status == .notFound, "a cached answer is not shown to others")

            // A worker (here: the store directly, as any process would) moves the repository on.
            let lifecycle = Lifecycle(
                queue: api.queue, schedule: CheckSchedule(interval: .seconds(86_400), minimumInterval: .seconds(3600), window: .seconds(86_400)))
            let began = try await api.store.transaction { tx in
                try await lifecycle.begin(PipelineJobs.RepositorySetup(repositoryID: repositoryID, generation: 1), attempt: 1, in: tx) != nil
            }
            #expect(began)
            #expect(try await eventually { try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice).string("stage") == "cloning" })

            try await api.store.transaction { tx in
                try await tx.reportStageProgress(40, stage: .cloning, ofRepository: repositoryID, now: Date())
            }
            #expect(try await eventually { try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice)["progress"] == .int(40) })

            #expect(try await api.request(.delete, "/v1/watchlist/\(id)", key: alice).status == .noContent)
            #expect(try await eventually { try await api.request(.get, "/v1/watchlist/\(id)/status", key: alice).status == .notFound })
        }
    }
}
