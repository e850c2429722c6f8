import Domain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The JSON bodies the API returns. Field names are snake_case, as in the seed's API.
struct EntryResponse: Encodable {
    let id: String
    let repository_id: String
    let repo_url: String
    let host: String
    let owner: String
    let name: String
    let user: String
    let status: String
    let stage: String
    let progress: Int
    let refreshing: Bool
    @NullEncodable var processing_started_at: Date?
    @NullEncodable var processing_completed_at: Date?
    @NullEncodable var last_error: String?
    @NullEncodable var failure_reason: String?
    let attempts: Int
    let `private`: Bool
    @NullEncodable var health_score: Double?
    @NullEncodable var last_checked_at: Date?
    @NullEncodable var head_commit: String?
    @NullEncodable var default_branch: String?
    @NullEncodable var next_check_at: Date?
    let alerts: JSONValue
    @NullEncodable var notes: String?
    /// The entry's own re-check interval in seconds; null: the configured one.
    @NullEncodable var check_interval_seconds: Int?
    /// The last successful check is older than twice the interval.
    let stale: Bool
    let created_at: Date
    let updated_at: Date

    init(_ e: EntryWithRepository, defaultInterval: Duration, now: Date = Date()) {
        let r = e.repository
        id = e.entry.id.lowercased
        repository_id = r.id.lowercased
        repo_url = r.url.canonical
        host = r.url.hostWithPort
        owner = r.url.owner
        name = r.url.name
        user = e.userName
        status = r.state.status.rawValue
        stage = r.state.stage.rawValue
        progress = r.state.progress
        refreshing = r.state.refreshing
        processing_started_at = r.state.startedAt
        processing_completed_at = r.state.completedAt
        last_error = r.state.lastError
        failure_reason = r.failureReason
        attempts = r.attempts
        `private` = r.isPrivate
        health_score = r.healthScore
        last_checked_at = r.lastCheckedAt
        head_commit = r.headCommit
        default_branch = r.defaultBranch
        next_check_at = r.nextCheckAt
        alerts = JSONValue.parse(Data(e.entry.alertsJSON.utf8)) ?? .object([:])
        notes = e.entry.notes
        check_interval_seconds = e.entry.checkIntervalSeconds
        stale = e.entry.isStale(lastCheckedAt: r.lastCheckedAt, defaultInterval: defaultInterval, now: now)
        created_at = e.entry.createdAt
        updated_at = e.entry.updatedAt
    }
}

/// What a poller needs, and nothing that changes without the state changing (so its ETag is stable).
struct StatusResponse: Encodable {
    let id: String
    let repository_id: String
    let repo_url: String
    let status: String
    let stage: String
    let progress: Int
    let refreshing: Bool
    @NullEncodable var processing_started_at: Date?
    @NullEncodable var processing_completed_at: Date?
    @NullEncodable var last_error: String?
    @NullEncodable var failure_reason: String?
    let attempts: Int
    @NullEncodable var health_score: Double?
    @NullEncodable var last_checked_at: Date?
    @NullEncodable var head_commit: String?
    let stale: Bool

    init(_ e: EntryWithRepository, defaultInterval: Duration, now: Date = Date()) {
        let r = e.repository
        id = e.entry.id.lowercased
        repository_id = r.id.lowercased
        repo_url = r.url.canonical
        status = r.state.status.rawValue
        stage = r.state.stage.rawValue
        progress = r.state.progress
        refreshing = r.state.refreshing
        processing_started_at = r.state.startedAt
        processing_completed_at = r.state.completedAt
        last_error = r.state.lastError
        failure_reason = r.failureReason
        attempts = r.attempts
        health_score = r.healthScore
        last_checked_at = r.lastCheckedAt
        head_commit = r.headCommit
        stale = e.entry.isStale(lastCheckedAt: r.lastCheckedAt, defaultInterval: defaultInterval, now: now)
    }
}

struct EntryListResponse: Encodable {
    let items: [EntryResponse]
    /// Pass as `cursor` to get the next page; null on the last page.
    @NullEncodable var next_cursor: String?
}

enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }

    static func make(_ status: HTTPResponse.Status = .ok, _ value: some Encodable, headers: HTTPFields = [:]) throws -> Response {
        make(status, data: try encode(value), headers: headers)
    }

    static func make(_ status: HTTPResponse.Status, data: Data, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// RFC 3339 timestamps in UTC with milliseconds: `2026-11-23T11:31:22.123Z`.
enum Timestamp {
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
