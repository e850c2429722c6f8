import Domain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Store
import Synchronization

/// `GET /v1/watchlist/{id}/events`: an entry's live status as Server-Sent Events — the current status first, then
/// every change of status, stage and progress and every alert, each with an `id:` to resume from (`Last-Event-ID`),
/// and a comment line every `heartbeat`. Same authentication and ownership as the status route.
struct LiveController {
    let service: WatchlistService
    let live: LiveUpdates
    /// A comment line this often keeps proxies from closing an idle stream (and a gone client is noticed).
    let heartbeat: Duration
    /// A client that has not taken a write for this long is dropped: nothing is buffered for it meanwhile.
    let slowClientTimeout: Duration

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("watchlist/{id}/events", use: events)
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let entry = try await service.entry(context.parameters.get("id"), for: caller)
        var cursor: LiveCursor?
        if let text = request.headers[.lastEventID] ?? request.uri.queryParameters["last_event_id"].map(String.init) {
            guard let parsed = LiveCursor(text) else {
                throw APIError.badRequest("Last-Event-ID must be an id this stream sent", code: "invalid_parameter")
            }
            cursor = parsed
        }
        let stream = LiveStream(store: service.store, caller: caller, entryID: entry.entry.id, repositoryID: entry.repository.id)
        // The first read happens before the answer: an error is still a JSON error, not a broken stream.
        let first = try await stream.start(from: cursor)
        let (live, heartbeat, slow, channel) = (live, heartbeat, slowClientTimeout, context.channel)
        let body = ResponseBody { writer in
            let (id, wakes, wake) = live.subscribe(repository: stream.repositoryID, entry: stream.entryID)
            defer { live.unsubscribe(id) }
            let pending = PendingWrite()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Wakes the loop every second while notifications are not flowing, else at the heartbeat.
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: live.isListening ? heartbeat : .seconds(1))
                        wake.yield()
                    }
                }
                // Drops a client that stopped reading: its connection is closed, so the pending write fails.
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(500))
                        if let since = pending.since, ContinuousClock.now - since > slow {
                            channel.close(promise: nil)
                            return
                        }
                    }
                }
                defer { group.cancelAll() }
                func send(_ text: String) async throws {
                    pending.since = .now
                    try await writer.write(ByteBuffer(string: text))
                    pending.since = nil
                }
                var lastWrite = ContinuousClock.now
                try await send("retry: 2000\n\n" + first.events.map(Self.frame).joined())
                var position = first.cursor
                var gone = first.gone
                // The server's graceful shutdown ends the stream (the client reconnects elsewhere with its last id):
                // it would otherwise wait for this request to finish.
                try await withGracefulShutdownHandler {
                    for await _ in wakes {
                        if gone { break }
                        let next = try await stream.next(after: position)
                        (position, gone) = (next.cursor, next.gone)
                        if !next.events.isEmpty {
                            try await send(next.events.map(Self.frame).joined())
                            lastWrite = .now
                        } else if ContinuousClock.now - lastWrite >= heartbeat {
                            try await send(": heartbeat\n\n")
                            lastWrite = .now
                        }
                    }
                } onGracefulShutdown: {
                    wake.finish()
                }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
            body: body)
    }

    /// One Server-Sent Event: `id:`, `event:` and the JSON on one `data:` line.
    static func frame(_ event: LiveEvent) -> String {
        "id: \(event.id)\nevent: \(event.type)\ndata: \(String(decoding: event.data, as: UTF8.self))\n\n"
    }
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}

/// When the write under way began (nil: none is): what the slow-client watchdog reads.
final class PendingWrite: Sendable {
    private let value = Mutex<ContinuousClock.Instant?>(nil)
    var since: ContinuousClock.Instant? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
