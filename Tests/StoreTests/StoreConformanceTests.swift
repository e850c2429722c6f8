import Domain
import Foundation
import Store
import Synchronization
import TestSupport
import Testing

/// One suite, run against both engines: what the rest of RepoWatch relies on from a store.
@Suite("Store conformance")
struct StoreConformanceTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func url(_ text: String) throws -> RepositoryURL { try RepositoryURL(parsing: text) }

    func user(_ name: String, in store: any Store) async throws -> User {
        try await store.transaction { try await $0.user(named: name, createIfMissing: true)! }
    }

    func caller(_ user: User, admin: Bool = false) -> Caller {
        Caller(userID: user.id, userName: user.name, keyID: UUID(), isAdmin: admin)
    }

    @Test(arguments: Engine.allCases)
    func migrationsAreVersionedAndIdempotent(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            try await store.migrate(logger: TestDatabase.logger)
            let versions = try await store.read { try await $0.query("SELECT version FROM schema_migrations ORDER BY version") }
            #expect(try versions.map { try $0.int("version") } == Migrations.all.map { Int64($0.version) })
        }
    }

    /// Migrations 7 and 8: a Scorecard result stored before reports named their repository named the clone's folder; the
    /// cached result and the reports in the history name the repository and the head instead, other values untouched.
    @Test(arguments: Engine.allCases)
    func oldScorecardResultsNameTheRepositoryNotTheClonesFolder(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            var ids: [UUID] = []
            for text in ["https://github.com/Team/Project", "http://[::1]:8080/group/sub/name"] {
                let added = try await store.transaction {
                    try await $0.addToWatchlist(userID: alice.id, url: try url(text), alertsJSON: "{}", notes: nil, now: Self.now)
                }
                ids.append(added.entry.repository.id)
            }
            let head = String(repeating: "ab", count: 20)
            for id in ids {
                let old = """
                    {"date":"2026-11-30T10:00:00Z","repo":{"name":"file:///var/lib/repowatch/data/clones/\(id.lowercased)","commit":"unknown"},\
                    "scorecard":{"version":"v0.1.0","commit":"unknown"},"score":7.5,"checks":[],"metadata":null}
                    """
                try await store.transaction { tx in
                    try await tx.storeScorecard(
                        StoredScorecard(
                            headCommit: head, commandKey: "repowatch-scorecard", version: "v0.1.0", reportJSON: old, aggregate: 7.5,
                            erroredChecks: [], exitCode: 0, createdAt: Self.now, expiresAt: Self.now.addingTimeInterval(86_400)),
                        repository: id, durationMilliseconds: 5)
                    try await tx.insertHealthReport(HealthReportRecord(
                        id: UUID(), repositoryID: id, headCommit: head, scorecardVersion: "v0.1.0", healthScore: 70, confidence: 1,
                        reportJSON: #"{"head_commit":"\#(head)","scorecard":\#(old),"scorecard_version":"v0.1.0"}"#, createdAt: Self.now))
                }
            }
            let migration = try #require(Migrations.all.first { $0.version == 7 })
            try await store.transaction { tx in
                for statement in migration.rendered(for: tx.dialect) { try await tx.execute(SQL(stringLiteral: statement)) }
            }
            // GitHub's paths are kept lower-cased (its owners and names are case-insensitive).
            for (id, name) in zip(ids, ["github.com/team/project", "[::1]:8080/group/sub/name"]) {
                let result = try #require(try await store.read { try await $0.latestScorecard(repository: id, head: head) })
                let report = try #require(try JSONSerialization.jsonObject(with: Data(result.reportJSON.utf8)) as? [String: Any])
                #expect(report["repo"] as? [String: String] == ["name": name, "commit": head])
                #expect(report["score"] as? Double == 7.5 && (report["scorecard"] as? [String: String])?["version"] == "v0.1.0")
                let health = try #require(try await store.read { try await $0.latestHealthReport(repository: id) })
                let healthJSON = try #require(try JSONSerialization.jsonObject(with: Data(health.reportJSON.utf8)) as? [String: Any])
                let scorecard = try #require(healthJSON["scorecard"] as? [String: Any])
                #expect(scorecard["repo"] as? [String: String] == ["name": name, "commit": head])
                #expect(healthJSON["head_commit"] as? String == head)
                #expect(!result.reportJSON.contains("file:") && !health.reportJSON.contains("file:"))
            }
            // Migration 8 keeps each report's Scorecard aggregate beside it; reports written before get it from their JSON.
            let first = ids[0]
            #expect(try await store.read { try await $0.reportHistory(repository: first, limit: 10) }.map(\.scorecardScore) == [nil])
            let backfill = try #require(Migrations.all.first { $0.version == 8 }).rendered(for: store.dialect).filter { $0.hasPrefix("UPDATE") }
            #expect(backfill.count == 1)
            try await store.transaction { tx in
                for statement in backfill { try await tx.execute(SQL(stringLiteral: statement)) }
            }
            for id in ids {
                let history = try await store.read { try await $0.reportHistory(repository: id, limit: 10) }
                #expect(history.map(\.scorecardScore) == [7.5] && history.map(\.healthScore) == [70])
            }
        }
    }

    @Test(arguments: Engine.allCases)
    func oneRepositoryRowPerCanonicalURL(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            let bob = try await user("bob", in: store)
            let first = try await store.transaction {
                try await $0.addToWatchlist(userID: alice.id, url: try url("https://github.com/Apple/Swift-NIO.git"), alertsJSON: "{}", notes: nil, now: Self.now)
            }
            #expect(first.entryCreated && first.repositoryCreated)
            #expect(first.entry.repository.state == .queued)
            let again = try await store.transaction {
                try await $0.addToWatchlist(userID: alice.id, url: try url("git@github.com:apple/swift-nio"), alertsJSON: "{\"x\":1}", notes: "n", now: Self.now)
            }
            #expect(!again.entryCreated && !again.repositoryCreated)
            #expect(again.entry.entry.id == first.entry.entry.id)
            #expect(again.entry.entry.alertsJSON == "{}", "adding again does not change the entry")
            let other = try await store.transaction {
                try await $0.addToWatchlist(userID: bob.id, url: try url("https://github.com/apple/swift-nio"), alertsJSON: "{}", notes: nil, now: Self.now)
            }
            #expect(other.entryCreated && !other.repositoryCreated)
            #expect(other.entry.repository.id == first.entry.repository.id)
            let count = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM repositories")?.int("n") }
            #expect(count == 1)
        }
    }

    /// Many users adding one repository at the same moment: one repository, one entry each.
    @Test(arguments: Engine.allCases)
    func concurrentAddsConvergeOnOneRow(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            var users: [User] = []
            for i in 0..<5 { users.append(try await user("user\(i)", in: store)) }
            let target = try url("https://github.com/vapor/vapor")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<50 {
                    let u = users[i % users.count]
                    group.addTask {
                        _ = try await store.transaction {
                            try await $0.addToWatchlist(userID: u.id, url: target, alertsJSON: "{}", notes: nil, now: Self.now)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let repositories = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM repositories")?.int("n") }
            let entries = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM watchlist_entries")?.int("n") }
            #expect(repositories == 1)
            #expect(entries == 5)
        }
    }

    @Test(arguments: Engine.allCases)
    func aFailedTransactionLeavesNothingBehind(engine: Engine) async throws {
        struct Boom: Error {}
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            await #expect(throws: Boom.self) {
                try await store.transaction { tx in
                    _ = try await tx.addToWatchlist(userID: alice.id, url: try url("https://github.com/a/b"), alertsJSON: "{}", notes: nil, now: Self.now)
                    throw Boom()
                }
            }
            let repositories = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM repositories")?.int("n") }
            let entries = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM watchlist_entries")?.int("n") }
            #expect(repositories == 0 && entries == 0)
        }
    }

    @Test(arguments: Engine.allCases)
    func entriesAreVisibleToTheirOwnerAndToAdmins(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            let bob = try await user("bob", in: store)
            let added = try await store.transaction {
                try await $0.addToWatchlist(userID: alice.id, url: try url("https://github.com/a/b"), alertsJSON: "{}", notes: nil, now: Self.now)
            }
            let id = added.entry.entry.id
            #expect(try await store.read { try await $0.entry(id: id, visibleTo: caller(alice)) } != nil)
            #expect(try await store.read { try await $0.entry(id: id, visibleTo: caller(bob)) } == nil)
            #expect(try await store.read { try await $0.entry(id: id, visibleTo: caller(bob, admin: true)) } != nil)
            #expect(try await store.transaction { try await $0.deleteEntry(id: id, visibleTo: caller(bob)) } == nil)
            #expect(try await store.transaction {
                try await $0.updateEntry(id: id, visibleTo: caller(bob), alertsJSON: "{}", notes: .some("x"), now: Self.now)
            } == nil)
            #expect(try await store.read { try await $0.entry(id: id, visibleTo: caller(alice)) }?.entry.notes == nil)
        }
    }

    @Test(arguments: Engine.allCases)
    func updateAndDelete(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            let added = try await store.transaction {
                try await $0.addToWatchlist(userID: alice.id, url: try url("https://github.com/a/b"), alertsJSON: "{}", notes: "old", now: Self.now)
            }
            let id = added.entry.entry.id
            let later = Self.now + 60
            let updated = try await store.transaction {
                try await $0.updateEntry(id: id, visibleTo: caller(alice), alertsJSON: "{\"on\": true}", notes: .some(nil), now: later)
            }
            #expect(updated?.entry.notes == nil)
            #expect(updated?.entry.alertsJSON.replacingOccurrences(of: " ", with: "") == "{\"on\":true}")
            #expect(updated?.entry.updatedAt == later)
            let notesOnly = try await store.transaction {
                try await $0.updateEntry(id: id, visibleTo: caller(alice), alertsJSON: nil, notes: .some("new"), now: later)
            }
            #expect(notesOnly?.entry.notes == "new")
            #expect(notesOnly?.entry.alertsJSON.replacingOccurrences(of: " ", with: "") == "{\"on\":true}")
            #expect(try await store.transaction { try await $0.deleteEntry(id: id, visibleTo: caller(alice)) } != nil)
            #expect(try await store.read { try await $0.entry(id: id, visibleTo: nil) } == nil)
            let repositories = try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM repositories")?.int("n") }
            #expect(repositories == 1, "the repository stays when its last entry goes")
        }
    }

    @Test(arguments: Engine.allCases)
    func listingPagesByCursorAndFiltersByStatus(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            let bob = try await user("bob", in: store)
            var ids: [UUID] = []
            for i in 0..<7 {
                let e = try await store.transaction {
                    try await $0.addToWatchlist(
                        userID: alice.id, url: try url("https://github.com/o/r\(i)"), alertsJSON: "{}", notes: nil, now: Self.now + Double(i))
                }
                ids.append(e.entry.entry.id)
            }
            _ = try await store.transaction {
                try await $0.addToWatchlist(userID: bob.id, url: try url("https://github.com/o/bob"), alertsJSON: "{}", notes: nil, now: Self.now)
            }
            var seen: [UUID] = []
            var cursor: UUID?
            repeat {
                let page = try await store.read { [cursor] in try await $0.listEntries(visibleTo: caller(alice), status: nil, after: cursor, limit: 3) }
                seen += page.map(\.entry.id)
                cursor = page.count == 3 ? page.last?.entry.id : nil
            } while cursor != nil
            #expect(seen == ids, "every entry once, in creation order, none of bob's")

            // Mark one repository ready; the status filter finds exactly it.
            let third = ids[2]
            let repository = try await store.read { try await $0.entry(id: third, visibleTo: nil)!.repository }
            let ready = try repository.state.start(.cloning, at: Self.now).complete(at: Self.now + 1)
            try await store.transaction { try await $0.setState(ready, ofRepository: repository.id, now: Self.now + 1) }
            let readyOnes = try await store.read { try await $0.listEntries(visibleTo: caller(alice), status: .ready, after: nil, limit: 10) }
            #expect(readyOnes.map(\.entry.id) == [third])
            #expect(readyOnes.first?.repository.state == ready)
            let all = try await store.read { try await $0.listEntries(visibleTo: caller(bob, admin: true), status: nil, after: nil, limit: 100) }
            #expect(all.count == 8)
        }
    }

    @Test(arguments: Engine.allCases)
    func keysAreStoredOnlyAsHashes(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let (record, key) = try await store.transaction { try await $0.createAPIKey(userName: "carol", isAdmin: false) }
            #expect(key.hasPrefix("rw_") && key.count == 43)
            let stored = try await store.read { try await $0.query("SELECT key_hash, prefix FROM api_keys") }
            #expect(stored.count == 1)
            #expect(try stored[0].string("key_hash") == APIKeys.hash(key))
            #expect(try stored[0].string("key_hash") != key)
            let caller = try await store.read { try await $0.caller(presenting: key) }
            #expect(caller?.userName == "carol" && caller?.isAdmin == false && caller?.keyID == record.id)
            #expect(try await store.read { try await $0.caller(presenting: key + "x") } == nil)
            #expect(try await store.read { try await $0.caller(presenting: "rw_" + String(repeating: "A", count: 40)) } == nil)
            #expect(try await store.transaction { try await $0.revokeAPIKey(record.prefix) } == 1)
            #expect(try await store.read { try await $0.caller(presenting: key) } == nil, "a revoked key no longer works")
            #expect(try await store.read { try await $0.listAPIKeys() }.first?.revokedAt != nil)
            #expect(try await store.transaction { try await $0.activeAPIKeyCount() } == 0)
        }
    }

    @Test(arguments: Engine.allCases)
    func timestampsAndUnicodeSurviveARoundTrip(engine: Engine) async throws {
        try await TestDatabase.withStore(engine) { store in
            let alice = try await user("alice", in: store)
            let precise = Date(timeIntervalSince1970: 1_800_000_000.123456)
            let notes = "naïve 日本語 🚀 \"quotes\" 'single' \\ back"
            let added = try await store.transaction {
                try await $0.addToWatchlist(userID: alice.id, url: try url("https://github.com/a/b"), alertsJSON: "{\"k\":\"ü\"}", notes: notes, now: precise)
            }
            let read = try await store.read { try await $0.entry(id: added.entry.entry.id, visibleTo: nil) }
            #expect(read?.entry.notes == notes)
            #expect(abs((read?.entry.createdAt.timeIntervalSince1970 ?? 0) - precise.timeIntervalSince1970) < 0.000_001)
        }
    }
}

/// Two transactions that lock the same rows in opposite orders: PostgreSQL aborts one to break the
/// deadlock, and the store runs it again — both commit, and the caller never sees the deadlock.
@Suite("Store: deadlocks")
struct DeadlockTests {
    @Test func aTransactionAbortedForADeadlockRunsAgainAndCommits() async throws {
        try await TestDatabase.withStore(.postgres) { store in
            let epoch = Date(timeIntervalSince1970: 0)
            _ = try await store.write("INSERT INTO periodic_runs (name, last_scheduled_at) VALUES ('a', \(epoch)), ('b', \(epoch))")
            let runs = Counter()
            // Each first run waits until both hold their first row, so the two always deadlock, whatever the load.
            let bothLocked = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (first, second, seconds) in [("a", "b", 1.0), ("b", "a", 2.0)] {
                    group.addTask {
                        try await store.transaction { tx in
                            let run = runs.add()
                            let date = Date(timeIntervalSince1970: seconds)
                            try await tx.execute("UPDATE periodic_runs SET last_scheduled_at = \(date) WHERE name = \(first)")
                            if run <= 2 {
                                bothLocked.add()
                                _ = try await waitUntil(.seconds(30)) { bothLocked.value >= 2 }
                            }
                            try await tx.execute("UPDATE periodic_runs SET last_scheduled_at = \(date) WHERE name = \(second)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(runs.value == 3, "one of the two ran again")
            let dates = try await store.read { try await $0.query("SELECT last_scheduled_at FROM periodic_runs ORDER BY name") }
                .map { try $0.require("last_scheduled_at", $0.date) }
            #expect(dates.count == 2 && dates[0] == dates[1], "the one that ran again committed last, whole: \(dates)")
        }
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    /// Adds one; the new value.
    @discardableResult
    func add() -> Int { count.withLock { $0 += 1; return $0 } }
    var value: Int { count.withLock { $0 } }
}
