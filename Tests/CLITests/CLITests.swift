import Foundation
import TestSupport
import Testing

/// The real `repowatch` binary, run as a user would run it.
@Suite("Command line")
struct CLITests {
    static let binary = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/repowatch").path

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REPOWATCH_") && $0.key != "DATABASE_URL" }
        env.merge(extra) { $1 }
        return env
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        let (status, stdout, stderr) = try await ChildProcess.run(binary, arguments, environment: Self.environment(environment))
        return Result(status: status, stdout: stdout, stderr: stderr)
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("repowatch-cli-\(UUID().uuidString)").path
    }

    /// The service started as users run it, with its data in `scratch/data`: on SQLite one `serve` process, as on one
    /// machine; on PostgreSQL (a database of its own) as across hosts, an `api` process that serves HTTP and does no
    /// work, and a `worker` that does it. `processes` holds every process started, the HTTP one last.
    struct Service {
        let api: ChildProcess
        let processes: [ChildProcess]
        /// `--database-url …` on PostgreSQL, for other commands run against the same database; empty on SQLite.
        let databaseFlags: [String]
    }

    static func startService(engine: Engine, scratch: URL, port: Int, environment: [String: String]) async throws -> Service {
        let data = scratch.appendingPathComponent("data").path
        guard engine == .postgres else {
            let serve = try await ChildProcess.start(
                binary, ["serve", "--data-dir", data, "--port", "\(port)", "--log-level", "info"], environment: Self.environment(environment))
            #expect(await serve.waitForOutput(containing: "listening on"), "\(serve.stderr.suffix(2000))")
            return Service(api: serve, processes: [serve], databaseFlags: [])
        }
        let url = try await TestDatabase.createDatabase()
        var apiEnvironment = environment
        apiEnvironment["REPOWATCH_WORKERS_CONCURRENCY"] = "repository-setup=0,commit-backfill=0,health-analysis=0,maintenance=0,webhook-delivery=0"
        let api = try await ChildProcess.start(
            binary, ["api", "--data-dir", data, "--port", "\(port)", "--database-url", url, "--log-level", "info"],
            environment: Self.environment(apiEnvironment))
        #expect(await api.waitForOutput(containing: "listening on"), "\(api.stderr.suffix(2000))")
        let worker = try await ChildProcess.start(
            binary, ["worker", "--data-dir", scratch.appendingPathComponent("worker").path, "--database-url", url, "--log-level", "info"],
            environment: Self.environment(environment))
        return Service(api: api, processes: [worker, api], databaseFlags: ["--database-url", url])
    }

    static func isKey(_ line: String) -> Bool {
        line.count == 43 && line.hasPrefix("rw_") && line.dropFirst(3).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    @Test(arguments: Engine.allCases)
    func keysArePrintedOnceAndNeverStored(engine: Engine) async throws {
        let dataDir = Self.temporaryDirectory()
        var flags = ["--data-dir", dataDir]
        if engine == .postgres { flags += ["--database-url", try await TestDatabase.createDatabase()] }

        let created = try await Self.run(["keys", "create", "--user", "alice", "--admin"] + flags)
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.lastLine
        #expect(Self.isKey(key), "the key is the last line of stdout: \(created.stdout)")

        let listed = try await Self.run(["keys", "list"] + flags)
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("alice"))
        #expect(listed.stdout.contains(String(key.prefix(10))))
        #expect(!listed.stdout.contains(key), "a listing never shows a key")
        #expect(!listed.stderr.contains(key) && !created.stderr.contains(key), "a key is never logged")
        if engine == .sqlite {
            let database = try Data(contentsOf: URL(fileURLWithPath: dataDir + "/repowatch.sqlite"))
            #expect(database.range(of: Data(key.utf8)) == nil, "the database holds no plaintext key")
        }

        let revoked = try await Self.run(["keys", "revoke", String(key.prefix(10))] + flags)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let again = try await Self.run(["keys", "revoke", String(key.prefix(10))] + flags)
        #expect(again.status != 0)
        #expect(again.stderr.contains("no active key"))
    }

    @Test(arguments: [
        (["REPOWATCH_HTTP_PORT": "eighty"], "REPOWATCH_HTTP_PORT"),
        (["REPOWATCH_HTTP_PROT": "80"], "REPOWATCH_HTTP_PROT"),
        (["REPOWATCH_LOG_LEVEL": "loud"], "log.level"),
        (["DATABASE_URL": "mysql://root:hunter2@db/x"], "database.url"),
    ])
    func configurationErrorsStopTheStartNamingTheKey(environment: [String: String], expected: String) async throws {
        let result = try await Self.run(["migrate", "--data-dir", Self.temporaryDirectory()], environment: environment)
        #expect(result.status == 78)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"), "a secret is never echoed")
    }

    @Test func anUnreachableDatabaseIsAClearError() async throws {
        let result = try await Self.run(["migrate", "--database-url", "postgres://nobody@127.0.0.1:1/none?sslmode=disable"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("cannot reach the database at postgres 127.0.0.1:1/none"), "\(result.stderr)")
    }

    /// `serve` on a new data folder prints an admin key once, serves, and stops cleanly on SIGTERM.
    @Test func serveMakesAnAdminKeyOnFirstStartAndStopsOnSIGTERM() async throws {
        let dataDir = Self.temporaryDirectory()
        for start in 1...2 {
            let server = try await ChildProcess.start(
                Self.binary, ["serve", "--data-dir", dataDir, "--port", "0", "--log-level", "info"], environment: Self.environment())
            #expect(await server.waitForOutput(containing: "listening on"), "\(server.stderr)")
            server.send(SIGTERM)
            #expect(await server.waitForExit() == 0, "graceful exit on SIGTERM: \(server.stderr)")
            #expect(!server.wasSignalled)
            let keys = server.stdout.split(separator: "\n").map(String.init).filter(Self.isKey)
            #expect(keys.count == (start == 1 ? 1 : 0), "start \(start): \(server.stdout)")
        }
    }
}
