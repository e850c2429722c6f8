import Crypto
import Domain
import Foundation
import Store
import TestSupport
import Testing

/// The pipeline's writes on both engines: commits stored once, pruned to the window and the cap,
/// paged newest first; private repositories; the clean-up of unwatched repositories. (What the
/// lifecycle does with them is tested in PipelineTests.)
@Suite("Store: pipeline")
struct PipelineStoreTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func commit(_ n: Int, daysAgo: Double, stats: Commit.Stats? = .init(filesChanged: 1, additions: 2, deletions: 3)) -> Commit {
        let sha = String(repeating: "0", count: 40 - String(n, radix: 16).count) + String(n, radix: 16)
        let date = Self.now.addingTimeInterval(-daysAgo * 86_400)
        return Commit(
            sha: sha, parents: n > 0 ? [String(repeating: "f", count: 40)] : [], authorName: "Ann \(n % 3)", authorEmail: "ann\(n % 3)@example.com",
            authoredAt: date, committedAt: date, summary: "commit \(n) — ünïcode 'quoted'", stats: stats)
    }

    func repository(in store: any Store, user name: String = "alice", url: String = "https://github.com/a/b", privateTo: Bool = false)
        async throws -> (user: User, repository: UUID, entry: UUID)
    {
        try await store.transaction { tx in
            let user = try await tx.user(named: name, createIfMissing: true)!
            let added = try await tx.addToWatchlist(
                userID: user.id, url: try RepositoryURL(parsing: url), privateTo: privateTo ? user.id : nil, alertsJSON: "{}", notes: nil,
                now: Self.now)
            return (user, added.entry.repository.id, added.entry.entry.id)
        }
    }

    @Test(arguments: Engine.allCases)
    func commitsAreStoredOncePagedAndPruned(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let (_, id, _) = try await repository(in: store)
            let commits = (0..<900).map { commit($0, daysAgo: Double($0) * 0.5) } + [commit(900, daysAgo: 460, stats: nil)]
            let first = try await store.transaction { try await $0.insertCommits(commits, repository: id) }
            #expect(first == 901)
            // A resumed or repeated backfill inserts nothing twice.
            let again = try await store.transaction { try await $0.insertCommits(Array(commits[100..<500]), repository: id) }
            #expect(again == 0)
            #expect(try await store.read { try await $0.storedCommitShas(repository: id) }.count == 901)

            // Pages, newest first, with no gap and no repeat.
            var seen: [String] = []
            var cursor: (Date, String)?
            repeat {
                let page = try await store.read { [cursor] in try await $0.commits(repository: id, after: cursor, limit: 128) }
                seen += page.map(\.sha)
                cursor = page.count == 128 ? page.last.map { ($0.committedAt, $0.sha) } : nil
            } while cursor != nil
            let expected = commits.sorted { $0.committedAt > $1.committedAt }.map(\.sha)
            #expect(seen.count == expected.count)
            #expect(seen.elementsEqual(expected), "first difference at \(Array(zip(seen, expected)).firstIndex { $0.0 != $0.1 } ?? -1)")
            let stored = try await store.read { try await $0.commits(repository: id, after: nil, limit: 1) }
            #expect(stored.first == commits[0], "every field round-trips")
            let boundary = try await store.read { try await $0.commits(repository: id, after: nil, limit: 1000) }.last
            #expect(boundary?.stats == nil, "unknown stats stay unknown, not zero")

            // Out of the window (460 days) and beyond the cap (the newest 500 kept).
            try await store.transaction { tx in
                try await tx.recordBackfill(
                    ofRepository: id, generation: 1, head: commits[0].sha, windowStart: Self.now.addingTimeInterval(-365 * 86_400), keep: 500)
            }
            let kept = try await store.read { try await $0.commits(repository: id, after: nil, limit: 1000) }
            #expect(kept.map(\.sha) == commits.prefix(500).map(\.sha))
            let work = try await store.read { try await $0.repositoryWork(id: id) }
            #expect(work?.backfilledHead == commits[0].sha && work?.backfillGeneration == 1)
        }
    }

    @Test(arguments: Engine.allCases)
    func aTokenMakesTheRepositoryPrivateToItsUser(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let cipher = TokenCipher(key: .init(size: .bits256))
            let alice = try await repository(in: store, user: "alice", privateTo: true)
            try await store.transaction { tx in
                try await tx.setRepositoryToken(sealed: try cipher.seal("s3cret-token", boundTo: alice.repository), repository: alice.repository, privateTo: alice.user.id)
            }
            let bob = try await repository(in: store, user: "bob")
            let carol = try await repository(in: store, user: "carol")
            #expect(bob.repository != alice.repository, "a user without the token never shares the private repository")
            #expect(bob.repository == carol.repository, "public repositories are shared")
            let aliceAgain = try await repository(in: store, user: "alice", privateTo: true)
            #expect(aliceAgain.repository == alice.repository && aliceAgain.entry == alice.entry)

            let work = try #require(try await store.read { try await $0.repositoryWork(id: alice.repository) })
            #expect(work.repository.isPrivate && work.privateTo == alice.user.id)
            let sealed = try #require(work.sealedToken)
            #expect(!sealed.contains("s3cret-token"))
            #expect(try cipher.open(sealed, boundTo: alice.repository) == "s3cret-token")
            #expect(throws: TokenCipherError.self) { try cipher.open(sealed, boundTo: bob.repository) }
            #expect(throws: TokenCipherError.self) { try TokenCipher(key: .init(size: .bits256)).open(sealed, boundTo: alice.repository) }
            // Nothing in the database holds the token in plain text.
            let dump = try await store.read { try await $0.query("SELECT canonical_url, token_sealed FROM repositories") }
            for row in dump {
                #expect(try row.string("token_sealed")?.contains("s3cret") != true)
            }
        }
    }

    @Test(arguments: Engine.allCases)
    func unwatchedRepositoriesAreDeletedUnlessAddedAgain(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await repository(in: store, user: "alice")
            let bob = try await repository(in: store, user: "bob")
            _ = try await store.transaction { try await $0.insertCommits([commit(1, daysAgo: 1)], repository: alice.repository) }
            let aliceCaller = Caller(userID: alice.user.id, userName: "alice", keyID: UUID(), isAdmin: false)
            let bobCaller = Caller(userID: bob.user.id, userName: "bob", keyID: UUID(), isAdmin: false)
            let first = try await store.transaction { try await $0.deleteEntry(id: alice.entry, visibleTo: aliceCaller) }
            #expect(first?.stillWatched == true)
            let last = try await store.transaction { try await $0.deleteEntry(id: bob.entry, visibleTo: bobCaller) }
            #expect(last?.stillWatched == false && last?.repositoryID == alice.repository)
            // Added again before the clean-up ran: kept.
            let again = try await repository(in: store, user: "carol")
            #expect(try await store.transaction { try await $0.deleteUnwatchedRepository(id: again.repository) } == false)
            let carolCaller = Caller(userID: again.user.id, userName: "carol", keyID: UUID(), isAdmin: false)
            _ = try await store.transaction { try await $0.deleteEntry(id: again.entry, visibleTo: carolCaller) }
            #expect(try await store.transaction { try await $0.deleteUnwatchedRepository(id: again.repository) } == true)
            #expect(try await store.read { try await $0.repositoryWork(id: again.repository) } == nil)
            #expect(try await store.read { try await $0.storedCommitShas(repository: again.repository) }.isEmpty, "commits go with it")
        }
    }
}
