import Domain
import Foundation
import GitFixtures
import Logging
import Synchronization
import Testing

@testable import GitTransport

private let oneYear: TimeInterval = 365 * FixtureRepo.day

private func client(
    timeout: Duration = .seconds(60), maxBytes: Int64 = 512 << 20, protocols: Set<String> = ["http"],
    environment: [String: String] = [:], logger: Logger = Logger(label: "GitTransportTests"),
    groups: GroupRecorder? = nil
) -> GitClient {
    var client = GitClient(
        limits: GitLimits(timeout: timeout, maxBytes: maxBytes), allowedProtocols: protocols,
        environment: environment, logger: logger)
    if let groups { client.onProcessStart = { groups.record($0) } }
    return client
}

@Suite("Clone and fetch over smart HTTP")
struct CloneFetchTests {
    @Test("A clone keeps only the last year of a two-year history, on a non-main default branch")
    func cloneKeepsWindow() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let now = Date()
        let commits = FixtureRepo.history(count: 100, daysAgo: 730, now: now)
        let bare = try await FixtureRepo.create("history.git", in: sandbox.repos, branch: "trunk", commits: commits)
        // Another branch and a tag that a single-branch, no-tags clone must not bring.
        try await runGit(["branch", "other", "trunk~3"], in: bare)
        try await runGit(["tag", "v1.0", "trunk~2"], in: bare)
        let since = now.addingTimeInterval(-oneYear)
        let expected = commits.filter { $0.date >= since }.count
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client()
        let remote = GitRemote(url: server.url(for: "history.git"))

        let head = try await git.lsRemote(remote)
        #expect(head.branch == "trunk")

        let destination = sandbox.clonePath("history")
        let started = ContinuousClock.now
        let result = try await git.clone(remote, into: destination, since: since)
        let elapsed = ContinuousClock.now - started
        print("clone of 100-commit fixture (\(expected) in window): \(elapsed), \(server.statistics.bytesSent) bytes sent")

        #expect(result == CloneResult(head: head.sha, branch: "trunk", isShallow: true, windowWasEmpty: false))
        #expect(server.statistics.protocolV2Requests > 0, "git spoke protocol v2 through the CGI")
        #expect(try await gitOutput(["rev-list", "--count", "HEAD"], in: destination) == "\(expected)")
        #expect(fileExists(destination.appendingPathComponent(".git/shallow")))
        #expect(fileExists(destination.appendingPathComponent("src/file0.txt")))
        #expect(try await gitOutput(["rev-parse", "HEAD"], in: destination) == head.sha)
        // Single branch, no tags, safe settings persisted in the clone.
        let refs = try await gitOutput(["for-each-ref", "--format=%(refname)"], in: destination).split(separator: "\n")
        #expect(refs.allSatisfy { ["refs/heads/trunk", "refs/remotes/origin/trunk", "refs/remotes/origin/HEAD"].contains($0) }, "\(refs)")
        #expect(try await gitOutput(["config", "core.symlinks"], in: destination) == "false")
        #expect(try await gitOutput(["config", "core.hooksPath"], in: destination) == "/dev/null")
        // No template: no sample hooks were copied.
        #expect(!fileExists(destination.appendingPathComponent(".git/hooks")))
        await server.stop()
    }

    @Test("A re-check fetches only the new commits and moves the work tree")
    func fetchOnlyNew() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let now = Date()
        let bare = try await FixtureRepo.create(
            "project.git", in: sandbox.repos, commits: FixtureRepo.history(count: 100, daysAgo: 730, endingDaysAgo: 1, now: now))
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client()
        let remote = GitRemote(url: server.url(for: "project.git"))
        let destination = sandbox.clonePath("project")
        let since = now.addingTimeInterval(-oneYear)

        let cloned = try await git.clone(remote, into: destination, since: since)
        let cloneBytes = server.statistics.bytesSent
        let countBefore = try await gitOutput(["rev-list", "--count", "HEAD"], in: destination)
        #expect(cloned.branch == "main")

        // Nothing new: the head stays.
        server.resetStatistics()
        let unchanged = try await git.fetch(remote, in: destination, since: since)
        #expect(unchanged == FetchResult(previousHead: cloned.head, head: cloned.head, branch: "main"))
        let noopBytes = server.statistics.bytesSent

        // Five new commits upstream.
        try await FixtureRepo.append(
            FixtureRepo.history(count: 5, daysAgo: 0.5, now: now, salt: "new"), to: bare, branch: "main")
        let newHead = try await gitOutput(["rev-parse", "refs/heads/main"], in: bare)
        server.resetStatistics()
        let started = ContinuousClock.now
        let fetched = try await git.fetch(remote, in: destination, since: since)
        let elapsed = ContinuousClock.now - started
        let fetchBytes = server.statistics.bytesSent
        print("clone \(cloneBytes) bytes; no-op fetch \(noopBytes) bytes; fetch of 5 commits \(fetchBytes) bytes in \(elapsed)")

        #expect(fetched == FetchResult(previousHead: cloned.head, head: newHead, branch: "main"))
        #expect(try await gitOutput(["rev-parse", "HEAD"], in: destination) == newHead)
        #expect(try await gitOutput(["rev-list", "--count", "HEAD"], in: destination) == "\((Int(countBefore) ?? 0) + 5)")
        #expect(try await gitOutput(["log", "--format=%s", "\(cloned.head)..HEAD"], in: destination)
            == (0..<5).reversed().map { "commit new\($0)" }.joined(separator: "\n"))
        // The work tree shows the new content, and nothing is left modified.
        #expect(try await gitOutput(["status", "--porcelain"], in: destination) == "")
        #expect(fetchBytes * 5 < cloneBytes)
        await server.stop()
    }

    @Test("No commit in the window: falls back to depth 1")
    func emptyWindow() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let now = Date()
        try await FixtureRepo.create(
            "old.git", in: sandbox.repos, commits: FixtureRepo.history(count: 20, daysAgo: 900, endingDaysAgo: 400, now: now))
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let recorder = LogRecorder()
        let git = client(logger: recorder.logger)
        let remote = GitRemote(url: server.url(for: "old.git"))
        let head = try await git.lsRemote(remote)
        let destination = sandbox.clonePath("old")

        let result = try await git.clone(remote, into: destination, since: now.addingTimeInterval(-oneYear))
        #expect(result == CloneResult(head: head.sha, branch: "main", isShallow: true, windowWasEmpty: true))
        let fallback = recorder.all.filter { $0.contains("no commit in the window") }
        print("empty window: \(fallback)")
        #expect(fallback.count == 1)
        #expect(try await gitOutput(["rev-list", "--count", "HEAD"], in: destination) == "1")

        // A fetch with nothing in the window still works (and finds nothing new).
        let fetched = try await git.fetch(remote, in: destination, since: now.addingTimeInterval(-oneYear))
        #expect(fetched.head == head.sha)
        await server.stop()
    }

    @Test("Empty repository, unknown repository, disallowed protocols")
    func emptyAndMissing() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("empty.git", in: sandbox.repos, commits: [])
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client()
        let since = Date().addingTimeInterval(-oneYear)

        let empty = GitRemote(url: server.url(for: "empty.git"))
        await #expect(throws: GitFailure.emptyRepository) { try await git.lsRemote(empty) }
        await #expect(throws: GitFailure.emptyRepository) {
            try await git.clone(empty, into: sandbox.clonePath("empty"), since: since)
        }
        #expect(!fileExists(sandbox.clonePath("empty")))

        let missing = GitRemote(url: server.url(for: "nope.git"))
        await #expect(throws: GitFailure.notFound) { try await git.lsRemote(missing) }
        await #expect(throws: GitFailure.notFound) {
            try await git.clone(missing, into: sandbox.clonePath("nope"), since: since)
        }
        #expect(!fileExists(sandbox.clonePath("nope")))

        // Only the allowed schemes; checked before git runs, and by git itself (protocol.allow=never).
        let https = client(protocols: ["https"])
        await #expect(throws: GitFailure.protocolNotAllowed("http")) { try await https.lsRemote(empty) }
        await #expect(throws: GitFailure.protocolNotAllowed("ssh")) {
            try await git.lsRemote(GitRemote(url: "git@example.invalid:owner/repo.git"))
        }
        await #expect(throws: GitFailure.protocolNotAllowed("ext")) {
            try await git.lsRemote(GitRemote(url: "ext::sh -c touch% /tmp/pwned"))
        }
        await #expect(throws: GitFailure.protocolNotAllowed("file")) {
            try await git.lsRemote(GitRemote(url: sandbox.repos.appendingPathComponent("empty.git").path))
        }
        await server.stop()
    }

    @Test("A token-protected repository: no token and a wrong token fail fast, the right token works")
    func tokenProtected() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create(
            "private.git", in: sandbox.repos, commits: FixtureRepo.history(count: 10, daysAgo: 30))
        let token = "ghs_testTOKEN\(UUID().uuidString.prefix(8))"
        let server = try await GitHTTPServer.start(root: sandbox.repos, token: token)
        defer { Task { await server.stop() } }
        let recorder = LogRecorder()
        let git = client(timeout: .seconds(30), logger: recorder.logger)
        let since = Date().addingTimeInterval(-oneYear)
        let url = server.url(for: "private.git")

        // A git waiting for a password would have waited out the 30 s timeout and ended as timed_out: each of the
        // three ending as authentication_required shows that none waited (the outcome, not a stopwatch).
        await #expect(throws: GitFailure.authenticationRequired) { try await git.lsRemote(GitRemote(url: url)) }
        await #expect(throws: GitFailure.authenticationRequired) {
            try await git.clone(GitRemote(url: url), into: sandbox.clonePath("a"), since: since)
        }
        await #expect(throws: GitFailure.authenticationRequired) {
            try await git.clone(GitRemote(url: url, token: "wrong-token"), into: sandbox.clonePath("b"), since: since)
        }
        print("auth failures: \(recorder.all.filter { $0.contains("git command failed") })")
        #expect(!fileExists(sandbox.clonePath("a")))

        let result = try await git.clone(GitRemote(url: url, token: token), into: sandbox.clonePath("c"), since: since)
        #expect(result.branch == "main")
        #expect(try await git.lsRemote(GitRemote(url: url, token: token)).sha == result.head)
        // Credentials in the URL are moved into the header too.
        let inURL = url.replacingOccurrences(of: "http://", with: "http://x-access-token:\(token)@")
        #expect(try await git.lsRemote(GitRemote(url: inURL)).sha == result.head)
        await server.stop()
    }
}

@Suite("Hostile repositories and hosts")
struct HostileTests {
    /// Issue 10, finding 1: an allowed server that answers with a redirect to another host. git must not follow
    /// it, and the repository's token must never reach the other host — not on the first request, not later.
    @Test("A redirect to another host is refused, and the token never reaches that host")
    func redirectsAreRefusedAndTokensStayHome() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("elsewhere.git", in: sandbox.repos, commits: FixtureRepo.history(count: 5, daysAgo: 10))
        // The other host serves a repository of its own and records every Authorization header it receives.
        let other = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await other.stop() } }
        let allowed = try await GitHTTPServer.start(root: sandbox.repos, redirectTo: "http://127.0.0.1:\(other.port)")
        defer { Task { await allowed.stop() } }
        let token = "ghs_redirectTOKEN\(UUID().uuidString.prefix(8))"
        let git = client(timeout: .seconds(30), logger: LogRecorder().logger)
        let remote = GitRemote(url: allowed.url(for: "elsewhere.git"), token: token)

        // The failure names the host the server wanted to send us to (read from the response's Location header).
        let expected = GitFailure.redirected(status: 302, to: "127.0.0.1:\(other.port)")
        await #expect(throws: expected) { try await git.lsRemote(remote) }
        await #expect(throws: expected) {
            try await git.clone(remote, into: sandbox.clonePath("redirected"), since: Date().addingTimeInterval(-oneYear))
        }
        #expect(expected.isPermanent && expected.reason == "redirected")
        #expect(expected.description.contains("a redirect to host 127.0.0.1:\(other.port)"))
        #expect(!fileExists(sandbox.clonePath("redirected")))
        #expect(other.statistics.requests == 0, "nothing followed the redirect: \(other.statistics.paths)")
        #expect(other.statistics.authorizations.isEmpty)
        #expect(allowed.statistics.authorizations.allSatisfy { $0.hasPrefix("Basic ") }, "the token went to the allowed host only")
        await allowed.stop()
        await other.stop()
    }

    @Test("git connects to the pinned addresses, not to what the name resolves to")
    func pinnedAddresses() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("pinned.git", in: sandbox.repos, commits: FixtureRepo.history(count: 3, daysAgo: 5))
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client(timeout: .seconds(30), logger: LogRecorder().logger)
        // `.invalid` never resolves (RFC 6761): only the pin can take git to the server.
        let url = "http://rebound.invalid:\(server.port)/pinned.git"
        await #expect(throws: GitFailure.self) { try await git.lsRemote(GitRemote(url: url)) }
        let head = try await git.lsRemote(GitRemote(url: url, pinnedAddresses: ["rebound.invalid:\(server.port):127.0.0.1"]))
        #expect(head.sha.count == 40)
        await server.stop()
    }

    @Test("A throttling server (HTTP 429) is a transient failure, not a refusal of the credentials")
    func rateLimitedIsTransient() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("busy.git", in: sandbox.repos, commits: FixtureRepo.history(count: 3, daysAgo: 5))
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client(timeout: .seconds(30), logger: LogRecorder().logger)
        let remote = GitRemote(url: server.url(for: "busy.git"), token: "ghs_throttled")
        server.rateLimit(next: 1)
        // The wait comes from the response's Retry-After (60 s).
        await #expect(throws: GitFailure.rateLimited(retryAfter: .seconds(60))) { try await git.lsRemote(remote) }
        #expect(!GitFailure.rateLimited(retryAfter: nil).isPermanent && GitFailure.rateLimited(retryAfter: nil).reason == "rate_limited")
        // Once the server lets requests through again, the same remote works.
        let head = try await git.lsRemote(remote)
        #expect(head.sha.count == 40)
        await server.stop()
    }

    /// GitHub answers a client whose rate limit is spent with 403 and `X-RateLimit-Remaining: 0`: that is a reason
    /// to wait for `X-RateLimit-Reset`, not a refusal of the credentials. A 403 without those headers still is one.
    @Test("HTTP 403 with a spent rate limit is transient and says when to retry; a plain 403 is a refusal")
    func forbiddenWithRateLimitHeadersIsTransient() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("busy.git", in: sandbox.repos, commits: FixtureRepo.history(count: 3, daysAgo: 5))
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client(timeout: .seconds(30), logger: LogRecorder().logger)
        let remote = GitRemote(url: server.url(for: "busy.git"), token: "ghs_throttled")

        server.rateLimit(next: 1, answer: .forbiddenRateLimit)
        let error = await #expect(throws: GitFailure.self) { try await git.lsRemote(remote) }
        guard case .rateLimited(let wait?) = error else {
            Issue.record("expected rate_limited with a wait, got \(String(describing: error))")
            return
        }
        // X-RateLimit-Reset is a minute after the server answered (whole seconds, so 58…60 s from now).
        #expect(wait >= .seconds(55) && wait <= .seconds(61), "\(wait)")
        #expect(error?.isPermanent == false)

        server.rateLimit(next: 1, answer: .forbidden)
        await #expect(throws: GitFailure.authenticationRequired) { try await git.lsRemote(remote) }
        // The same during a clone: the throttled one fails transiently and leaves nothing behind.
        server.rateLimit(next: 1, answer: .forbiddenRateLimit)
        let cloneError = await #expect(throws: GitFailure.self) {
            try await git.clone(remote, into: sandbox.clonePath("throttled"), since: Date().addingTimeInterval(-oneYear))
        }
        #expect(cloneError?.reason == "rate_limited")
        #expect(!fileExists(sandbox.clonePath("throttled")))
        #expect(try await git.lsRemote(remote).sha.count == 40)
        await server.stop()
    }

    @Test("A rate limit's wait is read from Retry-After (seconds or a date) or from a spent X-RateLimit budget")
    func rateLimitHeadersAreRead() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let trace = """
            02:30:01.217637 http.c:684              => Send header: GET /x.git/info/refs?service=git-upload-pack HTTP/1.1
            02:30:01.217651 http.c:684              => Send header: Authorization: Basic <redacted>
            02:30:01.219213 http.c:684              <= Recv header: HTTP/1.1 100 Continue
            02:30:01.219213 http.c:684              <= Recv header: HTTP/1.1 403 Forbidden
            02:30:01.219244 http.c:684              <= Recv header: X-RateLimit-Remaining: 0
            02:30:01.219251 http.c:684              <= Recv header: X-RateLimit-Reset: 1800000600
            02:30:01.219267 http.c:684              <= Recv header:
            """
        let response = HTTPTrace.lastResponse(in: trace)
        #expect(response?.status == 403 && response?.isRateLimit == true)
        #expect(response?.retryAfter(now: now) == .seconds(600))
        let withRetryAfter = HTTPTrace.lastResponse(in: trace + "\n… <= Recv header: HTTP/2 429\n… <= Recv header: retry-after: Fri, 15 Jan 2027 08:00:00 GMT\n")
        #expect(withRetryAfter?.status == 429)
        // 1 800 000 000 is Fri, 15 Jan 2027 08:00:00 GMT: ninety seconds before it, the wait is ninety seconds.
        #expect(withRetryAfter?.retryAfter(now: Date(timeIntervalSince1970: 1_800_000_000 - 90)) == .seconds(90))
        #expect(withRetryAfter?.retryAfter(now: Date(timeIntervalSince1970: 1_800_000_000 + 90)) == .seconds(0))
        #expect(HTTPTrace.lastResponse(in: "… <= Recv header: HTTP/1.1 403 Forbidden\n… <= Recv header: Content-Length: 3\n")?.isRateLimit == false)
        // Only the authority of a Location is kept, never its path or query.
        let redirect = HTTPTrace.lastResponse(in: "… <= Recv header: HTTP/1.1 301 Moved\n… <= Recv header: Location: https://Evil.example:8443/x?token=1\n")
        #expect(redirect?.redirectHost == "evil.example:8443")
        #expect(HTTPTrace.lastResponse(in: "… <= Recv header: HTTP/1.1 302 Found\n… <= Recv header: Location: /elsewhere\n")?.redirectHost == nil)
        #expect(HTTPTrace.lastResponse(in: "=> Send header: Authorization: Basic <redacted>\n") == nil)
    }

    @Test("Hooks from the host's git configuration or templates never run")
    func hooksNeverRun() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("plain.git", in: sandbox.repos, commits: FixtureRepo.history(count: 3, daysAgo: 10))
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }

        // A careless host: a global config with core.hooksPath, and a template directory with a hook.
        let marker = sandbox.root.appendingPathComponent("hook-ran")
        let hooks = sandbox.root.appendingPathComponent("host-hooks")
        let template = sandbox.root.appendingPathComponent("host-template")
        let home = sandbox.root.appendingPathComponent("host-home")
        for folder in [hooks, template.appendingPathComponent("hooks"), home] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let script = "#!/bin/sh\necho \"$0\" >> '\(marker.path)'\n"
        for file in [hooks.appendingPathComponent("post-checkout"), template.appendingPathComponent("hooks/post-checkout")] {
            try script.write(to: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file.path)
        }
        try "[core]\n\thooksPath = \(hooks.path)\n"
            .write(to: home.appendingPathComponent(".gitconfig"), atomically: true, encoding: .utf8)
        let withHooksPath = ["HOME": home.path, "GIT_CONFIG_GLOBAL": home.appendingPathComponent(".gitconfig").path]
        let withTemplate = ["GIT_TEMPLATE_DIR": template.path]

        // A plain git clone in either environment runs the hook: the check below can fail.
        try await runGit(["clone", "--quiet", server.url(for: "plain.git"), "naive1"], in: sandbox.work, environment: withHooksPath)
        #expect(try String(contentsOf: marker, encoding: .utf8).hasPrefix(hooks.path), "the global core.hooksPath hook ran")
        try FileManager.default.removeItem(at: marker)
        try await runGit(["clone", "--quiet", server.url(for: "plain.git"), "naive2"], in: sandbox.work, environment: withTemplate)
        #expect(try String(contentsOf: marker, encoding: .utf8).contains("hooks/post-checkout"), "the template's hook ran")
        try FileManager.default.removeItem(at: marker)
        let careless = withHooksPath.merging(withTemplate) { $1 }

        // GitClient: the same variables handed to it are ignored (only proxy/CA variables pass), and the
        // service's own environment is never inherited.
        let git = client(environment: careless)
        let destination = sandbox.clonePath("safe")
        _ = try await git.clone(GitRemote(url: server.url(for: "plain.git")), into: destination, since: Date().addingTimeInterval(-oneYear))
        _ = try await git.fetch(GitRemote(url: server.url(for: "plain.git")), in: destination, since: Date().addingTimeInterval(-oneYear))
        #expect(!fileExists(marker))
        // And a hook planted in the clone itself later is not run by a fetch either.
        let planted = destination.appendingPathComponent(".git/hooks")
        try FileManager.default.createDirectory(at: planted, withIntermediateDirectories: true)
        try script.write(to: planted.appendingPathComponent("post-checkout"), atomically: true, encoding: .utf8)
        try script.write(to: planted.appendingPathComponent("reference-transaction"), atomically: true, encoding: .utf8)
        for name in ["post-checkout", "reference-transaction"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: planted.appendingPathComponent(name).path)
        }
        _ = try await git.fetch(GitRemote(url: server.url(for: "plain.git")), in: destination, since: Date().addingTimeInterval(-oneYear))
        #expect(!fileExists(marker))
        await server.stop()
    }

    @Test("Received objects are checked: a hostile .gitmodules is refused, an old header format is tolerated")
    func fsckObjects() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let date = Date().addingTimeInterval(-FixtureRepo.day)
        try await FixtureRepo.create("evil.git", in: sandbox.repos, commits: [FixtureCommit(date: date, message: "evil", changes: [
            ".gitmodules": .file("[submodule \"x\"]\n\tpath = x\n\turl = --upload-pack=touch /tmp/pwned\n"),
            "x": .gitlink(String(repeating: "1", count: 40)),
        ])])
        // A commit with a malformed time zone, as some imported histories have (`git hash-object --literally`).
        let old = try await FixtureRepo.create("oldformat.git", in: sandbox.repos, commits: [])
        let tree = try await gitOutput(["mktree"], in: old)
        let seconds = Int64(date.timeIntervalSince1970)
        let body = sandbox.root.appendingPathComponent("commit.txt")
        try "tree \(tree)\nauthor A <a@x> \(seconds) +05030\ncommitter A <a@x> \(seconds) +05030\n\nbad time zone\n"
            .write(to: body, atomically: true, encoding: .utf8)
        let commit = try await gitOutput(["hash-object", "-t", "commit", "-w", "--literally", "--stdin"], in: old, input: body)
        try await runGit(["update-ref", "refs/heads/main", commit], in: old)
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let git = client()
        let since = Date().addingTimeInterval(-oneYear)

        do {
            _ = try await git.clone(GitRemote(url: server.url(for: "evil.git")), into: sandbox.clonePath("evil"), since: since)
            Issue.record("the hostile .gitmodules was accepted")
        } catch let failure as GitFailure {
            print("hostile .gitmodules: \(failure)")
            #expect("\(failure)".contains("gitmodulesUrl"))
        }
        #expect(!fileExists(sandbox.clonePath("evil")))

        let result = try await git.clone(GitRemote(url: server.url(for: "oldformat.git")), into: sandbox.clonePath("old"), since: since)
        #expect(result.head == commit)
        await server.stop()
    }

    @Test("A symbolic link becomes a plain file holding the link text")
    func symlinksAreFiles() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let commit = FixtureCommit(date: Date().addingTimeInterval(-FixtureRepo.day), message: "links", changes: [
            "passwd": .symlink(to: "/etc/passwd"),
            "etc": .symlink(to: "/etc"),
            "up": .symlink(to: "../../../../../../../../etc/passwd"),
            "README": .file("hello\n"),
        ])
        try await FixtureRepo.create("links.git", in: sandbox.repos, commits: [commit])
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let destination = sandbox.clonePath("links")
        _ = try await client().clone(GitRemote(url: server.url(for: "links.git")), into: destination, since: Date().addingTimeInterval(-oneYear))

        for (name, target) in [("passwd", "/etc/passwd"), ("etc", "/etc"), ("up", "../../../../../../../../etc/passwd")] {
            let path = destination.appendingPathComponent(name).path
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect(attributes[.type] as? FileAttributeType == .typeRegular, "\(name) is a regular file")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == target)
        }
        #expect(try await gitOutput(["status", "--porcelain"], in: destination) == "")
        await server.stop()
    }

    @Test("A submodule is never fetched, whatever its URL")
    func submodulesIgnored() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let date = Date().addingTimeInterval(-FixtureRepo.day)
        let inner = try await FixtureRepo.create(
            "inner.git", in: sandbox.repos, commits: [FixtureCommit(date: date, message: "inner", changes: ["secret.txt": .file("inner secret\n")])])
        let innerHead = try await gitOutput(["rev-parse", "HEAD"], in: inner)
        let gitmodules = """
            [submodule "local"]
            \tpath = local
            \turl = \(inner.path)
            [submodule "viafile"]
            \tpath = viafile
            \turl = file://\(inner.path)
            [submodule "relative"]
            \tpath = relative
            \turl = ../inner.git

            """
        try await FixtureRepo.create("outer.git", in: sandbox.repos, commits: [FixtureCommit(date: date, message: "outer", changes: [
            ".gitmodules": .file(gitmodules),
            "local": .gitlink(innerHead), "viafile": .gitlink(innerHead), "relative": .gitlink(innerHead),
        ])])
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }

        for protocols: Set<String> in [["http"], ["http", "file"]] {
            server.resetStatistics()
            let destination = sandbox.clonePath("outer-\(protocols.count)")
            _ = try await client(protocols: protocols).clone(
                GitRemote(url: server.url(for: "outer.git")), into: destination, since: Date().addingTimeInterval(-oneYear))
            for name in ["local", "viafile", "relative"] {
                let folder = destination.appendingPathComponent(name)
                #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "\(name) stays empty")
            }
            #expect(!fileExists(destination.appendingPathComponent(".git/modules")))
            // Only outer.git was asked for.
            #expect(server.statistics.paths.allSatisfy { $0.hasPrefix("/outer.git/") })
        }
        await server.stop()
    }

    @Test("A repository larger than the cap is stopped early, removed, and leaves no process")
    func sizeCap() async throws {
        try await HeavyTests.run { try await sizeCapBody() }
    }

    func sizeCapBody() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let bare = try await FixtureRepo.create("big.git", in: sandbox.repos, commits: [])
        // 200 MiB of random bytes: incompressible. Stored and packed without compression to keep the fixture fast.
        let blobFile = sandbox.root.appendingPathComponent("blob.bin")
        try await runShell("head -c \(200 << 20) /dev/urandom > '\(blobFile.path)'")
        try await runGit(["config", "core.compression", "0"], in: bare)
        try await runGit(["config", "pack.compression", "0"], in: bare)
        let blob = try await gitOutput(["hash-object", "-w", blobFile.path], in: bare)
        try FileManager.default.removeItem(at: blobFile)
        try await FixtureRepo.append([FixtureCommit(
            date: Date().addingTimeInterval(-FixtureRepo.day), message: "big", changes: ["small.txt": .file("x\n")])],
            to: bare, branch: "main")
        try await runShell("""
            cd '\(bare.path)' && export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=a \
            GIT_AUTHOR_EMAIL=a@x GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@x && \
            tree=$(printf '100644 blob \(blob)\\tbig.bin\\n' | git mktree) && \
            commit=$(git commit-tree -p main -m 'add big blob' $tree) && git update-ref refs/heads/main $commit
            """)
        let server = try await GitHTTPServer.start(root: sandbox.repos)
        defer { Task { await server.stop() } }
        let groups = GroupRecorder()
        let git = client(maxBytes: 100 << 20, groups: groups)
        let destination = sandbox.clonePath("big")

        // Watch the clone's size from outside: it must stop near the cap, far below the full clone (a 200 MiB
        // pack plus a 200 MiB work-tree file).
        let peak = Mutex<Int64>(0)
        let sampler = Task {
            while !Task.isCancelled {
                let size = DiskUsage.allocatedBytes(under: destination.path)
                peak.withLock { $0 = max($0, size) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let started = ContinuousClock.now
        await #expect(throws: GitFailure.tooLarge(limitBytes: 100 << 20)) {
            try await git.clone(GitRemote(url: server.url(for: "big.git")), into: destination, since: Date().addingTimeInterval(-oneYear))
        }
        let elapsed = ContinuousClock.now - started
        sampler.cancel()
        let largest = peak.withLock { $0 }
        print("size cap hit after \(elapsed); clone peaked at \(largest >> 20) MiB; server wrote \(server.statistics.bytesSent >> 20) MiB")
        #expect(largest > 50 << 20, "the transfer was under way")
        #expect(largest < 150 << 20)
        #expect(!fileExists(destination))
        #expect(!groups.all.isEmpty)
        #expect(await Processes.waitUntilGone(groups.all) == [])
        await server.stop()
    }

    /// Found by the Scorecard runner's review: a child that closes its pipes and keeps running must still
    /// be held to the deadline (the readers end at once; the watch on the process must not).
    @Test("A git that closes its output and hangs is still killed at the deadline")
    func hangAfterClosingPipes() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let script = sandbox.root.appendingPathComponent("hanging-git")
        try "#!/bin/sh\nexec >/dev/null 2>&1\nsleep 600\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let groups = GroupRecorder()
        var git = GitClient(
            executable: script.path, limits: GitLimits(timeout: .seconds(1), maxBytes: 1 << 20), allowedProtocols: ["http"],
            logger: Logger(label: "GitTransportTests"))
        git.onProcessStart = { groups.record($0) }
        // Had the deadline not ended it, the script would have exited 0 with no output after its sleep: not timed_out.
        await #expect(throws: GitFailure.timedOut(.seconds(1))) {
            try await git.lsRemote(GitRemote(url: "http://127.0.0.1:9/x/y"))
        }
        #expect(await Processes.waitUntilGone(groups.all) == [])
    }

    @Test("A slow server: the operation times out and leaves no process")
    func timeout() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("slow.git", in: sandbox.repos, commits: FixtureRepo.history(count: 3, daysAgo: 10))
        // The server would answer after a minute: an operation that ends long before it was ended by its deadline.
        let server = try await GitHTTPServer.start(root: sandbox.repos, delay: .seconds(60))
        defer { Task { await server.stop() } }
        let groups = GroupRecorder()
        let git = client(timeout: .seconds(1), groups: groups)
        let destination = sandbox.clonePath("slow")

        // Had the deadline not ended it, the clone would have succeeded once the server answered: not timed_out.
        await #expect(throws: GitFailure.timedOut(.seconds(1))) {
            try await git.clone(GitRemote(url: server.url(for: "slow.git")), into: destination, since: Date().addingTimeInterval(-oneYear))
        }
        await #expect(throws: GitFailure.timedOut(.seconds(1))) {
            try await git.lsRemote(GitRemote(url: server.url(for: "slow.git")))
        }
        #expect(!fileExists(destination))
        #expect(groups.all.count == 2)
        #expect(await Processes.waitUntilGone(groups.all) == [])
        await server.stop()
    }

    @Test("Cancelling the calling task kills git's process group and removes the partial clone")
    func cancellation() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("slow.git", in: sandbox.repos, commits: FixtureRepo.history(count: 3, daysAgo: 10))
        let server = try await GitHTTPServer.start(root: sandbox.repos, delay: .seconds(60))
        defer { Task { await server.stop() } }
        let groups = GroupRecorder()
        let git = client(timeout: .seconds(120), groups: groups)
        let destination = sandbox.clonePath("cancelled")
        let task = Task {
            try await git.clone(GitRemote(url: server.url(for: "slow.git")), into: destination, since: Date().addingTimeInterval(-oneYear))
        }
        // Wait until git runs (the server holds its first request for 60 s).
        let deadline = ContinuousClock.now + .seconds(10)
        while Processes.alive(inGroups: groups.all).isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!Processes.alive(inGroups: groups.all).isEmpty, "git is running")
        // Had the cancel not ended it, the clone would have succeeded once the server answered (the client's timeout
        // is 120 s): the task throwing CancellationError shows the cancel ended it.
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(!fileExists(destination))
        #expect(await Processes.waitUntilGone(groups.all) == [])
        await server.stop()
    }

    @Test("fetch refuses a folder that is not a clone, even inside another repository")
    func fetchNeedsAClone() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        let outer = sandbox.work.appendingPathComponent("outer")
        let inner = outer.appendingPathComponent("inner")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        try await runGit(["init", "--quiet"], in: outer)
        try "keep me\n".write(to: inner.appendingPathComponent("file.txt"), atomically: true, encoding: .utf8)
        await #expect(throws: GitFailure.self) {
            try await client().fetch(GitRemote(url: "http://127.0.0.1:1/x.git"), in: inner, since: Date())
        }
        #expect(try String(contentsOf: inner.appendingPathComponent("file.txt"), encoding: .utf8) == "keep me\n")
    }

    @Test("The token never shows in any process's command line, in errors or in logs")
    func tokenSecrecy() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.cleanUp() }
        try await FixtureRepo.create("private.git", in: sandbox.repos, commits: FixtureRepo.history(count: 10, daysAgo: 30))
        let token = "glpat-SECRET\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        let basic = Data("x-access-token:\(token)".utf8).base64EncodedString()
        let server = try await GitHTTPServer.start(root: sandbox.repos, token: token, delay: .seconds(1))
        defer { Task { await server.stop() } }
        let recorder = LogRecorder()
        let groups = GroupRecorder()
        let git = client(logger: recorder.logger, groups: groups)
        let remote = GitRemote(url: server.url(for: "private.git"), token: token)

        let finished = Flag()
        let clone = Task {
            defer { finished.set() }
            return try await git.clone(remote, into: sandbox.clonePath("private"), since: Date().addingTimeInterval(-oneYear))
        }
        var sawGit = false
        var scans = 0
        var leaks: [String] = []
        while !finished.isSet {
            for (_, line) in Processes.commandLines() {
                if line.contains(token) || line.contains(basic) { leaks.append(line) }
                if line.contains("remote-http") || line.hasPrefix("git ") { sawGit = true }
            }
            scans += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        print("token secrecy: \(scans) scans of /proc/*/cmdline while the clone ran")
        let result = try await clone.value
        #expect(result.branch == "main")
        // Nothing in the clone holds the token either (the remote URL in .git/config has no credentials).
        let enumerator = FileManager.default.enumerator(atPath: sandbox.clonePath("private").path)
        while let relative = enumerator?.nextObject() as? String {
            let data = FileManager.default.contents(atPath: sandbox.clonePath("private").appendingPathComponent(relative).path) ?? Data()
            #expect(data.range(of: Data(token.utf8)) == nil && data.range(of: Data(basic.utf8)) == nil, "\(relative)")
        }
        #expect(sawGit, "the scan saw git running")
        #expect(leaks == [])

        // Failures, with the token: wrong repository, unreachable host, bad URL with credentials in it.
        server.setDelay(.zero)
        var failures: [GitFailure] = []
        for url in [server.url(for: "missing.git"), "http://127.0.0.1:1/nothing.git",
                    server.url(for: "private.git").replacingOccurrences(of: "http://", with: "http://user:\(token)@") + "/../x"]
        {
            do {
                _ = try await git.clone(GitRemote(url: url, token: token), into: sandbox.clonePath("fail-\(failures.count)"), since: Date())
            } catch let failure as GitFailure {
                failures.append(failure)
            }
            do { _ = try await git.lsRemote(GitRemote(url: url, token: token)) } catch let failure as GitFailure { failures.append(failure) }
        }
        // Credentials only in the URL.
        do {
            _ = try await git.lsRemote(GitRemote(url: "http://someone:\(token)@127.0.0.1:1/x.git"))
        } catch let failure as GitFailure { failures.append(failure) }
        #expect(failures.count == 7)
        for failure in failures {
            #expect(!"\(failure)".contains(token))
            #expect(!"\(failure)".contains(basic))
            #expect(!String(reflecting: failure).contains(token))
        }
        let lines = recorder.all
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { !$0.contains(token) && !$0.contains(basic) }, "\(lines.filter { $0.contains(token) })")
        #expect(!"\(remote)".contains(token))
        #expect(!String(reflecting: remote).contains(token))
        print("failures: \(failures.map(\.description))")
        await server.stop()
    }
}

@Suite("Pieces")
struct PieceTests {
    @Test func scrubber() {
        let scrubber = SecretScrubber(secrets: ["tok3n-value", "dG9rM24="])
        #expect(scrubber.scrub("fatal: https://user:pass@host/x.git tok3n-value dG9rM24=")
            == "fatal: https://***@host/x.git *** ***")
        #expect(scrubber.scrub("> Authorization: Basic abc\nnext") == "> Authorization: ***\nnext")
        #expect(SecretScrubber.scrubURLCredentials("see http://a@b/c and https://h/p") == "see http://***@b/c and https://h/p")
    }

    @Test func urlParsing() {
        let parsed = ParsedRemoteURL("https://me:p%40ss@github.com/o/r.git")
        #expect(parsed.scheme == "https")
        #expect(parsed.user == "me")
        #expect(parsed.password == "p@ss")
        #expect(parsed.urlWithoutCredentials == "https://github.com/o/r.git")
        #expect(ParsedRemoteURL("git@github.com:o/r.git").scheme == "ssh")
        #expect(ParsedRemoteURL("/srv/repo.git").scheme == "file")
        #expect(ParsedRemoteURL("ext::sh -c x").scheme == "ext")
        #expect(ParsedRemoteURL("HTTPS://github.com/o/r").scheme == "https")
    }

    @Test func failureCodes() {
        #expect(GitFailure.notFound.isPermanent && GitFailure.notFound.reason == "not_found")
        #expect(!GitFailure.timedOut(.seconds(1)).isPermanent)
        #expect(!GitFailure.failed("x").isPermanent)
        #expect(GitFailure.tooLarge(limitBytes: 1).reason == "too_large")
        #expect(GitFailureClassifier.classify(stderr: "fatal: transport 'file' not allowed", status: "exited(128)")
            == .protocolNotAllowed("file"))
        #expect(GitFailureClassifier.classify(
            stderr: "fatal: could not read Username for 'https://github.com': terminal prompts disabled", status: "")
            == .authenticationRequired)
        #expect(GitFailureClassifier.classify(
            stderr: "remote: Repository not found.\nfatal: repository 'https://github.com/a/b.git/' not found", status: "")
            == .notFound)
        #expect(GitClient.gitDate(Date(timeIntervalSince1970: 1_700_000_000)) == "2023-11-14 22:13:20 +0000")
    }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// Runs `sh -c script` (fixture building only).
private func runShell(_ script: String) async throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch { continuation.resume(throwing: error) }
    }
    if status != 0 { throw RunGitError(arguments: ["sh", "-c", script], status: "exited(\(status))", stderr: "") }
}
