import Foundation
import GitFixtures
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The dashboard (issue 13) in a real browser, with the real binary on both engines: Debian's headless Chromium,
/// driven by selenium (`Tests/browser/dashboard_test.py`), signs in as "alice" with the first start's admin key, adds
/// a repository served by the loopback git server through the add form and watches its row reach `ready` live (no
/// reload), checks the repository page's charts against the JSON API, edits the alert rules (valid and invalid),
/// opens /admin, signs out, and as bob (a key from `repowatch keys create`) meets 404s, a CSRF refusal and a cookie
/// that does not open /v1; then, with JavaScript off, the watchlist and the add form still work. Every page's browser
/// console must be free of errors. It writes watchlist.png, repository.png and admin.png to `$DASHBOARD_SCREENSHOTS`
/// (`make screenshots`: docs/screenshots), else `.build/screenshots/<engine>`.
///
/// Needs Chromium, chromedriver (`scripts/install-deps.sh test`) and selenium in `.build/pyvenv` (`scripts/python-venv.sh`);
/// `make test` runs both. Without them it fails, saying so. It loads both cores: scripts/test.sh runs it in its second
/// phase, after the rest.
@Suite("Dashboard in a browser")
struct DashboardBrowserTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = packageRoot.appendingPathComponent(".build/pyvenv/bin/python").path
    static let script = packageRoot.appendingPathComponent("Tests/browser/dashboard_test.py").path
    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"
    static let setupHint = "run `scripts/install-deps.sh test` (Debian's chromium and chromium-driver) and `scripts/python-venv.sh` (selenium in .build/pyvenv); `make test` runs both"

    /// The engines to run on: all of them, unless `DASHBOARD_ENGINES` (comma-separated, e.g. `sqlite`) names fewer —
    /// `make screenshots` runs SQLite alone.
    static let engines: [Engine] = {
        let named = (ProcessInfo.processInfo.environment["DASHBOARD_ENGINES"] ?? "")
            .split(separator: ",").compactMap { Engine(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        return named.isEmpty ? Engine.allCases : named
    }()

    /// Where the screenshots go: `$DASHBOARD_SCREENSHOTS` (relative to the package), else `.build/screenshots/<engine>`.
    static func screenshotFolder(_ engine: Engine) -> String {
        if let folder = ProcessInfo.processInfo.environment["DASHBOARD_SCREENSHOTS"], !folder.isEmpty {
            return folder.hasPrefix("/") ? folder : packageRoot.appendingPathComponent(folder).path
        }
        return packageRoot.appendingPathComponent(".build/screenshots/\(engine)").path
    }

    /// Fails (never skips) when the browser or selenium is missing, naming the scripts that install them.
    static func requireBrowserSetup() async throws {
        for path in [chromium, chromedriver, python] {
            try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: \(setupHint)")
        }
        let probe = try await ChildProcess.run(python, ["-c", "import selenium; print(selenium.__version__)"], environment: ["PATH": "/usr/bin:/bin"])
        try #require(probe.status == 0, "selenium is not in .build/pyvenv (\(probe.stderr.suffix(300))): \(setupHint)")
    }

    /// Waits for `process` to end, at most `timeout`; past it, SIGINT (the script quits its browsers), then SIGKILL.
    static func waitForExit(_ process: ChildProcess, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if process.hasExited { return await process.waitForExit() }
            try? await Task.sleep(for: .milliseconds(200))
        }
        process.send(SIGINT)
        let grace = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < grace, !process.hasExited { try? await Task.sleep(for: .milliseconds(200)) }
        process.send(SIGKILL)
        _ = await process.waitForExit()
        return nil
    }

    @Test(arguments: DashboardBrowserTests.engines)
    func aPersonUsesTheDashboardInABrowser(engine: Engine) async throws {
        try await Self.requireBrowserSetup()
        try await HeavyTests.run {
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: scratch) }
            let served = scratch.appendingPathComponent("served")
            let now = Date()
            _ = try await RepositoryGenerator.make(
                at: served.appendingPathComponent("fixtures/project"), commits: 300,
                span: now.addingTimeInterval(-300 * 86_400)...now.addingTimeInterval(-3600), seed: 13, bare: true)
            let git = try await GitHTTPServer.start(root: served)
            let port = try EndToEndTests.freePort()
            let environment = ["REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(git.port)", "REPOWATCH_GIT_PROTOCOLS": "http"]
            let data = scratch.appendingPathComponent("data").path
            // As in production across hosts on PostgreSQL: the API process serves the pages and does no work; a worker does it.
            let service = try await CLITests.startService(engine: engine, scratch: scratch, port: port, environment: environment)
            let (api, processes, databaseFlags) = (service.api, service.processes, service.databaseFlags)
            do {
                try await Self.exercise(engine: engine, port: port, data: data, databaseFlags: databaseFlags, git: git, api: api, processes: processes)
            } catch {
                for process in processes { process.send(SIGKILL) }
                await git.stop()
                throw error
            }
            for process in processes {
                process.send(SIGTERM)
                #expect(await process.waitForExit() == 0, "\(process.stderr.suffix(2000))")
            }
            await git.stop()
        }
    }

    /// Makes bob's key and runs the browser script against the started server.
    static func exercise(
        engine: Engine, port: Int, data: String, databaseFlags: [String], git: GitHTTPServer, api: ChildProcess, processes: [ChildProcess]
    ) async throws {
        func serverLogs() -> String {
            processes.map { "--- \($0 === api ? "api/serve" : "worker") stderr (tail) ---\n\($0.stderr.suffix(3000))" }.joined(separator: "\n")
        }
        let alice = try #require(api.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey), "the first start's admin key")
        let created = try await CLITests.run(["keys", "create", "--user", "bob", "--data-dir", data] + databaseFlags)
        #expect(created.status == 0, "\(created.stderr)")
        let bob = created.lastLine
        try #require(CLITests.isKey(bob), "bob's key is the last line of `keys create`: \(created.stdout)")

        let screenshots = screenshotFolder(engine)
        try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
        var browserEnvironment = [
            "BASE_URL": "http://127.0.0.1:\(port)",
            "KEY_A": alice, "KEY_B": bob,
            "REPO_URL": git.url(for: "fixtures/project"),
            "SCREENSHOT_DIR": screenshots,
            "PATH": "/usr/bin:/bin",
            "HOME": ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.temporaryDirectory.path,
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
        ]
        if let tmp = ProcessInfo.processInfo.environment["TMPDIR"] { browserEnvironment["TMPDIR"] = tmp }
        let started = ContinuousClock.now
        let browser = try await ChildProcess.start(python, [script], environment: browserEnvironment)
        let status = await waitForExit(browser, timeout: .seconds(600))
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("dashboard browser test on \(engine): \(String(format: "%.1f", seconds)) s, exit \(status.map(String.init) ?? "timed out")")
        #expect(
            status == 0,
            """
            the browser test (\(script)) \(status.map { "exited with \($0)" } ?? "did not finish within 600 s") on \(engine)
            --- stdout ---
            \(browser.stdout)
            --- stderr (tail) ---
            \(browser.stderr.suffix(6000))
            \(serverLogs())
            """)
        if status == 0 {
            // What the browser checked, one `ok:` line a step with its figures, in the log of a passing run too.
            print(browser.stdout.split(separator: "\n").filter { $0.hasPrefix("ok:") }.map { "  [\(engine)] \($0)" }.joined(separator: "\n"))
            for name in ["watchlist.png", "repository.png", "admin.png"] {
                let path = URL(fileURLWithPath: screenshots).appendingPathComponent(name).path
                #expect(FileManager.default.fileExists(atPath: path), "the browser test wrote no \(path)")
            }
        }
    }
}
