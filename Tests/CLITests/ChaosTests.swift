import Foundation
import GitFixtures
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Chaos with real processes: one `repowatch api` and 2 (SQLite) or 3 (PostgreSQL) `repowatch worker`s on one
/// database, each worker with a clone folder of its own as on separate hosts, watching repositories served over
/// smart HTTP, while a seeded driver injects faults at random moments — workers killed with SIGKILL, pushes,
/// repositories gone from the git server or unable to send objects, Scorecard failing (retried or not), jobs
/// cancelled and deleted by an administrator, clones evicted and whole clone cache folders removed, git and
/// Scorecard processes killed with SIGKILL mid-run, entries deleted and added again, retries and
/// re-checks. Then every fault is removed, and once nothing is being worked on: every entry is `ready` (its report
/// for its head, its stored commits reachable from that head) or `failed` with a reason, no repository has two
/// unfinished jobs of one kind, the stall gauge reads 0, and every process stops cleanly on SIGTERM.
///
/// `CHAOS_SEED` replays the driver's choices (the seed is printed first; the timing of the processes still varies
/// from run to run, so a replay makes the same choices, not always the same interleaving). `CHAOS_SECONDS`
/// (default 25) and `CHAOS_REPOSITORIES` (default 50) size it; `make chaos` runs a longer one.
@Suite("Chaos")
struct ChaosTests {
    struct Options: Sendable {
        var seed: UInt64
        var seconds: Int
        var repositories: Int

        static func fromEnvironment() -> Options {
            let environment = ProcessInfo.processInfo.environment
            func number(_ name: String) -> Int? { environment[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
            return Options(
                seed: environment["CHAOS_SEED"].flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) } ?? UInt64.random(in: 1...UInt64.max),
                seconds: max(1, number("CHAOS_SECONDS") ?? 25),
                repositories: max(1, number("CHAOS_REPOSITORIES") ?? 50))
        }
    }

    @Test(arguments: Engine.allCases)
    func everyRepositoryEndsReadyOrFailedWhateverTheFaults(engine: Engine) async throws {
        let options = Options.fromEnvironment()
        print("chaos (\(engine)): seed \(options.seed), \(options.repositories) repositories, \(options.seconds) s of faults — replay with CHAOS_SEED=\(options.seed)")
        try await HeavyTests.run {
            let chaos = try await Chaos.make(engine: engine, options: options)
            do {
                try await chaos.launch()
                try await chaos.addEveryRepository()
                try await chaos.drive()
                let (entries, settled) = try await chaos.settle()
                try await chaos.check(entries, settled: settled)
                await chaos.stopGracefully()
                await chaos.cleanUp()
            } catch {
                await chaos.abort()
                throw error
            }
        }
    }
}

/// One chaos run: its folders, git server, processes, the driver's generator and what it has done.
final class Chaos {
    /// The faults the driver picks from, with how often (relative weights).
    enum Fault: String, CaseIterable {
        case killWorker = "kill-worker"
        case push
        case gitFault = "git-fault"
        case scorecardFault = "scorecard-fault"
        case adminJobs = "admin-jobs"
        case evictClone = "evict-clone"
        case deleteAndAddAgain = "delete-and-add-again"
        case retryAndRecheck = "retry-and-recheck"
        case killSubprocess = "kill-subprocess"
        case deleteCloneCache = "delete-clone-cache"

        var weight: Int {
            switch self {
            case .killWorker, .deleteAndAddAgain, .deleteCloneCache: 1
            case .push: 3
            case .gitFault, .scorecardFault, .adminJobs, .evictClone, .retryAndRecheck, .killSubprocess: 2
            }
        }

        static func pick(using random: inout SeededGenerator) -> Fault {
            var roll = Int.random(in: 0..<allCases.reduce(0) { $0 + $1.weight }, using: &random)
            for fault in allCases {
                if roll < fault.weight { return fault }
                roll -= fault.weight
            }
            return .push
        }
    }

    /// What a fault leaves to be undone later.
    enum Undo {
        /// Move the bare repository back where the server finds it.
        case restoreRepository(String)
        /// Put the bare repository's objects back.
        case restoreObjects(String)
        /// Remove a Scorecard control file.
        case removeControlFile(URL)
        /// POST the entry of a repository again.
        case addAgain(String)
    }

    enum GitFault { case gone, objectsHidden }

    static let stageKinds: Set<String> = ["repository-setup", "commit-backfill", "health-analysis"]
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ScorecardTests/Fixtures/example-1-github.com-ossf-scorecard.json")

    let engine: Engine
    let options: ChaosTests.Options
    let scratch: URL
    /// The git server's root: bare repositories at `fixtures/<name>`.
    let served: URL
    /// Where faulted repositories and objects wait to be put back (same file system: renames are atomic).
    let away: URL
    /// The fake Scorecard's control files: `transient-<name>`, `permanent-<name>`.
    let control: URL
    /// The driver's clones of the served repositories, to push from.
    let workTrees: URL
    let dataDir: URL
    let names: [String]
    let gitServer: GitHTTPServer
    let databaseURL: String?
    /// `--data-dir` (one SQLite file for every process) and, on PostgreSQL, `--database-url`.
    let databaseFlags: [String]
    let environment: [String: String]
    let workerCount: Int

    var random: SeededGenerator
    var api: ChildProcess?
    var workers: [ChildProcess] = []
    var key = ""
    var base = ""
    /// Entry id per repository name; absent while the entry is deleted and waits to be added again.
    var entries: [String: String] = [:]
    var repositoryIDs: [String: String] = [:]
    var gitFaults: [String: GitFault] = [:]
    var pending: [(due: ContinuousClock.Instant, undo: Undo)] = []
    var counts: [String: Int] = [:]

    private init(
        engine: Engine, options: ChaosTests.Options, scratch: URL, names: [String], gitServer: GitHTTPServer,
        databaseURL: String?, scorecard: String
    ) {
        self.engine = engine
        self.options = options
        self.scratch = scratch
        served = scratch.appendingPathComponent("served")
        away = scratch.appendingPathComponent("away")
        control = scratch.appendingPathComponent("scorecard-control")
        workTrees = scratch.appendingPathComponent("work-trees")
        let dataDir = scratch.appendingPathComponent("data")
        self.dataDir = dataDir
        self.names = names
        self.gitServer = gitServer
        self.databaseURL = databaseURL
        databaseFlags = ["--data-dir", dataDir.path] + (databaseURL.map { ["--database-url", $0] } ?? [])
        workerCount = engine == .sqlite ? 2 : 3
        random = SeededGenerator(seed: options.seed ^ 0xC4A0_5C4A_05C4_A05C)
        environment = [
            "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(gitServer.port)",
            "REPOWATCH_GIT_PROTOCOLS": "http",
            "REPOWATCH_JOBS_LEASE": "3s",
            "REPOWATCH_JOBS_RESCUE_INTERVAL": "500ms",
            "REPOWATCH_JOBS_POLL_INTERVAL": "200ms",
            "REPOWATCH_JOBS_RETRY_BASE": "100ms",
            "REPOWATCH_JOBS_RETRY_MAX": "1s",
            "REPOWATCH_JOBS_MAX_ATTEMPTS": "3",
            "REPOWATCH_PIPELINE_RECONCILE_INTERVAL": "2s",
            "REPOWATCH_GIT_TIMEOUT": "30s",
            "REPOWATCH_SCORECARD_TIMEOUT": "20s",
            "REPOWATCH_SCORECARD_COMMAND": scorecard,
            "REPOWATCH_SCORECARD_ARGS": "--repo={repo},--local={clone},--format=json",
            // Every analysis runs the command, so every Scorecard fault can bite.
            "REPOWATCH_SCORECARD_CACHE_TTL": "0s",
            "REPOWATCH_LOG_LEVEL": "warning",
            "REPOWATCH_WORKERS_CONCURRENCY": "repository-setup=2,commit-backfill=2,health-analysis=2,maintenance=2",
        ]
    }

    /// Generates the repositories, starts the git server, writes the fake Scorecard, makes the database.
    static func make(engine: Engine, options: ChaosTests.Options) async throws -> Chaos {
        let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
        for folder in ["served/fixtures", "away", "scorecard-control", "work-trees", "data", "clones"] {
            try FileManager.default.createDirectory(at: scratch.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        // Its own generator: the driver's choices do not depend on how the repositories were drawn.
        var layout = SeededGenerator(seed: options.seed)
        let names = (0..<options.repositories).map { String(format: "repo-%03d", $0) }
        let now = Date()
        for name in names {
            let commits = Int.random(in: 20...80, using: &layout)
            let first = now.addingTimeInterval(-Double.random(in: 60...350, using: &layout) * 86_400)
            let last = now.addingTimeInterval(-Double.random(in: 1...720, using: &layout) * 3600)
            _ = try await RepositoryGenerator.make(
                at: scratch.appendingPathComponent("served/fixtures/\(name)"), commits: commits, span: first...last,
                seed: layout.next(), bare: true)
        }
        let gitServer = try await GitHTTPServer.start(root: scratch.appendingPathComponent("served"))
        let scorecard = try fakeScorecard(in: scratch, control: scratch.appendingPathComponent("scorecard-control"))
        var databaseURL: String?
        if engine == .postgres { databaseURL = try await TestDatabase.createDatabase() }
        return Chaos(
            engine: engine, options: options, scratch: scratch, names: names, gitServer: gitServer, databaseURL: databaseURL,
            scorecard: scorecard)
    }

    /// A fake `scorecard` modelled on `AnalysisTests.fakeScorecard`: `version` answers like the official CLI; a run
    /// prints the fixture result unless a control file names the repository (`--repo=127.0.0.1:PORT/fixtures/NAME`):
    /// - `transient-NAME`: exit 1 with nothing on stdout, which ScorecardRunner classifies `failed`, retryable;
    /// - `permanent-NAME`: more than the runner's 16 MiB cap on stdout, `output_too_large`, not retried — the only
    ///   permanent ending a command can choose (`skipped`, the v5.4 "Skipping …" case, is retryable in the runner).
    static func fakeScorecard(in folder: URL, control: URL) throws -> String {
        let path = folder.appendingPathComponent("scorecard").path
        let script = """
            #!/bin/sh
            if [ "$1" = version ]; then echo "Version: v5.5.0-chaos"; exit 0; fi
            repo=""
            for argument in "$@"; do case "$argument" in --repo=*) repo="${argument#--repo=}";; esac; done
            name="${repo##*/}"
            if [ -n "$name" ] && [ -f "\(control.path)/permanent-$name" ]; then
              yes chaos | head -c 20000000
              exit 0
            fi
            if [ -n "$name" ] && [ -f "\(control.path)/transient-$name" ]; then
              echo "Error: chaos: transient failure of $repo" >&2
              exit 1
            fi
            sleep 0.3  # a run long enough for the driver's SIGKILL to land in it
            cat "\(fixture.path)"
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func bareRepository(_ name: String) -> URL { served.appendingPathComponent("fixtures/\(name)") }
    func cloneFolder(_ worker: Int) -> URL { scratch.appendingPathComponent("clones/worker-\(worker)") }
    func count(_ what: String) { counts[what, default: 0] += 1 }

    /// One request with curl, as a user would. Body and status go to files (a pipe's last bytes can still be in
    /// flight when the exit is reported); a request that gets no answer at all is an error that says why.
    func call(_ method: String, _ path: String, json: String? = nil) async throws -> (Int, [String: Any]) {
        let exchange = scratch.appendingPathComponent("http-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: exchange.appendingPathExtension("body"))
            try? FileManager.default.removeItem(at: exchange.appendingPathExtension("status"))
        }
        var curl = ["curl", "-sS", "--max-time", "30", "-o", exchange.appendingPathExtension("body").path, "-w", "%{http_code}", "-X", method,
                    base + path, "-H", "Authorization: Bearer \(key)"]
        if let json { curl += ["-H", "Content-Type: application/json", "-d", json] }
        let quoted = curl.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let (_, _, stderr) = try await ChildProcess.run(
            "/bin/sh", ["-c", "\(quoted) > '\(exchange.appendingPathExtension("status").path)'"], environment: ["PATH": "/usr/bin:/bin"])
        let statusText = (try? String(contentsOf: exchange.appendingPathExtension("status"), encoding: .utf8)) ?? ""
        let status = Int(statusText.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        guard status != 0 else {
            throw TestSetupError("\(method) \(path): no answer (\(stderr.trimmingCharacters(in: .whitespacesAndNewlines))); API: \(api.map { Self.isRunning($0) ? "running" : "ended" } ?? "none") \(api?.stderr.suffix(1500) ?? "")")
        }
        let body = FileManager.default.contents(atPath: exchange.appendingPathExtension("body").path) ?? Data()
        return (status, (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:])
    }

    /// Records an issue unless `status` is one of `allowed` (a 5xx or a refused request is a bug, not chaos).
    func expectStatus(_ status: Int, _ allowed: Set<Int>, _ what: String, _ body: [String: Any]) {
        if !allowed.contains(status) {
            Issue.record("\(what): HTTP \(status) \(body) (seed \(options.seed), \(engine))")
        }
    }

    // MARK: - Processes

    /// The API first (on a new database it applies the migrations and prints the first admin key), then the workers.
    func launch() async throws {
        let port = try EndToEndTests.freePort()
        let address = "http://127.0.0.1:\(port)"
        base = address
        let api = try await ChildProcess.start(CLITests.binary, ["api", "--port", "\(port)"] + databaseFlags, environment: CLITests.environment(environment))
        self.api = api
        // The key is printed before the server listens; at log level warning nothing says "listening", so ask.
        let printed = try await waitUntil(.seconds(60)) { api.stdout.split(separator: "\n").contains { CLITests.isKey(String($0)) } }
        try #require(printed, "the first start's admin key: \(api.stdout)\n\(api.stderr.suffix(2000))")
        let key = api.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey) ?? ""
        self.key = key
        let live = try await waitUntil(.seconds(60)) { try await EndToEndTests.http("GET", "\(address)/health/live", key: key).0 == 200 }
        try #require(live, "the API answers: \(api.stderr.suffix(2000))")
        for index in 0..<workerCount { workers.append(try await startWorker(index)) }
    }

    func startWorker(_ index: Int) async throws -> ChildProcess {
        var environment = environment
        // As on a host of its own: a clone cache nobody else sees.
        environment["REPOWATCH_GIT_CLONE_DIR"] = cloneFolder(index).path
        return try await ChildProcess.start(CLITests.binary, ["worker"] + databaseFlags, environment: CLITests.environment(environment))
    }

    static func isRunning(_ process: ChildProcess) -> Bool { !process.hasExited }

    /// A worker that ended without being killed by the driver is a bug: recorded, and replaced so the run goes on.
    func keepWorkersRunning() async throws {
        if let api, !Self.isRunning(api) {
            throw TestSetupError("the API process ended: \(api.stderr.suffix(3000))")
        }
        for index in workers.indices where !Self.isRunning(workers[index]) {
            Issue.record("worker \(index) (pid \(workers[index].pid)) ended by itself (seed \(options.seed), \(engine)): \(workers[index].stderr.suffix(3000))")
            workers[index] = try await startWorker(index)
        }
    }

    /// SIGTERM and the exit status, or nil when it had not ended after `timeout` (then it is killed).
    static func terminate(_ process: ChildProcess, timeout: Duration = .seconds(60)) async -> Int32? {
        process.send(SIGTERM)
        return await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await process.waitForExit() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            // Timed out: the exit waiter ends once the process is killed.
            if first == nil { process.send(SIGKILL) }
            group.cancelAll()
            return first
        }
    }

    func stopGracefully() async {
        var processes = workers.enumerated().map { ("worker \($0.offset)", $0.element) }
        if let api { processes.append(("api", api)) }
        for (_, process) in processes { process.send(SIGTERM) }
        for (name, process) in processes {
            let status = await Self.terminate(process)
            #expect(status == 0 && !process.wasSignalled,
                    "\(name) on SIGTERM: \(status.map { "exit \($0)" } ?? "still running after 60 s, killed")\n\(process.stderr.suffix(2000))")
        }
        workers = []
        api = nil
    }

    func cleanUp() async {
        await gitServer.stop()
        try? FileManager.default.removeItem(at: scratch)
    }

    /// After a failure: nothing of this run may outlive it.
    func abort() async {
        for process in workers + (api.map { [$0] } ?? []) where Self.isRunning(process) {
            process.send(SIGKILL)
            _ = await process.waitForExit()
        }
        workers = []
        api = nil
        await cleanUp()
    }

    // MARK: - Entries

    func addEveryRepository() async throws {
        for name in names { try await add(name, allowed: [202]) }
    }

    func add(_ name: String, allowed: Set<Int>) async throws {
        let url = gitServer.url(for: "fixtures/\(name)")
        let (status, body) = try await call("POST", "/v1/watchlist", json: #"{"repo_url": "\#(url)"}"#)
        expectStatus(status, allowed, "POST /v1/watchlist \(name)", body)
        guard let id = body["id"] as? String, let repository = body["repository_id"] as? String else { return }
        entries[name] = id
        repositoryIDs[name] = repository
    }

    /// Every entry, page after page.
    func listEntries() async throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var cursor: String?
        repeat {
            let (status, body) = try await call("GET", "/v1/watchlist?limit=200" + (cursor.map { "&cursor=\($0)" } ?? ""))
            guard status == 200 else { throw TestSetupError("GET /v1/watchlist: HTTP \(status) \(body)") }
            items += body["items"] as? [[String: Any]] ?? []
            cursor = body["next_cursor"] as? String
        } while cursor != nil
        return items
    }

    static func name(of entry: [String: Any]) -> String {
        String((entry["repo_url"] as? String ?? "?").split(separator: "/").last ?? "?")
    }

    // MARK: - The driver

    /// One fault every 50–400 ms for `options.seconds`, then every fault undone.
    func drive() async throws {
        let end = ContinuousClock.now + .seconds(options.seconds)
        while ContinuousClock.now < end {
            let pause = Int.random(in: 50...400, using: &random)
            try await Task.sleep(for: .milliseconds(pause))
            try await undoDue()
            try await keepWorkersRunning()
            let fault = Fault.pick(using: &random)
            count(fault.rawValue)
            switch fault {
            case .killWorker: try await killWorker()
            case .push: await push()
            case .gitFault: try breakGit()
            case .scorecardFault: breakScorecard()
            case .adminJobs: try await cancelOrDeleteJob()
            case .evictClone: try await evictClone()
            case .deleteAndAddAgain: try await deleteEntry()
            case .retryAndRecheck: try await retryAndRecheck()
            case .killSubprocess: try await killSubprocess()
            case .deleteCloneCache: try await deleteCloneCache()
            }
        }
        try await undoDue(all: true)
        // Nothing of the faults is left: every repository served, no control file.
        #expect(gitFaults.isEmpty, "\(gitFaults.keys.sorted())")
        let controls = (try? FileManager.default.contentsOfDirectory(atPath: control.path)) ?? []
        for file in controls { try? FileManager.default.removeItem(at: control.appendingPathComponent(file)) }
        try await keepWorkersRunning()
    }

    func schedule(_ undo: Undo, after seconds: Double) {
        pending.append((ContinuousClock.now + .seconds(seconds), undo))
    }

    func undoDue(all: Bool = false) async throws {
        let now = ContinuousClock.now
        let due = pending.filter { all || $0.due <= now }.sorted { $0.due < $1.due }
        pending.removeAll { all || $0.due <= now }
        for item in due {
            switch item.undo {
            case .restoreRepository(let name):
                try FileManager.default.moveItem(at: away.appendingPathComponent(name), to: bareRepository(name))
                gitFaults[name] = nil
            case .restoreObjects(let name):
                let objects = bareRepository(name).appendingPathComponent("objects")
                try FileManager.default.removeItem(at: objects)
                try FileManager.default.moveItem(at: away.appendingPathComponent("\(name).objects"), to: objects)
                gitFaults[name] = nil
            case .removeControlFile(let file):
                try? FileManager.default.removeItem(at: file)
            case .addAgain(let name):
                try await add(name, allowed: [200, 202])
            }
        }
    }

    /// 1. SIGKILL a worker and start another in its place, on the same clone folder.
    func killWorker() async throws {
        let index = Int.random(in: 0..<workers.count, using: &random)
        workers[index].send(SIGKILL)
        _ = await workers[index].waitForExit()
        workers[index] = try await startWorker(index)
    }

    /// 2. A fast-forward push of one commit dated now, from the driver's clone of the repository (the test's git
    /// server does not take pushes: this pushes to the bare repository's folder).
    func push() async {
        guard let name = names.filter({ gitFaults[$0] == nil }).randomElement(using: &random) else { return }
        let tree = workTrees.appendingPathComponent(name)
        let identity = [
            "GIT_AUTHOR_NAME": "Chaos Driver", "GIT_AUTHOR_EMAIL": "chaos@example.invalid",
            "GIT_COMMITTER_NAME": "Chaos Driver", "GIT_COMMITTER_EMAIL": "chaos@example.invalid",
        ]
        do {
            if !FileManager.default.fileExists(atPath: tree.path) {
                _ = try await git(["clone", "-q", bareRepository(name).path, tree.path], in: workTrees)
            }
            let file = tree.appendingPathComponent("chaos.txt")
            let previous = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            try (previous + "push \(counts[Fault.push.rawValue, default: 0]) at \(Date())\n").write(to: file, atomically: true, encoding: .utf8)
            _ = try await git(["add", "chaos.txt"], in: tree)
            _ = try await git(["commit", "-q", "-m", "Chaos push"], in: tree, environment: identity)
            _ = try await git(["push", "-q", "origin", "HEAD:refs/heads/main"], in: tree)
        } catch {
            Issue.record("push to \(name): \(error)")
        }
    }

    /// 3. git fails for one repository for 0.5–4 s.
    ///
    /// Permanent: the bare repository is moved away, so smart HTTP answers 404 (`not_found`, not retried).
    /// Transient: its `objects` folder is swapped for an empty one, so refs are still advertised but upload-pack
    /// refuses every want ("not our ref": `git_failed`, retried). The test's GitHTTPServer cannot answer a 5xx
    /// for one path (its options are a token and one delay for every request), hence this.
    func breakGit() throws {
        guard let name = names.filter({ gitFaults[$0] == nil }).randomElement(using: &random) else { return }
        let duration = Double.random(in: 0.5...4, using: &random)
        let bare = bareRepository(name)
        if Bool.random(using: &random) {
            try FileManager.default.moveItem(at: bare, to: away.appendingPathComponent(name))
            gitFaults[name] = .gone
            schedule(.restoreRepository(name), after: duration)
            count("git-fault: permanent (404)")
        } else {
            let objects = bare.appendingPathComponent("objects")
            try FileManager.default.moveItem(at: objects, to: away.appendingPathComponent("\(name).objects"))
            for folder in ["pack", "info"] {
                try FileManager.default.createDirectory(at: objects.appendingPathComponent(folder), withIntermediateDirectories: true)
            }
            gitFaults[name] = .objectsHidden
            schedule(.restoreObjects(name), after: duration)
            count("git-fault: transient (objects hidden)")
        }
    }

    /// 4. Scorecard fails for one repository for 1–6 s: retryably three times in four, permanently once.
    func breakScorecard() {
        guard let name = names.randomElement(using: &random) else { return }
        let permanent = Int.random(in: 0..<4, using: &random) == 0
        let file = control.appendingPathComponent("\(permanent ? "permanent" : "transient")-\(name)")
        #expect(FileManager.default.createFile(atPath: file.path, contents: Data()), "cannot write \(file.path)")
        schedule(.removeControlFile(file), after: Double.random(in: 1...6, using: &random))
        count("scorecard-fault: \(permanent ? "permanent" : "transient")")
    }

    /// A random pipeline-stage job in `state`, through the admin API.
    func randomJob(state: String) async throws -> Int? {
        let (status, body) = try await call("GET", "/v1/jobs?state=\(state)&limit=100")
        expectStatus(status, [200], "GET /v1/jobs?state=\(state)", body)
        let ids = (body["items"] as? [[String: Any]] ?? [])
            .filter { Self.stageKinds.contains($0["kind"] as? String ?? "") }
            .compactMap { $0["id"] as? Int }
        return ids.randomElement(using: &random)
    }

    /// 5. An administrator cancels an unfinished stage job, or deletes one (a running one is cancelled first).
    func cancelOrDeleteJob() async throws {
        if Bool.random(using: &random) {
            let state = ["running", "available", "retryable"].randomElement(using: &random) ?? "running"
            guard let id = try await randomJob(state: state) else { return count("admin-jobs: cancel, no \(state) job") }
            let (status, body) = try await call("POST", "/v1/jobs/\(id)/cancel")
            // 409: it finished meanwhile; 404: pruned meanwhile.
            expectStatus(status, [200, 404, 409], "POST /v1/jobs/\(id)/cancel", body)
            count("admin-jobs: cancel \(state) → \(status)")
        } else {
            let state = ["available", "retryable", "running", "completed", "discarded", "cancelled"].randomElement(using: &random) ?? "completed"
            guard let id = try await randomJob(state: state) else { return count("admin-jobs: delete, no \(state) job") }
            if state == "running" {
                let (status, body) = try await call("POST", "/v1/jobs/\(id)/cancel")
                expectStatus(status, [200, 404, 409], "POST /v1/jobs/\(id)/cancel before DELETE", body)
            }
            let (status, body) = try await call("DELETE", "/v1/jobs/\(id)")
            // 409: running (again) — a job cancelled above may have been retried meanwhile.
            expectStatus(status, [204, 404, 409], "DELETE /v1/jobs/\(id)", body)
            count("admin-jobs: delete \(state) → \(status)")
        }
    }

    /// 9. A worker's git (recognised by the hardening every one of its git commands carries) or Scorecard process
    /// killed with SIGKILL mid-run, as the OOM killer would: the attempt fails and is retried like any other.
    func killSubprocess() async throws {
        let git = Bool.random(using: &random)
        let pattern = git ? "core.hooksPath=/dev/null" : "--local="  // every Scorecard command line has --local=
        let (status, _, _) = try await ChildProcess.run(
            "/usr/bin/pkill", ["-KILL", "-n", "-f", "--", pattern], environment: ["PATH": "/usr/bin:/bin"])
        count("kill-subprocess: \(git ? "git" : "scorecard") \(status == 0 ? "killed" : "none running")")
    }

    /// 10. `rm -rf` one worker's whole clone cache folder, under whatever jobs it is running (an operator freeing
    /// disk, a clean-up script): clones are a cache, so every stage that finds its clone gone makes it again, and a
    /// Scorecard run on a clone removed under it is thrown away (`clone_removed`), never stored.
    func deleteCloneCache() async throws {
        let folder = cloneFolder(Int.random(in: 0..<workerCount, using: &random))
        guard FileManager.default.fileExists(atPath: folder.path) else { return count("delete-clone-cache: no cache folder") }
        _ = try await ChildProcess.run("/bin/rm", ["-rf", folder.path], environment: ["PATH": "/usr/bin:/bin"])
        count("delete-clone-cache: removed")
    }

    /// 6. `rm -rf` one repository's clone on one worker's host.
    func evictClone() async throws {
        let worker = Int.random(in: 0..<workerCount, using: &random)
        guard let name = names.randomElement(using: &random), let id = repositoryIDs[name] else { return }
        let folder = cloneFolder(worker).appendingPathComponent(id.lowercased())
        guard FileManager.default.fileExists(atPath: folder.path) else { return count("evict-clone: no clone there") }
        _ = try await ChildProcess.run("/bin/rm", ["-rf", folder.path], environment: ["PATH": "/usr/bin:/bin"])
        count("evict-clone: removed")
    }

    /// 7. DELETE an entry; it is added again 0.1–2 s later.
    func deleteEntry() async throws {
        guard let name = names.filter({ entries[$0] != nil }).randomElement(using: &random), let id = entries[name] else { return }
        let (status, body) = try await call("DELETE", "/v1/watchlist/\(id)")
        expectStatus(status, [204], "DELETE /v1/watchlist/\(id) (\(name))", body)
        guard status == 204 else { return }
        entries[name] = nil
        schedule(.addAgain(name), after: Double.random(in: 0.1...2, using: &random))
    }

    /// 8. POST …/retry and …/recheck on random entries (409 when the entry is not in a state for it).
    func retryAndRecheck() async throws {
        for action in ["retry", "recheck"] {
            guard let name = names.filter({ entries[$0] != nil }).randomElement(using: &random), let id = entries[name] else { return }
            let (status, body) = try await call("POST", "/v1/watchlist/\(id)/\(action)")
            expectStatus(status, [202, 409], "POST /v1/watchlist/\(id)/\(action) (\(name))", body)
            count("\(action) → \(status)")
        }
    }

    // MARK: - Settling and checking

    /// Waits (up to 180 s) until no entry is `processing` or `refreshing`; the last listing and whether it settled.
    func settle() async throws -> ([[String: Any]], Bool) {
        let deadline = ContinuousClock.now + .seconds(180)
        var listed: [[String: Any]] = []
        while ContinuousClock.now < deadline {
            try await keepWorkersRunning()
            listed = try await listEntries()
            let busy = listed.filter { $0["status"] as? String == "processing" || $0["refreshing"] as? Bool == true }
            if busy.isEmpty, listed.count == names.count { return (listed, true) }
            try await Task.sleep(for: .milliseconds(500))
        }
        return (listed, false)
    }

    func check(_ listed: [[String: Any]], settled: Bool) async throws {
        let busy = listed.filter { $0["status"] as? String == "processing" || $0["refreshing"] as? Bool == true }
        let busyText = busy.map { "\(Self.name(of: $0)): \($0["status"] ?? "?")/\($0["stage"] ?? "?") refreshing=\($0["refreshing"] ?? "?")" }
        let logs = workers.enumerated().map { "worker \($0.offset):\n\($0.element.stderr.suffix(1500))" }.joined(separator: "\n")
        #expect(settled, "still worked on 180 s after the faults stopped (seed \(options.seed), \(engine)): \(busyText)\n\(logs)")
        #expect(listed.count == names.count, "one entry per repository: \(listed.count) of \(names.count)")

        // a. ready, or failed with a reason.
        var outcomes: [String: Int] = [:]
        var ready: [(name: String, repository: UUID, head: String, lastCheckFailed: Bool)] = []
        for entry in listed {
            let name = Self.name(of: entry)
            switch entry["status"] as? String {
            case "ready":
                outcomes["ready", default: 0] += 1
                guard let head = entry["head_commit"] as? String, let id = (entry["repository_id"] as? String).flatMap(UUID.init(uuidString:)) else {
                    Issue.record("\(name) is ready without a head: \(entry)")
                    continue
                }
                // A ready entry whose last re-check failed keeps its last report (and says why).
                ready.append((name, id, head, !(entry["failure_reason"] is NSNull) && entry["failure_reason"] != nil))
            case "failed":
                let reason = entry["failure_reason"] as? String ?? ""
                let error = entry["last_error"] as? String ?? ""
                #expect(!reason.isEmpty && !error.isEmpty, "\(name) failed without a reason: \(entry)")
                outcomes["failed(\(reason))", default: 0] += 1
            default:
                outcomes["\(entry["status"] ?? "?")", default: 0] += 1
            }
        }

        let store: any Store
        switch engine {
        case .sqlite:
            store = try await SQLiteStore.open(path: dataDir.appendingPathComponent("repowatch.sqlite").path, logger: TestDatabase.logger)
        case .postgres:
            store = PostgresStore(configuration: try PostgresURL.parse(databaseURL ?? ""), logger: TestDatabase.logger)
        }
        var atServedHead = 0
        try await withRunningStore(store) { store in
            // b. A ready repository's latest report is for its head, and its commits are the served repository's.
            for (name, id, head, lastCheckFailed) in ready {
                let report = try await store.read { try await $0.latestHealthReport(repository: id) }
                #expect(report?.headCommit == head, "\(name): the latest report is for \(report?.headCommit ?? "nothing"), the head is \(head)")
                let stored = try await store.read { try await $0.storedCommitShas(repository: id) }
                #expect(stored.contains(head), "\(name): the head \(head) is not among its \(stored.count) stored commits")
                let bare = bareRepository(name)
                let servedHead = try await git(["rev-parse", "refs/heads/main"], in: bare).trimmingCharacters(in: .whitespacesAndNewlines)
                // The commits belong to the head: reachable from it. After a failed re-check whose backfill had
                // stored newer commits, they are still the branch's: reachable from the served head.
                let tip = lastCheckFailed ? servedHead : head
                let reachable: Set<String>
                do {
                    reachable = Set(try await git(["rev-list", tip], in: bare).split(separator: "\n").map(String.init))
                } catch {
                    Issue.record("\(name): \(tip) is not in the served repository: \(error)")
                    continue
                }
                #expect(reachable.contains(head), "\(name): the head \(head) is not on the served branch")
                let stray = stored.subtracting(reachable)
                #expect(stray.isEmpty, "\(name): \(stray.count) stored commits not reachable from \(tip), e.g. \(stray.prefix(3).sorted())")
                if servedHead == head { atServedHead += 1 }
            }
            // c. At most one unfinished job of each kind per repository.
            let duplicates = try await store.read { db in
                try await db.query("""
                    SELECT kind, \(sqlite: "json_extract(args, '$.repository_id')", postgres: "args->>'repository_id'") AS repository,
                        COUNT(*) AS n
                    FROM jobs
                    WHERE state IN ('available', 'running', 'retryable')
                        AND \(sqlite: "json_extract(args, '$.repository_id')", postgres: "args->>'repository_id'") IS NOT NULL
                    GROUP BY 1, 2
                    HAVING COUNT(*) > 1
                    """).map { (row: any SQLRow) -> String in
                    let kind = try row.string("kind") ?? "?"
                    let repository = try row.string("repository") ?? "?"
                    let n = try row.int("n") ?? 0
                    return "\(kind) × \(n) for \(repository)"
                }
            }
            #expect(duplicates.isEmpty, "two unfinished jobs of one kind for one repository: \(duplicates)")
        }

        // d. The stall gauge.
        let (status, queues) = try await call("GET", "/v1/queues")
        #expect(status == 200, "\(queues)")
        let pipeline = queues["pipeline"] as? [String: Any]
        #expect(pipeline?["stalled"] as? Int == 0, "GET /v1/queues pipeline: \(pipeline.map { "\($0)" } ?? "missing")")

        // e. One line to compare runs by.
        let faults = counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        let ends = outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        print("""
            chaos summary (\(engine)): seed \(options.seed), \(names.count) repositories, \(workerCount) workers, \(options.seconds) s; \
            faults: \(faults); outcomes: \(ends); ready on the served head: \(atServedHead) of \(ready.count)
            """)
    }
}
