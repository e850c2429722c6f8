import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A webhook endpoint on 127.0.0.1 for tests: answers each POST as scripted (a status, or never), and keeps what it
/// received. After the script, it answers 200.
public final class WebhookReceiver: Sendable {
    public enum Answer: Sendable, Equatable {
        case status(Int)
        /// Never answers (until the receiver stops).
        case hang
    }

    public struct Received: Sendable {
        /// Header names lower-cased.
        public let headers: [String: String]
        public let body: Data
        public let at: Date
    }

    public let port: Int
    private let state: State
    private let runTask: Task<Void, any Error>
    private let group: ServiceGroup

    final class State: Sendable {
        let script = Mutex<[Answer]>([])
        let received = Mutex<[Received]>([])
        let stopping = Atomic<Bool>(false)
    }

    private init(port: Int, state: State, runTask: Task<Void, any Error>, group: ServiceGroup) {
        self.port = port
        self.state = state
        self.runTask = runTask
        self.group = group
    }

    /// `http://127.0.0.1:PORT/hook`.
    public var url: String { "http://127.0.0.1:\(port)/hook" }

    public static func start() async throws -> WebhookReceiver {
        let state = State()
        var logger = Logger(label: "WebhookReceiver")
        logger.logLevel = .warning
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            state.received.withLock { $0.append(Received(headers: headers, body: Data(body.readableBytesView), at: Date())) }
            let answer = state.script.withLock { $0.isEmpty ? Answer.status(200) : $0.removeFirst() }
            switch answer {
            case .status(let code):
                return Response(status: .init(code: code))
            case .hang:
                while !state.stopping.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(50)) }
                return Response(status: .serviceUnavailable)
            }
        }
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "webhook-test"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [], logger: logger))
        let runTask = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            runTask.cancel()
            throw TestSetupError("the webhook receiver did not start")
        }
        return WebhookReceiver(port: port, state: state, runTask: runTask, group: group)
    }

    /// The answers to the next requests, in order.
    public func script(_ answers: [Answer]) {
        state.script.withLock { $0 = answers }
    }

    public var received: [Received] { state.received.withLock { $0 } }

    /// Waits until at least `count` requests came (at most `timeout`), and returns what came.
    public func waitFor(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while received.count < count && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return received
    }

    public func stop() async {
        state.stopping.store(true, ordering: .relaxed)
        await group.triggerGracefulShutdown()
        _ = try? await runTask.value
    }
}
