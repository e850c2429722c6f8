import Foundation
import GitFixtures
import HTTPTypes
import HummingbirdWSClient
import NIOWebSocket
import Logging
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Live status over Server-Sent Events with the real binary: a client (curl) reads the stream of a real pipeline run
/// and sees every stage in order; a client that reconnects with `Last-Event-ID` gets nothing twice. On PostgreSQL the
/// API process that serves the stream does no work: a separate worker process runs the pipeline, and its changes reach
/// the stream by LISTEN/NOTIFY (the stream's own polling is set to 5 minutes, so nothing else could bring them).
@Suite("Live status end to end")
struct LiveStatusEndToEndTests {
    struct Frame: Equatable {
        let id: String
        let event: String
        let data: [String: String]
    }

    /// The complete frames of an event stream (comments and `retry:` skipped).
    static func frames(_ text: String) -> [Frame] {
        var frames: [Frame] = []
        for block in text.components(separatedBy: "\n\n").dropLast() {
            var id = "", event = "", data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            guard !event.isEmpty else { continue }
            let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
            frames.append(Frame(id: id, event: event, data: object.compactMapValues { value in
                switch value {
                case let text as String: text
                case let number as NSNumber: number.stringValue
                default: nil
                }
            }))
        }
        return frames
    }

    /// curl reading the stream until stopped.
    static func listen(_ url: String, key: String, lastEventID: String?) async throws -> ChildProcess {
        var arguments = ["-sN", url, "-H", "Authorization: Bearer \(key)"]
        if let lastEventID { arguments += ["-H", "Last-Event-ID: \(lastEventID)"] }
        return try await ChildProcess.start("/usr/bin/curl", arguments, environment: ["PATH": "/usr/bin:/bin"])
    }

    static func waitFor(_ client: ChildProcess, timeout: Duration = .seconds(120), until done: ([Frame]) -> Bool) async throws -> [Frame] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let frames = Self.frames(client.stdout)
            if done(frames) { return frames }
            try await Task.sleep(for: .milliseconds(100))
        }
        return Self.frames(client.stdout)
    }

    @Test(arguments: Engine.allCases)
    func aStreamShowsEveryStageInOrderAndResumesWithoutRepeats(engine: Engine) async throws {
        try await HeavyTests.run {
            let scratch = URL(fileURLWithPath: CLITests.temporaryDirectory())
            defer { try? FileManager.default.removeItem(at: scratch) }
            let served = scratch.appendingPathComponent("served")
            let now = Date()
            _ = try await RepositoryGenerator.make(
                at: served.appendingPathComponent("fixtures/project"), commits: 300,
                span: now.addingTimeInterval(-300 * 86_400)...now.addingTimeInterval(-3600), seed: 21, bare: true)
            let git = try await GitHTTPServer.start(root: served)
            let port = try EndToEndTests.freePort()
            let environment = [
                "REPOWATCH_ALLOWED_HOSTS": "127.0.0.1:\(git.port)", "REPOWATCH_GIT_PROTOCOLS": "http",
                // Only a notification (PostgreSQL) or this process's own writes (SQLite) can move the stream on in time.
                "REPOWATCH_LIVE_HEARTBEAT": "300s",
            ]
            let service = try await CLITests.startService(engine: engine, scratch: scratch, port: port, environment: environment)
            let (api, processes) = (service.api, service.processes)
            let key = try #require(api.stdout.split(separator: "\n").map(String.init).first(where: CLITests.isKey), "the first start's admin key")
            let base = "http://127.0.0.1:\(port)"

            let (added, entry) = try await EndToEndTests.http("POST", "\(base)/v1/watchlist", key: key, json: #"{"repo_url": "\#(git.url(for: "fixtures/project"))"}"#)
            #expect(added == 202, "\(entry)")
            let id = try #require(entry["id"] as? String)
            let url = "\(base)/v1/watchlist/\(id)/events"

            // From the start of the entry's history (0.0), so the stages that passed before the client connected are in it.
            let client = try await Self.listen(url, key: key, lastEventID: "0.0")
            let frames = try await Self.waitFor(client) { $0.contains { $0.event == "status" && $0.data["status"] == "ready" } }
            client.send(SIGTERM)
            _ = await client.waitForExit()
            let statuses = frames.filter { $0.event == "status" }
            var stages: [String] = []
            for frame in statuses {
                let name = frame.data["status"] == "processing" ? frame.data["stage"] ?? "?" : frame.data["status"] ?? "?"
                if stages.last != name { stages.append(name) }
            }
            #expect(stages == ["queued", "cloning", "backfilling", "analyzing", "ready"], "\(stages)\n\(api.stderr.suffix(2000))")
            let ids = frames.map(\.id)
            #expect(Set(ids).count == ids.count, "every event has its own id: \(ids)")

            // Resuming from the last id: nothing again. Resuming from the middle: exactly what came after it.
            let last = try #require(ids.last)
            let resumed = try await Self.listen(url, key: key, lastEventID: last)
            try await Task.sleep(for: .seconds(2))
            resumed.send(SIGTERM)
            _ = await resumed.waitForExit()
            #expect(Self.frames(resumed.stdout).isEmpty, "resumed at the end: \(resumed.stdout)")
            #expect(resumed.stdout.hasPrefix("retry: 2000"), "the stream answered: \(resumed.stdout)")
            let middle = ids[ids.count / 2]
            let replay = try await Self.listen(url, key: key, lastEventID: middle)
            let replayed = try await Self.waitFor(replay, timeout: .seconds(10)) { $0.count >= ids.count - ids.count / 2 - 1 }
            replay.send(SIGTERM)
            _ = await replay.waitForExit()
            #expect(replayed.map(\.id) == Array(ids.suffix(from: ids.count / 2 + 1)), "the events after \(middle), once")

            // The same stream over WebSocket, from the start: the same events with the same ids, one message each.
            let received = Mutex<[String]>([])
            let expected = ids.count
            try await WebSocketClient.connect(
                url: "ws://127.0.0.1:\(port)/v1/watchlist/\(id)/ws?last_event_id=0.0",
                configuration: .init(maxFrameSize: 1 << 16, additionalHeaders: [.authorization: "Bearer \(key)"]), logger: Logger(label: "ws-test")
            ) { inbound, outbound, _ in
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = message,
                        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], let messageID = object["id"] as? String
                    else { continue }
                    let count = received.withLock { $0.append(messageID); return $0.count }
                    if count >= expected { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
            #expect(received.withLock { $0 } == ids, "WebSocket and Server-Sent Events carry the same events")

            // Without Last-Event-ID: the current status first.
            let fresh = try await Self.listen(url, key: key, lastEventID: nil)
            let current = try await Self.waitFor(fresh, timeout: .seconds(10)) { !$0.isEmpty }
            fresh.send(SIGTERM)
            _ = await fresh.waitForExit()
            #expect(current.first?.event == "status" && current.first?.data["status"] == "ready")

            for process in processes {
                process.send(SIGTERM)
                #expect(await process.waitForExit() == 0, "\(process.stderr.suffix(2000))")
            }
            await git.stop()
        }
    }
}
