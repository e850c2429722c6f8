import Domain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
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

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("watchlist/{id}/events", use: events)
        let (service, live, heartbeat) = (service, live, heartbeat)
        // The same stream over WebSocket: one text message per event, `{"id", "event", "data"}`; resume with
        // `?last_event_id=`. Refused before the upgrade (401, 404, 400) like the Server-Sent Events route.
        group.ws("watchlist/{id}/ws") { request, context in
            let caller = try context.requireCaller()
            _ = try await service.entry(context.parameters.get("id"), for: caller)
            _ = try Self.cursor(request)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let request = context.requestContext
            let caller = try request.requireCaller()
            let entry = try await service.entry(request.parameters.get("id"), for: caller)
            let stream = LiveStream(store: service.store, caller: caller, entryID: entry.entry.id, repositoryID: entry.repository.id)
            let first = try await stream.start(from: try Self.cursor(context.request))
            try await Self.pump(
                stream, first: first, live: live, heartbeat: heartbeat, channel: request.channel, heartbeatText: nil,
                prelude: nil,
                // The client's close (or its going away) ends the inbound messages: the stream ends with them.
                until: { do { for try await _ in inbound {} } catch {} }
            ) { events in
                for event in events { try await outbound.write(.text(Self.message(event))) }
            } sendText: { _ in }
        }
    }

    /// `Last-Event-ID` (header) or `last_event_id` (query, for clients that cannot set headers, as WebSocket ones).
    static func cursor(_ request: Request) throws -> LiveCursor? {
        guard let text = request.headers[.lastEventID] ?? request.uri.queryParameters["last_event_id"].map(String.init) else { return nil }
        guard let cursor = LiveCursor(text) else {
            throw APIError.badRequest("Last-Event-ID must be an id this stream sent", code: "invalid_parameter")
        }
        return cursor
    }

    /// One WebSocket message: `{"id": …, "event": …, "data": {…}}`.
    static func message(_ event: LiveEvent) -> String {
        #"{"id":"\#(event.id)","event":"\#(event.type)","data":\#(String(decoding: event.data, as: UTF8.self))}"#
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        let entry = try await service.entry(context.parameters.get("id"), for: caller)
        let cursor = try Self.cursor(request)
        let stream = LiveStream(store: service.store, caller: caller, entryID: entry.entry.id, repositoryID: entry.repository.id)
        // The first read happens before the answer: an error is still a JSON error, not a broken stream.
        let first = try await stream.start(from: cursor)
        let (live, heartbeat, channel) = (live, heartbeat, context.channel)
        let body = ResponseBody { writer in
            try await Self.pump(stream, first: first, live: live, heartbeat: heartbeat, channel: channel) { events in
                try await writer.write(ByteBuffer(string: events.map(Self.frame).joined()))
            } sendText: { text in
                try await writer.write(ByteBuffer(string: text))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
            body: body)
    }

    /// Sends `first`, then whatever the store shows after it each time the stream is woken, until the entry is gone, the
    /// client goes (a write fails, or `until` returns), or the server shuts down. A write the client has not taken
    /// within `live.slow_client_timeout` closes its connection (``LiveUpdates``). With `heartbeat` text (Server-Sent
    /// Events), a stream that had nothing to send for `heartbeat` sends it.
    static func pump(
        _ stream: LiveStream, first: (events: [LiveEvent], cursor: LiveCursor, gone: Bool), live: LiveUpdates, heartbeat: Duration,
        channel: any Channel, heartbeatText: String? = ": heartbeat\n\n", prelude: String? = "retry: 2000\n\n",
        until: (@Sendable () async -> Void)? = nil,
        sendEvents: ([LiveEvent]) async throws -> Void, sendText: (String) async throws -> Void
    ) async throws {
        let pending = PendingWrite()
        let (id, wakes, wake, changed) = live.subscribe(repository: stream.repositoryID, entry: stream.entryID, pending: pending, channel: channel)
        defer { live.unsubscribe(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Wakes the loop every second while notifications are not flowing, else at the heartbeat.
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: live.isListening ? heartbeat : .seconds(1))
                    wake.yield()
                }
            }
            if let until {
                group.addTask {
                    await until()
                    wake.finish()
                }
            }
            defer { group.cancelAll() }
            func send(_ events: [LiveEvent]) async throws {
                pending.since = .now
                try await sendEvents(events)
                pending.since = nil
            }
            func send(_ text: String) async throws {
                pending.since = .now
                try await sendText(text)
                pending.since = nil
            }
            var lastWrite = ContinuousClock.now
            if let prelude { try await send(prelude) }
            try await send(first.events)
            var position = first.cursor
            var gone = first.gone
            // The server's graceful shutdown ends the stream (the client reconnects elsewhere with its last id):
            // it would otherwise wait for this request to finish.
            try await withGracefulShutdownHandler {
                for await _ in wakes {
                    if gone { break }
                    // Woken by the timer alone while notifications flow: nothing to read, perhaps a heartbeat to send.
                    var next: (events: [LiveEvent], cursor: LiveCursor, gone: Bool) = ([], position, false)
                    if changed.take() || !live.isListening {
                        next = try await stream.next(after: position)
                    }
                    (position, gone) = (next.cursor, next.gone)
                    if !next.events.isEmpty {
                        try await send(next.events)
                        lastWrite = .now
                    } else if let heartbeatText, ContinuousClock.now - lastWrite >= heartbeat {
                        try await send(heartbeatText)
                        lastWrite = .now
                    }
                }
            } onGracefulShutdown: {
                wake.finish()
            }
        }
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
