import Foundation
import GitFixtures
import Store
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real processes against a PostgreSQL server of the test's own, which the test restarts or stops as a
/// failover, an upgrade or an outage would:
/// - restarted (fast and immediate) under a load of POSTs and status polls while jobs run: no accepted entry is
///   lost, no request gets a 500 (the database's absence is a 503 with `Retry-After`), every process serves
///   again without being restarted, and every entry still ends `ready` or `failed`;
/// - gone for good: SIGTERM still stops every process within `jobs.shutdown_grace` plus a few seconds.
@Suite("Database outages")
struct DatabaseOutageTests {
    @Test(arguments: ["fast", "immediate"])
    func aRestartLosesNoAcceptedEntryAndEveryProcessServesAgain(mode: String) async throws {
        try await HeavyTests.run {
            let outage = try await Outage.start(repositories: 4)
            do {
                try await outage.restartUnderLoad(mode: mode)
                await outage.stop()
            } catch {
                await outage.stop()
                throw error
            }
        }
    }

    @Test func shutdownIsBoundedWhenTheDatabaseIsGone() async throws {
        try await HeavyTests.run {
            let outage = try await Outage.start(repositories: 0, shutdownGrace: "2s")
            do {
                // Jobs that run until they are cancelled hold every worker slot when the database goes.
                let probes = try await ChildProcess.run(
                    CLITests.binary, ["queue", "probe", "--count", "6", "--sleep-ms", "600000", "--database-url", outage.databaseURL],
                    environment: CLITests.environment(outage.environment))
                #expect(probes.status == 0, "\(probes.stderr)")
                let store = PostgresStore(configuration: try PostgresURL.parse(outage.databaseURL), logger: TestDatabase.logger)
                let running = try await withRunningStore(store) { store in
                    try await waitUntil(.seconds(60)) {
                        try await store.read { try await $0.first("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'probe' AND state = 'running'")?.int("n") } ?? 0 >= 2
                    }
                }
                #expect(running, "probe jobs running before the outage")
                try await outage.database("stop")
                try await Task.sleep(for: .seconds(2))  // every process notices: claims, LISTEN and leadership fail

                let started = ContinuousClock.now
                let processes = outage.processes
                for (_, process) in processes { process.send(SIGTERM) }
                for (name, process) in processes {
                    // Bounded: 2 s of grace, 5 s for the last writes, 10 s of slack before cancellation; the limit
                    // here only keeps a regression (a process that never ends) from hanging the suite.
                    let status = await Chaos.terminate(process, timeout: .seconds(45))
                    #expect(status == 0 && !process.wasSignalled,
                            "\(name) on SIGTERM with the database gone: \(status.map { "exit \($0)" } ?? "still running after 45 s, killed")\n\(process.stderr.suffix(2000))")
                }
                print("database outage: \(processes.count) processes (serve, api, worker) stopped on SIGTERM with the database gone in \(ContinuousClock.now - started) (jobs.shutdown_grace 2s)")
                outage.processes = []
                await outage.stop()
            } catch {
                await outage.stop()
                throw error
            }
        }
    }
}

/// A PostgreSQL server of the test's own (scripts/pg-throwaway.sh), a git server, and `repowatch serve`, `api` and
/// `worker` processes on it.
final class Outage: @unchecked Sendable {
    static let script = URL(fileURLWithPath: CLITests.binary)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/pg-throwaway.sh").path
    /// How many requests in a row must be served after a restart for the refusals to count as over.
    static let servedRun = 20

    let scratch: URL
    /// Short: it holds the server's Unix socket, whose path is limited to 107 bytes.
    let databaseFolder: String
    let databaseURL: String
    let git: GitHTTPServer
    let names: [String]
    let environment: [String: String]
    var processes: [(String, ChildProcess)] = []
    var key = ""
    /// Base URLs of the two processes that serve HTTP (serve, api).
    var bases: [String] = []

    private init(scratch: URL, databaseFolder: String, databaseURL: String, git: GitHTTPServer, names: [String], environment: [String: String]) {
        self.scratch = scratch
        self.databaseFolder = databaseFolder
        self.databaseURL = databaseURL
        self.git = git
        self.names = names
        self.environment = environment
    }

    static func start(repositories: Int, shutdownGrace: String = "5s") async throws -> Outage {
        let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("served/fixtures"), withIntermediateDirectories: true)
        let now = Date()
        let names = (0..<repositories).map { "repo-\($0)" }
        for (index, name) in names.enumerated() {
            _ = try await RepositoryGenerator.make(
                at: scratch.appendingPathComponent("served/fixtures/\(name)"), commits: 40,
                span: now.addingTimeInterval(-200 * 86_400)...now.addingTimeInterval(-3600), seed: UInt64(index + 1), bare: true)
        }
        let git = try await GitHTTPServer.start(root: scratch.appendingPathComponent("served"))
        let databaseFolder = "/tmp/rwpg-" + UUID().uuidString.prefix(8).lowercased()
        // Durable commits: an immediate stop is a crash, and a committed entry must survive it as in production.
        let started = try await ChildProcess.run(
            "/bin/bash", [script, "start", databaseFolder],
            environment: ProcessInfo.processInfo.environment.merging(["PG_DURABLE": "1"]) { $1 })
        guard started.status == 0, let url = started.stdout.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            await git.stop()
            throw TestSetupError("pg-throwaway.sh start: \(started.stderr)")
        }
        let outage = Outage(
            scratch: scratch, databaseFolder: databaseFolder, databaseURL: url, git: git, names: names,
            environment: [
                "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(git.port)",
                "REPOWATCH_GIT_PROTOCOLS": "http",
                "REPOWATCH_JOBS_LEASE": "5s",
                "REPOWATCH_JOBS_RESCUE_INTERVAL": "1s",
                "REPOWATCH_JOBS_POLL_INTERVAL": "200ms",
                "REPOWATCH_JOBS_RETRY_BASE": "200ms",
                "REPOWATCH_JOBS_RETRY_MAX": "2s",
                "REPOWATCH_JOBS_SHUTDOWN_GRACE": shutdownGrace,
                "REPOWATCH_PIPELINE_RECONCILE_INTERVAL": "2s",
                "REPOWATCH_LOG_LEVEL": "warning",
            ])
        do {
            try await outage.launch()
        } catch {
            await outage.stop()
            throw error
        }
        return outage
    }

    /// `serve` first (it applies the migrations and prints the first admin key), then `api` and `worker`.
    private func launch() async throws {
        let servePort = try EndToEndTests.freePort()
        let serve = try await process("serve", ["serve", "--port", "\(servePort)"])
        let printed = try await waitUntil(.seconds(60)) { serve.stdout.split(separator: "\n").contains { CLITests.isKey(String($0)) } }
        try #require(printed, "the first start's admin key: \(serve.stderr.suffix(2000))")
        key = serve.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey) ?? ""
        let apiPort = try EndToEndTests.freePort()
        _ = try await process("api", ["api", "--port", "\(apiPort)"])
        _ = try await process("worker", ["worker"])
        bases = ["http://127.0.0.1:\(servePort)", "http://127.0.0.1:\(apiPort)"]
        for base in bases {
            let live = try await waitUntil(.seconds(60)) { try await EndToEndTests.http("GET", "\(base)/health/live", key: self.key).0 == 200 }
            try #require(live, "\(base) answers")
        }
    }

    private func process(_ name: String, _ arguments: [String]) async throws -> ChildProcess {
        let folder = scratch.appendingPathComponent(name)
        let process = try await ChildProcess.start(
            CLITests.binary, arguments + ["--database-url", databaseURL, "--data-dir", folder.path],
            environment: CLITests.environment(environment.merging(["REPOWATCH_GIT_CLONE_DIR": folder.appendingPathComponent("clones").path]) { $1 }))
        processes.append((name, process))
        return process
    }

    /// `scripts/pg-throwaway.sh ACTION` on this test's server (restart takes the mode as a further argument).
    func database(_ action: String, _ more: String...) async throws {
        let result = try await ChildProcess.run(
            "/bin/bash", [Self.script, action, databaseFolder] + more, environment: ProcessInfo.processInfo.environment)
        guard result.status == 0 else { throw TestSetupError("pg-throwaway.sh \(action): \(result.stderr)") }
    }

    /// What the load has sent and got, shared by its tasks.
    final class Load: Sendable {
        let exchanges = Mutex<[Exchange]>([])
        let accepted = Mutex<[String]>([])
        let stop = Mutex(false)
    }

    /// One request's outcome, with when it was sent relative to the restart.
    struct Exchange: Sendable {
        let sent: ContinuousClock.Instant
        let status: Int
        let what: String
    }

    /// Restarts the database in the middle of a load of POSTs (a served repository or a missing one) and status
    /// polls on both HTTP processes, then checks what the issue asks.
    func restartUnderLoad(mode: String) async throws {
        let load = Load()
        let names = self.names
        let (git, key, bases) = (self.git, self.key, self.bases)
        let post: @Sendable (Int) async throws -> Void = { index in
            // The served repositories are added about a second before the restart (a POST through curl takes
            // ~150 ms here, and the restart comes at 3 s), so their clone, backfill and analysis run across it;
            // every other entry watches a repository that does not exist (its setup fails at once).
            let served = index - 10
            let path = names.indices.contains(served) ? "fixtures/\(names[served])" : "fixtures/missing-\(index)"
            let url = git.url(for: path)
            let base = bases[index % bases.count]
            let sent = ContinuousClock.now
            let (status, body) = try await EndToEndTests.http("POST", "\(base)/v1/watchlist", key: key, json: #"{"repo_url": "\#(url)"}"#)
            load.exchanges.withLock { $0.append(Exchange(sent: sent, status: status, what: "POST \(path) → \(body)")) }
            if status == 202 || status == 200 || status == 201, let id = body["id"] as? String { load.accepted.withLock { $0.append(id) } }
        }
        let poll: @Sendable (Int) async throws -> Void = { index in
            let ids = load.accepted.withLock { $0 }
            guard let id = ids.randomElement() else { return }
            let sent = ContinuousClock.now
            let (status, body) = try await EndToEndTests.http("GET", "\(bases[index % bases.count])/v1/watchlist/\(id)/status", key: key)
            load.exchanges.withLock { $0.append(Exchange(sent: sent, status: status, what: "GET status → \(body)")) }
        }

        var restartStarted = ContinuousClock.now
        var restartEnded = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var index = 0
                while !load.stop.withLock({ $0 }) {
                    try await post(index)
                    index += 1
                    try await Task.sleep(for: .milliseconds(40))
                }
            }
            group.addTask {
                var index = 0
                while !load.stop.withLock({ $0 }) {
                    try await poll(index)
                    index += 1
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            try await Task.sleep(for: .seconds(3))
            restartStarted = ContinuousClock.now
            try await database("restart", mode)
            restartEnded = ContinuousClock.now
            // The load goes on for at least 6 s after the restart, and then until its last 20 requests were all
            // served (a minute at most): a bound for the test to end, not a figure it asserts.
            let after = restartEnded
            let minimum = after + .seconds(6)
            let cap = after + .seconds(60)
            while ContinuousClock.now < cap {
                try await Task.sleep(for: .milliseconds(200))
                if ContinuousClock.now < minimum { continue }
                let tail = load.exchanges.withLock { $0 }.filter { $0.sent >= after }.sorted { $0.sent < $1.sent }.suffix(Self.servedRun)
                if tail.count == Self.servedRun && tail.allSatisfy({ (200..<300).contains($0.status) }) { break }
            }
            load.stop.withLock { $0 = true }
            try await group.waitForAll()
        }

        let all = load.exchanges.withLock { $0 }.sorted { $0.sent < $1.sent }
        let during = all.filter { $0.sent >= restartStarted }
        let firstServedAfter = during.first { $0.sent >= restartEnded && (200..<300).contains($0.status) }
        let refused = all.filter { !(200..<300).contains($0.status) }
        let posts = all.filter { $0.what.hasPrefix("POST") }
        // No 500, ever: while the database is away a request is refused with 503 and Retry-After, and only then.
        for exchange in refused {
            #expect(exchange.status == 503, "\(mode) restart: HTTP \(exchange.status) for \(exchange.what)")
            #expect(exchange.sent >= restartStarted - .seconds(1), "refused before the restart: \(exchange.what)")
        }
        let lastRefused = refused.last.map { $0.sent - restartEnded }
        #expect(firstServedAfter != nil, "\(mode) restart: nothing served after the database came back")
        // Refusals stop once the database is back, without restarting a process: the load ended on a run of served
        // requests (the order of outcomes, not how long the pools took to reconnect, which is printed below).
        let tail = all.filter { $0.sent >= restartEnded }.suffix(Self.servedRun)
        #expect(
            tail.count == Self.servedRun && tail.allSatisfy { (200..<300).contains($0.status) },
            "\(mode) restart: still refusing a minute after the restart: \(tail.map { "\($0.status) \($0.what.prefix(80))" })")

        // Every accepted entry is there and ends ready or failed: the worker reconnected without a restart.
        let ids = load.accepted.withLock { $0 }
        var outcomes: [String: Int] = [:]
        var lost = 0
        let deadline = ContinuousClock.now + .seconds(180)
        var pending = Set(ids)
        while !pending.isEmpty && ContinuousClock.now < deadline {
            for id in pending {
                let (status, body) = try await EndToEndTests.http("GET", "\(bases[0])/v1/watchlist/\(id)/status", key: key)
                if status == 404 { lost += 1; pending.remove(id); continue }
                if let state = body["status"] as? String, state != "processing", body["refreshing"] as? Bool != true {
                    outcomes[state == "failed" ? "failed(\(body["failure_reason"] ?? "?"))" : state, default: 0] += 1
                    pending.remove(id)
                }
            }
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
        }
        #expect(lost == 0, "\(mode) restart: \(lost) accepted entries lost")
        var stuck: [String] = []
        for id in pending {
            stuck.append("entry \(id): \(try await EndToEndTests.http("GET", "\(bases[0])/v1/watchlist/\(id)/status", key: key).1)")
        }
        for state in ["available", "running", "retryable"] {
            stuck.append("\(state) jobs: \(try await EndToEndTests.http("GET", "\(bases[0])/v1/jobs?state=\(state)", key: key).1)")
        }
        #expect(pending.isEmpty, "\(mode) restart: \(pending.count) entries still processing 180 s later\n\(stuck.joined(separator: "\n"))\n\(logs())")
        #expect((outcomes["ready"] ?? 0) > 0, "served repositories end ready: \(outcomes)")
        for (name, process) in processes {
            #expect(!process.hasExited, "\(name) is still running (never restarted): \(process.stderr.suffix(1500))")
        }
        print("""
            database restart (\(mode)): \(all.count) requests (\(posts.count) POSTs, \(ids.count) accepted), \(refused.count) refused \
            with 503 (\(refused.filter { $0.what.hasPrefix("POST") }.count) POSTs), none 5xx otherwise; restart took \
            \(restartEnded - restartStarted); first request served \(firstServedAfter.map { "\($0.sent - restartEnded)" } ?? "never") \
            after it, last refusal \(lastRefused.map { "\($0)" } ?? "none") after it; entries lost: \(lost); outcomes: \(outcomes.sorted { $0.key < $1.key })
            """)
    }

    func logs() -> String {
        processes.map { "\($0.0):\n\($0.1.stderr.suffix(1500))" }.joined(separator: "\n")
    }

    /// SIGTERM to what still runs (killed after 60 s), the database stopped, the folders removed.
    func stop() async {
        for (name, process) in processes where !process.hasExited {
            let status = await Chaos.terminate(process)
            // A crash's own message comes before its backtrace: show from there.
            let text = process.stderr
            let crash = text.range(of: "Fatal error") ?? text.range(of: "💣") ?? text.range(of: "Crash")
            let shown = crash.map { String(text[$0.lowerBound...].prefix(4000)) } ?? String(text.suffix(1500))
            #expect(status == 0, "\(name) on SIGTERM: \(status.map { "exit \($0)" } ?? "killed")\n\(shown)")
        }
        processes = []
        _ = try? await ChildProcess.run("/bin/bash", [Self.script, "stop", databaseFolder], environment: ProcessInfo.processInfo.environment)
        try? FileManager.default.removeItem(atPath: databaseFolder)
        await git.stop()
        try? FileManager.default.removeItem(at: scratch)
    }
}
