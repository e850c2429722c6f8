import Domain
import Foundation
import Store

/// One alert as JSON: what `GET /v1/events` lists and what webhook messages carry (one shape for both).
public struct AlertEventJSON: Encodable, Sendable {
    public let event: AlertEventWithRepository

    public init(_ event: AlertEventWithRepository) {
        self.event = event
    }

    enum CodingKeys: String, CodingKey {
        case id, notification_id, entry_id, repository, rule, subject, previous, current, previous_report_id, report_id, summary, created_at
    }
    enum RepositoryKeys: String, CodingKey { case id, url }

    /// Every key is written; absent values as `null`.
    public func encode(to encoder: any Encoder) throws {
        let e = event.event
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(e.id.lowercased, forKey: .id)
        try c.encode(e.notificationID.lowercased, forKey: .notification_id)
        try c.encode(e.entryID.lowercased, forKey: .entry_id)
        var repository = c.nestedContainer(keyedBy: RepositoryKeys.self, forKey: .repository)
        try repository.encode(e.repositoryID.lowercased, forKey: .id)
        try repository.encode(event.repositoryURL.canonical, forKey: .url)
        try c.encode(e.rule, forKey: .rule)
        try c.encode(e.subject, forKey: .subject)
        try c.encode(e.previousValue, forKey: .previous)
        try c.encode(e.currentValue, forKey: .current)
        try c.encode(e.previousReportID?.lowercased, forKey: .previous_report_id)
        try c.encode(e.reportID?.lowercased, forKey: .report_id)
        try c.encode(e.summary, forKey: .summary)
        try c.encode(e.createdAt, forKey: .created_at)
    }
}

/// The body of a webhook message: the alerts of one notification.
///
/// Standard format: `{"type": "alerts.raised", "timestamp": …, "data": {"notification_id", "entry_id", "repository":
/// {id, url}, "alerts": [Event…]}}` (Standard Webhooks' recommended envelope). Slack format: `{"text": …}`, one line
/// per alert, for Slack-compatible incoming webhooks.
public enum WebhookMessage {
    public static let type = "alerts.raised"

    public static func body(for events: [AlertEventWithRepository], format: WebhookRecord.Format, at timestamp: Date) throws -> Data {
        guard let first = events.first else { throw WebhookMessageError() }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        switch format {
        case .standard:
            struct Envelope: Encodable {
                let type: String
                let timestamp: Date
                let data: DataPart
            }
            struct DataPart: Encodable {
                let notification_id: String
                let entry_id: String
                let repository: [String: String]
                let alerts: [AlertEventJSON]
            }
            let e = first.event
            return try encoder.encode(Envelope(
                type: type, timestamp: timestamp,
                data: DataPart(
                    notification_id: e.notificationID.lowercased, entry_id: e.entryID.lowercased,
                    repository: ["id": e.repositoryID.lowercased, "url": first.repositoryURL.canonical], alerts: events.map(AlertEventJSON.init))))
        case .slack:
            let repository = first.repositoryURL.canonical
            let lines = events.map { "• \($0.event.summary)" }.joined(separator: "\n")
            return try encoder.encode(["text": "RepoWatch: \(repository)\n\(lines)"])
        }
    }
}

struct WebhookMessageError: Error, CustomStringConvertible {
    var description: String { "a webhook message needs at least one alert" }
}
