import Domain
import Foundation
import Store
import Webhooks

/// Where a live stream stands: the last state change and the last alert it sent. Written as the event id
/// `<state>.<alert>`; a client that reconnects with it (`Last-Event-ID`) gets what came after, nothing twice.
struct LiveCursor: Sendable, Equatable {
    var state: Int64
    var alert: Int64

    var text: String { "\(state).\(alert)" }

    init(state: Int64, alert: Int64) {
        self.state = state
        self.alert = alert
    }

    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let state = Int64(parts[0]), let alert = Int64(parts[1]), state >= 0, alert >= 0 else { return nil }
        self.init(state: state, alert: alert)
    }
}

/// One message of the stream: `status` (a change of status, stage, progress or error), `alert` (an alert of the entry,
/// as `GET /v1/events` shows it) or `deleted` (the entry is gone; the stream ends).
struct LiveEvent: Sendable {
    let id: String
    let type: String
    let data: Data
}

/// The events of one entry's live status, read from the store: the same for Server-Sent Events and WebSocket.
struct LiveStream: Sendable {
    let store: any Store
    let caller: Caller
    let entryID: UUID
    let repositoryID: UUID

    /// The largest batch of stored changes sent in one read.
    static let batch = 200

    struct StatusJSON: Encodable {
        let entry_id: String
        let repository_id: String
        let status: String
        let stage: String
        let progress: Int
        let refreshing: Bool
        let last_error: String?
        let at: Date

        enum CodingKeys: String, CodingKey { case entry_id, repository_id, status, stage, progress, refreshing, last_error, at }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(entry_id, forKey: .entry_id)
            try c.encode(repository_id, forKey: .repository_id)
            try c.encode(status, forKey: .status)
            try c.encode(stage, forKey: .stage)
            try c.encode(progress, forKey: .progress)
            try c.encode(refreshing, forKey: .refreshing)
            try c.encode(last_error, forKey: .last_error)
            try c.encode(at, forKey: .at)
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The first events: after `cursor` when the client resumes, else the current status (positioned at now).
    func start(from cursor: LiveCursor?) async throws -> (events: [LiveEvent], cursor: LiveCursor, gone: Bool) {
        if let cursor { return try await next(after: cursor) }
        let (entry, state, alert) = try await store.read { tx in
            (try await tx.entry(id: entryID, visibleTo: caller), try await tx.lastStateChange(repository: repositoryID),
             try await tx.lastAlertEvent(entry: entryID))
        }
        guard let entry else { return ([try deleted(LiveCursor(state: 0, alert: 0))], LiveCursor(state: 0, alert: 0), true) }
        let position = LiveCursor(state: state, alert: alert)
        let r = entry.repository
        let status = StatusJSON(
            entry_id: entryID.lowercased, repository_id: r.id.lowercased, status: r.state.status.rawValue, stage: r.state.stage.rawValue,
            progress: r.state.progress, refreshing: r.state.refreshing, last_error: r.state.lastError, at: r.updatedAt)
        return ([LiveEvent(id: position.text, type: "status", data: try Self.encoder.encode(status))], position, false)
    }

    /// What happened after `cursor`, oldest first, each event with the position after it.
    func next(after cursor: LiveCursor) async throws -> (events: [LiveEvent], cursor: LiveCursor, gone: Bool) {
        let (entry, changes, alerts) = try await store.read { tx in
            (try await tx.entry(id: entryID, visibleTo: caller),
             try await tx.stateChanges(repository: repositoryID, after: cursor.state, limit: Self.batch),
             try await tx.alertEvents(visibleTo: caller, entry: entryID, after: cursor.alert, limit: Self.batch))
        }
        guard entry != nil else { return ([try deleted(cursor)], cursor, true) }
        var position = cursor
        var events: [LiveEvent] = []
        var (i, j) = (0, 0)
        // Merged by time; a state change first when both happened at once (a report's alerts follow its `ready`).
        while i < changes.count || j < alerts.count {
            if j >= alerts.count || (i < changes.count && changes[i].at <= alerts[j].event.createdAt) {
                let c = changes[i]
                position.state = c.sequence
                let status = StatusJSON(
                    entry_id: entryID.lowercased, repository_id: repositoryID.lowercased, status: c.status.rawValue, stage: c.stage.rawValue,
                    progress: c.progress, refreshing: c.refreshing, last_error: c.lastError, at: c.at)
                events.append(LiveEvent(id: position.text, type: "status", data: try Self.encoder.encode(status)))
                i += 1
            } else {
                let a = alerts[j]
                position.alert = a.sequence
                events.append(LiveEvent(id: position.text, type: "alert", data: try Self.encoder.encode(AlertEventJSON(a))))
                j += 1
            }
        }
        return (events, position, false)
    }

    private func deleted(_ cursor: LiveCursor) throws -> LiveEvent {
        LiveEvent(id: cursor.text, type: "deleted", data: try Self.encoder.encode(["entry_id": entryID.lowercased]))
    }
}
