import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Subprocess
import Synchronization

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// A smart-HTTP git server for tests: every bare repository under `root` is served by
/// `git-http-backend` run as a CGI program per request, behind a Hummingbird application on
/// 127.0.0.1 with an ephemeral port.
///
/// ```swift
/// let server = try await GitHTTPServer.start(root: reposFolder, token: "s3cret")
/// let url = server.url(for: "project.git")   // http://127.0.0.1:PORT/project.git
/// …
/// await server.stop()
/// ```
///
/// Options: a token (then only `Authorization: Basic base64("x-access-token:<token>")` or
/// `Bearer <token>` pass; everything else gets 401 with `WWW-Authenticate: Basic realm="git"`), an
/// artificial delay before each request is served, and counters of requests and response bytes.
public final class GitHTTPServer: Sendable {
    /// Counters since start (or since the last ``resetStatistics()``).
    public struct Statistics: Sendable, Equatable {
        /// Requests received (including rejected ones).
        public var requests: Int = 0
        /// Requests answered with 401.
        public var unauthorized: Int = 0
        /// Response body bytes written to clients.
        public var bytesSent: Int64 = 0
        /// The paths requested, in order (`/repo.git/info/refs`, `/repo.git/git-upload-pack`, …).
        public var paths: [String] = []
        /// Requests that asked for git's wire protocol version 2 (`Git-Protocol: version=2`).
        public var protocolV2Requests: Int = 0
        /// Every `Authorization` header value received, in order (what a client sent this server).
        public var authorizations: [String] = []
    }

    /// The port the server listens on (127.0.0.1).
    public let port: Int
    /// The folder holding the bare repositories.
    public let root: URL
    private let state: SharedState
    private let runTask: Task<Void, any Error>
    private let group: ServiceGroup

    /// The path of git's CGI program.
    public static let backendPath = "/usr/lib/git-core/git-http-backend"

    private init(port: Int, root: URL, state: SharedState, runTask: Task<Void, any Error>, group: ServiceGroup) {
        self.port = port
        self.root = root
        self.state = state
        self.runTask = runTask
        self.group = group
    }

    /// Starts a server for the bare repositories under `root`.
    /// - Parameters:
    ///   - root: the folder holding `name.git` bare repositories.
    ///   - token: when set, every request must carry it (Basic `x-access-token:<token>` or Bearer).
    ///   - delay: slept before each request is answered (lets a test look at processes while git runs).
    ///   - redirectTo: when set (`http://host:port`), every request is answered `302 Found` to the same path
    ///     and query on that origin: a server that sends clients elsewhere.
    public static func start(root: URL, token: String? = nil, delay: Duration = .zero, redirectTo: String? = nil) async throws -> GitHTTPServer {
        let state = SharedState(token: token, delay: delay, redirectTo: redirectTo)
        let root = root.standardizedFileURL
        var logger = Logger(label: "GitHTTPServer")
        logger.logLevel = .warning
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            try await serve(request, root: root, state: state)
        }
        router.get("**", use: handler)
        router.post("**", use: handler)

        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "git-test"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: app)], gracefulShutdownSignals: [], logger: logger))
        let runTask = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            runTask.cancel()
            throw ServerError.didNotStart
        }
        return GitHTTPServer(port: port, root: root, state: state, runTask: runTask, group: group)
    }

    /// The clone URL of the repository `name` (e.g. `"project.git"`).
    public func url(for name: String) -> String {
        "http://127.0.0.1:\(port)/\(name)"
    }

    /// A snapshot of the counters.
    public var statistics: Statistics { state.stats.withLock { $0 } }

    /// How a throttled request is answered.
    public enum Throttle: Sendable {
        /// `429 Too Many Requests` with `Retry-After: 60` and GitHub's rate-limit headers.
        case tooManyRequests
        /// `403 Forbidden` with `X-RateLimit-Remaining: 0` and `X-RateLimit-Reset` a minute ahead: how GitHub
        /// answers a client whose primary rate limit is spent.
        case forbiddenRateLimit
        /// `403 Forbidden` without any rate-limit header: a refusal.
        case forbidden
    }

    /// Answers the next `count` requests as `answer` says (by default `429 Too Many Requests` with GitHub's
    /// rate-limit headers, as a host that throttles does).
    public func rateLimit(next count: Int, answer: Throttle = .tooManyRequests) {
        state.rateLimited.withLock { $0 = (count, answer) }
    }

    /// Sets the counters back to zero.
    public func resetStatistics() { state.stats.withLock { $0 = Statistics() } }

    /// Changes the artificial per-request delay.
    public func setDelay(_ delay: Duration) { state.delay.withLock { $0 = delay } }

    /// Stops the server and waits until it has shut down.
    public func stop() async {
        state.stopping.withLock { $0 = true }
        // CGI programs still running (a client that went away mid-response) are killed with their group.
        for group in state.liveGroups.withLock({ $0 }) { kill(-group, SIGKILL) }
        await group.triggerGracefulShutdown()
        _ = try? await runTask.value
    }

    enum ServerError: Error { case didNotStart }

    final class SharedState: Sendable {
        let token: String?
        let redirectTo: String?
        let delay: Mutex<Duration>
        /// How many of the next requests are throttled, and how.
        let rateLimited = Mutex((count: 0, answer: GitHTTPServer.Throttle.tooManyRequests))
        let stats = Mutex(Statistics())
        let liveGroups = Mutex(Set<pid_t>())
        let stopping = Mutex(false)
        init(token: String?, delay: Duration, redirectTo: String?) {
            self.token = token
            self.redirectTo = redirectTo
            self.delay = Mutex(delay)
        }
    }

    // MARK: - Request handling

    static func isAuthorized(_ request: Request, token: String) -> Bool {
        guard let value = request.headers[.authorization] else { return false }
        if value == "Bearer \(token)" { return true }
        let basic = Data("x-access-token:\(token)".utf8).base64EncodedString()
        return value == "Basic \(basic)"
    }

    static func serve(_ request: Request, root: URL, state: SharedState) async throws -> Response {
        let path = request.uri.path
        state.stats.withLock {
            $0.requests += 1
            $0.paths.append(path)
            if let authorization = request.headers[.authorization] { $0.authorizations.append(authorization) }
        }
        if let origin = state.redirectTo {
            var headers = HTTPFields()
            headers[.location] = origin + path + (request.uri.query.map { "?" + $0 } ?? "")
            return Response(status: .found, headers: headers)
        }
        let throttle = state.rateLimited.withLock { throttle -> GitHTTPServer.Throttle? in
            guard throttle.count > 0 else { return nil }
            throttle.count -= 1
            return throttle.answer
        }
        if let throttle {
            var headers = HTTPFields()
            let reset = "\(Int(Date().timeIntervalSince1970) + 60)"
            switch throttle {
            case .tooManyRequests:
                headers[.retryAfter] = "60"
                headers[HTTPField.Name("X-RateLimit-Remaining")!] = "0"
                headers[HTTPField.Name("X-RateLimit-Reset")!] = reset
                return Response(status: .tooManyRequests, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "slow down\n")))
            case .forbiddenRateLimit:
                headers[HTTPField.Name("X-RateLimit-Limit")!] = "5000"
                headers[HTTPField.Name("X-RateLimit-Remaining")!] = "0"
                headers[HTTPField.Name("X-RateLimit-Reset")!] = reset
                return Response(status: .forbidden, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "API rate limit exceeded\n")))
            case .forbidden:
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "forbidden\n")))
            }
        }
        let delay = state.delay.withLock { $0 }
        if delay > .zero {
            // In small steps, so that stop() does not wait for sleeping requests.
            let end = ContinuousClock.now + delay
            while ContinuousClock.now < end, !state.stopping.withLock({ $0 }) {
                try await Task.sleep(for: min(.milliseconds(50), end - ContinuousClock.now))
            }
        }
        if let token = state.token, !isAuthorized(request, token: token) {
            state.stats.withLock { $0.unauthorized += 1 }
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Basic realm=\"git\""
            return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "authentication required\n")))
        }
        var request = request
        // Fetch requests are small (want/have lines); pushes are not served through this fixture.
        let body = try await request.collectBody(upTo: 64 << 20)

        var environment: [Subprocess.Environment.Key: String] = [
            "PATH": "/usr/bin:/bin",
            "HOME": "/nonexistent",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "GIT_PROJECT_ROOT": root.path,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "REQUEST_METHOD": request.method.rawValue,
            "QUERY_STRING": request.uri.query ?? "",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": String(body.readableBytes),
        ]
        if let value = request.headers[.contentType] { environment["CONTENT_TYPE"] = value }
        if let value = request.headers[.contentEncoding] { environment["HTTP_CONTENT_ENCODING"] = value }
        if let name = HTTPField.Name("Git-Protocol"), let value = request.headers[name] {
            environment["HTTP_GIT_PROTOCOL"] = value
            if value.contains("version=2") { state.stats.withLock { $0.protocolV2Requests += 1 } }
        }
        let input = Array(buffer: body)
        return try await CGIResponse.run(environment: environment, input: input, state: state)
    }
}

/// Runs the CGI program in a task of its own and hands its output to the response writer, one chunk
/// at a time (the reader waits until the writer has sent the previous chunk).
enum CGIResponse {
    enum Event: Sendable {
        case head(HTTPResponse.Status, HTTPFields)
        case failed(String)
    }

    static func run(
        environment: [Subprocess.Environment.Key: String], input: [UInt8], state: GitHTTPServer.SharedState
    ) async throws -> Response {
        let (chunks, chunkContinuation) = AsyncStream<ByteBuffer>.makeStream()
        let (acks, ackContinuation) = AsyncStream<Bool>.makeStream()
        let (heads, headContinuation) = AsyncStream<Event>.makeStream()

        Task {
            var platform = PlatformOptions()
            platform.processGroupID = 0
            platform.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .zero)]
            do {
                _ = try await Subprocess.run(
                    .path(FilePath(GitHTTPServer.backendPath)),
                    environment: .custom(environment),
                    platformOptions: platform,
                    input: .array(input),
                    output: .sequence,
                    error: .discarded
                ) { execution in
                    var ackIterator = acks.makeAsyncIterator()
                    let pid = execution.processIdentifier.value
                    state.liveGroups.withLock { _ = $0.insert(pid) }
                    defer { state.liveGroups.withLock { _ = $0.remove(pid) } }
                    var pending: [UInt8] = []
                    var headSent = false
                    for try await chunk in execution.standardOutput {
                        var bytes: [UInt8] = chunk.withUnsafeBytes { Array($0) }
                        if !headSent {
                            pending.append(contentsOf: bytes)
                            guard let (status, fields, rest) = parseHead(pending) else { continue }
                            headContinuation.yield(.head(status, fields))
                            headContinuation.finish()
                            headSent = true
                            bytes = rest
                            pending = []
                        }
                        if bytes.isEmpty { continue }
                        chunkContinuation.yield(ByteBuffer(bytes: bytes))
                        // Back-pressure: wait until the writer has sent it; stop if the client went away.
                        guard await ackIterator.next() == true else {
                            try? execution.send(signal: .kill, toProcessGroup: true)
                            break
                        }
                    }
                    if !headSent {
                        headContinuation.yield(.failed("CGI program ended before its headers"))
                    }
                }
            } catch {
                headContinuation.yield(.failed("CGI program failed: \(error)"))
            }
            headContinuation.finish()
            chunkContinuation.finish()
        }

        var headIterator = heads.makeAsyncIterator()
        guard case .head(let status, let fields)? = await headIterator.next() else {
            ackContinuation.yield(false)
            ackContinuation.finish()
            // Drain so the reader task can end.
            Task { for await _ in chunks {} }
            return Response(status: .badGateway)
        }
        let body = ResponseBody { writer in
            do {
                for await chunk in chunks {
                    let count = chunk.readableBytes
                    try await writer.write(chunk)
                    state.stats.withLock { $0.bytesSent += Int64(count) }
                    ackContinuation.yield(true)
                }
                ackContinuation.finish()
                try await writer.finish(nil)
            } catch {
                ackContinuation.yield(false)
                ackContinuation.finish()
                throw error
            }
        }
        return Response(status: status, headers: fields, body: body)
    }

    /// Splits CGI output into its status, header fields and the body bytes read so far; nil while the
    /// blank line ending the headers has not arrived.
    static func parseHead(_ bytes: [UInt8]) -> (HTTPResponse.Status, HTTPFields, [UInt8])? {
        var index = 0
        var lines: [String] = []
        var lineStart = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                var end = index
                if end > lineStart, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                if end == lineStart {
                    var status = HTTPResponse.Status.ok
                    var fields = HTTPFields()
                    for line in lines {
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        let name = line[..<colon].trimmingCharacters(in: .whitespaces)
                        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                        if name.lowercased() == "status" {
                            let code = Int(value.prefix(while: \.isNumber)) ?? 500
                            let reason = value.drop(while: \.isNumber).trimmingCharacters(in: .whitespaces)
                            status = HTTPResponse.Status(code: code, reasonPhrase: reason)
                        } else if let fieldName = HTTPField.Name(name) {
                            fields.append(HTTPField(name: fieldName, value: value))
                        }
                    }
                    return (status, fields, Array(bytes[(index + 1)...]))
                }
                lines.append(String(decoding: bytes[lineStart..<end], as: UTF8.self))
                lineStart = index + 1
            }
            index += 1
        }
        return nil
    }
}
